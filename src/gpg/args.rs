//! The gpg argument shapes git uses for its x509 program.

use std::ffi::OsString;
use std::path::PathBuf;

/// What git asked for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum GpgMode {
    Sign { key: String },
    Verify { signature: PathBuf },
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GpgArgs {
    pub status_fd: Option<u32>,
    pub mode: GpgMode,
}

/// Whether argv looks like git calling its gpg program (rather than a sigctl subcommand).
/// git passes only options (never a sigctl subcommand first), and nothing
/// after a `--` is an option: `sigctl sign artifact -- --verify` is a file.
pub fn is_gpg_shape(args: &[OsString]) -> bool {
    let mut rest = args.iter().skip(1).map(|a| a.to_string_lossy());
    let Some(first) = rest.next() else {
        return false;
    };
    first.starts_with('-')
        && std::iter::once(first)
            .chain(rest)
            .take_while(|a| a != "--")
            .any(|a| a.starts_with("--status-fd") || a == "-bsau" || a == "--verify")
}

/// Parse git's arguments: `--status-fd=N -bsau KEY` or `--status-fd=N --verify FILE -`.
pub fn parse(args: &[OsString]) -> Result<GpgArgs, String> {
    let args: Vec<String> = args
        .iter()
        .skip(1)
        .map(|a| a.to_string_lossy().into_owned())
        .collect();
    let mut status_fd = None;
    let mut key = None;
    let mut verify = None;
    let mut i = 0;
    while i < args.len() {
        let a = &args[i];
        if let Some(n) = a.strip_prefix("--status-fd=") {
            status_fd = Some(n.parse().map_err(|_| format!("bad --status-fd `{n}`"))?);
        } else if a == "--status-fd" {
            i += 1;
            status_fd = Some(
                args.get(i)
                    .and_then(|n| n.parse().ok())
                    .ok_or("--status-fd needs a number")?,
            );
        } else if a == "--verify" {
            i += 1;
            verify = Some(PathBuf::from(
                args.get(i).ok_or("--verify needs a signature file")?,
            ));
        } else if a == "-u"
            || a == "--local-user"
            || (a.starts_with('-') && !a.starts_with("--") && a.ends_with('u'))
        {
            // -bsau KEY, -u KEY: the key is the next argument
            i += 1;
            key = Some(args.get(i).ok_or("-u needs a key")?.clone());
        } else if let Some(k) = a.strip_prefix("--local-user=") {
            key = Some(k.to_owned());
        } else if a == "-"
            || a.starts_with("--keyid-format")
            || a == "-b"
            || a == "-s"
            || a == "-a"
            || a == "--armor"
            || a == "--detach-sign"
        {
            // accepted, nothing to do
        } else {
            return Err(format!("unsupported gpg argument `{a}`"));
        }
        i += 1;
    }
    let mode = match (key, verify) {
        (Some(key), None) => GpgMode::Sign { key },
        (None, Some(signature)) => GpgMode::Verify { signature },
        _ => return Err("expected `-bsau KEY` (sign) or `--verify FILE -` (verify)".into()),
    };
    Ok(GpgArgs { status_fd, mode })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn os(v: &[&str]) -> Vec<OsString> {
        v.iter().map(OsString::from).collect()
    }

    #[test]
    fn parses_what_git_passes() {
        let sign = os(&["sigctl", "--status-fd=2", "-bsau", "release"]);
        assert!(is_gpg_shape(&sign));
        assert_eq!(
            parse(&sign),
            Ok(GpgArgs {
                status_fd: Some(2),
                mode: GpgMode::Sign {
                    key: "release".into()
                }
            })
        );
        let verify = os(&[
            "sigctl",
            "--status-fd=1",
            "--verify",
            "/tmp/.git_vtag_tmpX",
            "-",
        ]);
        assert_eq!(
            parse(&verify),
            Ok(GpgArgs {
                status_fd: Some(1),
                mode: GpgMode::Verify {
                    signature: "/tmp/.git_vtag_tmpX".into()
                }
            })
        );
        assert!(!is_gpg_shape(&os(&["sigctl", "check"])));
        assert!(parse(&os(&["sigctl", "--status-fd=1", "--bogus"])).is_err());
        assert!(parse(&os(&["sigctl", "--status-fd=1"])).is_err());
    }
}
