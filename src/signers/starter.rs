//! A starter `signing.toml` from a census (`sigctl init --from-history`):
//! one identity per signer seen, owners by e-mail domain, an environment
//! for the branches (and the tags) seen, comments with the counts and
//! dates behind each entry, the unsigned and invalid commits listed for a
//! decision. Pure: a census in, the text and the files it names out.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Write as _;

use super::{Census, SignerSummary, email_of};

/// Where a keyless policy's Sigstore files go (what `sigctl init` writes).
const TRUSTED_ROOT: &str = ".sigctl/sigstore/trusted_root.json";
const SIGNING_CONFIG: &str = ".sigctl/sigstore/signing_config.json";
/// At most this many unsigned or invalid commits are listed in the policy.
const LISTED: usize = 200;

/// The policy and the files it names (paths relative to the repository).
#[derive(Debug, Clone)]
pub struct Starter {
    pub policy: String,
    pub files: Vec<(String, Vec<u8>)>,
}

/// A valid TOML bare key (`A-Za-z0-9_-`), lower case, never empty.
pub fn bare_key(s: &str) -> String {
    let mut out = String::new();
    for c in s.chars() {
        let c = c.to_ascii_lowercase();
        if c.is_ascii_alphanumeric() || c == '_' {
            out.push(c);
        } else if !out.ends_with('-') {
            out.push('-');
        }
    }
    let out = out.trim_matches('-').to_owned();
    if out.is_empty() { "signer".into() } else { out }
}

/// A TOML basic string.
fn quote(s: &str) -> String {
    let mut out = String::from("\"");
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            c if c.is_control() => {
                let _ = write!(out, "\\u{:04X}", c as u32);
            }
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

/// A comment line's text: no line breaks.
fn flat(s: &str) -> String {
    s.chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .collect()
}

/// The e-mail an identity is known by: a name that is one (allowed
/// signers principal, user ID, keyless subject), else its most frequent
/// committer's.
fn email(s: &SignerSummary) -> Option<String> {
    let from_names = s.names.iter().find_map(|n| {
        if n.contains('<') {
            email_of(n).map(str::to_owned)
        } else {
            (n.contains('@') && !n.contains(' ')).then(|| n.clone())
        }
    });
    let subject = s
        .subject
        .as_ref()
        .filter(|x| s.format == "keyless" && x.contains('@') && !x.contains('/'))
        .cloned();
    from_names
        .or(subject)
        .or_else(|| s.emails.first().map(|(e, _)| e.clone()))
        .map(|e| e.to_ascii_lowercase())
}

fn name_hint(s: &SignerSummary) -> String {
    if let Some(e) = email(s) {
        return e.split('@').next().unwrap_or_default().to_owned();
    }
    if let Some(n) = s.names.iter().find(|n| !n.is_empty()) {
        return n.clone();
    }
    if s.format == "keyless"
        && let Some(sub) = &s.subject
    {
        // a workflow URI: its file name
        let path = sub.split('@').next().unwrap_or(sub);
        let last = path.rsplit('/').next().unwrap_or(path);
        return last.split('.').next().unwrap_or(last).to_owned();
    }
    let tail: String =
        s.id.trim_start_matches("SHA256:")
            .chars()
            .filter(char::is_ascii_alphanumeric)
            .take(8)
            .collect();
    format!("{}-{tail}", s.format)
}

/// The starter policy for `census`, or `None` when nothing is signed.
pub fn starter(census: &Census) -> Option<Starter> {
    if census.signers.is_empty() {
        return None;
    }
    let mut files: Vec<(String, Vec<u8>)> = Vec::new();
    // identity names, sanitized and de-duplicated, in the census's order
    let mut taken: BTreeSet<String> = BTreeSet::new();
    let mut named: Vec<(String, &SignerSummary, Option<String>)> = Vec::new();
    for s in &census.signers {
        let base = bare_key(&name_hint(s));
        let mut name = base.clone();
        let mut n = 2;
        while !taken.insert(name.clone()) {
            name = format!("{base}-{n}");
            n += 1;
        }
        named.push((name, s, email(s)));
    }
    // owners by e-mail domain
    let mut owners: BTreeMap<String, (String, BTreeSet<String>, usize)> = BTreeMap::new();
    let owner_of = |e: &Option<String>| -> (String, Option<String>) {
        match e.as_deref().and_then(|e| e.split_once('@')) {
            Some((_, domain)) => (bare_key(domain), Some(domain.to_owned())),
            None => ("unassigned".to_owned(), None),
        }
    };
    for (_, s, e) in &named {
        let (owner, domain) = owner_of(e);
        let entry = owners.entry(owner).or_insert_with(|| {
            (
                domain.map_or_else(
                    || "security@example.com".to_owned(),
                    |d| format!("security@{d}"),
                ),
                BTreeSet::new(),
                0,
            )
        });
        if let Some(e) = e {
            entry.1.insert(e.clone());
        }
        entry.2 += s.commits + s.tags;
    }
    let admin = owners
        .iter()
        .max_by(|a, b| a.1.2.cmp(&b.1.2).then_with(|| b.0.cmp(a.0)))
        .map(|(k, _)| k.clone())
        .unwrap_or_default();
    let branches: BTreeSet<&str> = census
        .refs
        .iter()
        .filter(|r| r.starts_with("refs/heads/"))
        .map(String::as_str)
        .collect();
    let signed_tags = census.signers.iter().any(|s| s.tags > 0);
    let custody = |s: &SignerSummary| match s.format {
        "keyless" => Some("keyless"),
        "ssh" => Some("unmanaged"),
        "openpgp" if s.openpgp_certificate.is_some() => Some("unmanaged"),
        _ => None,
    };
    let mut classes: Vec<&str> = named.iter().filter_map(|(_, s, _)| custody(s)).collect();
    classes.sort_unstable();
    classes.dedup();
    if classes.is_empty() {
        classes.push("unmanaged");
    }
    let classes: Vec<String> = classes.iter().map(|c| quote(c)).collect();
    let keyless = named.iter().any(|(_, s, _)| s.format == "keyless");

    let mut t = String::new();
    let _ = writeln!(t, "#:schema ./{}", crate::init::SCHEMA_IN_REPO);
    t.push_str("# signing.toml: a starter policy written by `sigctl init --from-history`\n");
    let _ = writeln!(
        t,
        "# from {} commits ({} signed) and {} tags ({} signed) on {} ref(s).",
        census.commits,
        census.signed_commits,
        census.tags,
        census.signed_tags,
        census.refs.len()
    );
    t.push_str(
        "# Every entry is a suggestion made from what the signatures show: read it,\n\
         # adjust owners and environments, run `sigctl check`, commit it signed by an\n\
         # admin's identity, and pin that commit as the trust root\n\
         # (`git config sigctl.trustRoot <commit>`).\nversion = 1\n\n[policy]\n",
    );
    let _ = writeln!(
        t,
        "# the owner whose identities signed most; an admin signs every change to this file"
    );
    let _ = writeln!(t, "admins = [{}]\n", quote(&admin));
    for (name, (contact, members, count)) in &owners {
        let _ = writeln!(
            t,
            "# {count} signature(s) by identities of this owner; the contact is a guess: check it"
        );
        let _ = writeln!(t, "[owners.{name}]");
        let _ = writeln!(t, "contact = {}", quote(contact));
        let members: Vec<String> = members.iter().map(|m| quote(m)).collect();
        let _ = writeln!(t, "members = [{}]\n", members.join(", "));
    }
    if keyless {
        t.push_str(
            "# Sigstore's public-good instance, for the keyless identities (files `sigctl init`\n\
             # writes): trust material; refresh or replace them in a commit an admin signs.\n\
             [sigstore]\n",
        );
        let _ = writeln!(t, "trusted_root = {}", quote(TRUSTED_ROOT));
        let _ = writeln!(t, "signing_config = {}\n", quote(SIGNING_CONFIG));
    }
    let _ = writeln!(
        t,
        "# branches seen: {}",
        if branches.is_empty() {
            "none".to_owned()
        } else {
            branches.iter().copied().collect::<Vec<_>>().join(", ")
        }
    );
    t.push_str("[environments.branches]\nrefs = [\"refs/heads/*\"]\n");
    let _ = writeln!(t, "custody = [{}]\n", classes.join(", "));
    if signed_tags {
        t.push_str("# signed tags were seen\n[environments.tags]\nrefs = [\"refs/tags/*\"]\n");
        let _ = writeln!(t, "custody = [{}]\n", classes.join(", "));
    }

    for (name, s, e) in &named {
        let (owner, _) = owner_of(e);
        let _ = writeln!(
            t,
            "# {} {}: {} commit(s), {} tag(s), first seen {}, last seen {}",
            s.format,
            flat(&s.id),
            s.commits,
            s.tags,
            s.first_seen,
            s.last_seen
        );
        if !s.refs.is_empty() {
            let _ = writeln!(t, "# on {}", flat(&s.refs.join(", ")));
        }
        if !s.committers.is_empty() {
            let shown: Vec<String> = s.committers.iter().take(5).map(|c| flat(c)).collect();
            let more = s.committers.len().saturating_sub(5);
            let _ = writeln!(
                t,
                "# with {}{}",
                shown.join(", "),
                if more > 0 {
                    format!(" and {more} more")
                } else {
                    String::new()
                }
            );
        }
        let mut envs = Vec::new();
        if s.commits > 0 || !signed_tags {
            envs.push(quote("branches"));
        }
        if s.tags > 0 && signed_tags {
            envs.push(quote("tags"));
        }
        let head = format!(
            "[identities.{name}]\nowner = {}\nenvironments = [{}]\n",
            quote(&owner),
            envs.join(", ")
        );
        match s.format {
            "ssh" => {
                t.push_str(&head);
                t.push_str("custody = \"unmanaged\"\n");
                let _ = writeln!(
                    t,
                    "ssh_key = {}\n",
                    quote(s.public_key.as_deref().unwrap_or_default())
                );
            }
            "keyless" => {
                t.push_str(&head);
                t.push_str("custody = \"keyless\"\n");
                let _ = writeln!(
                    t,
                    "keyless = {{ issuer = {}, subject = {} }}\n",
                    quote(s.issuer.as_deref().unwrap_or_default()),
                    quote(s.subject.as_deref().unwrap_or_default())
                );
            }
            "openpgp" => match &s.openpgp_certificate {
                Some(packets) => {
                    let path = format!(".sigctl/openpgp/{name}.asc");
                    files.push((
                        path.clone(),
                        crate::signature::openpgp::armor_public_key(packets).into_bytes(),
                    ));
                    t.push_str(&head);
                    t.push_str("custody = \"unmanaged\"\n");
                    let _ = writeln!(t, "openpgp_key = {}\n", quote(&path));
                }
                None => {
                    t.push_str(
                        "# its key was not given (--openpgp-keys FILE): add the key file and\n",
                    );
                    for line in head.lines() {
                        let _ = writeln!(t, "# {line}");
                    }
                    let _ = writeln!(
                        t,
                        "# custody = \"unmanaged\"\n# openpgp_key = \".sigctl/openpgp/{name}.asc\"\n"
                    );
                }
            },
            _ => {
                let _ = writeln!(
                    t,
                    "# issued by {}: name its CA file to accept it",
                    flat(s.issuer.as_deref().unwrap_or_default())
                );
                for line in head.lines() {
                    let _ = writeln!(t, "# {line}");
                }
                let _ = writeln!(
                    t,
                    "# custody = \"unmanaged\"\n# x509 = {{ ca = \"certs/{name}-ca.pem\", subject = {} }}\n",
                    quote(&flat(s.subject.as_deref().unwrap_or_default()))
                );
            }
        }
    }

    let listing = |t: &mut String, items: Vec<String>| {
        let n = items.len();
        for line in items.into_iter().take(LISTED) {
            let _ = writeln!(t, "#   {}", flat(&line));
        }
        if n > LISTED {
            let _ = writeln!(
                t,
                "#   … and {} more (`sigctl signers --format json` lists them all)",
                n - LISTED
            );
        }
    };
    if !census.unsigned.is_empty() {
        let _ = writeln!(
            t,
            "# Unsigned commits ({}): `sigctl verify` fails them and what descends from\n\
             # them. Start the chain after them (the trust root), or decide per commit: an\n\
             # exception listing them in `commits` (with owner, approvals, reason, expiry).",
            census.unsigned.len()
        );
        listing(
            &mut t,
            census
                .unsigned
                .iter()
                .map(|u| format!("{} {} {}", u.commit, u.time, u.committer))
                .collect(),
        );
        t.push('\n');
    }
    if !census.invalid.is_empty() {
        let _ = writeln!(
            t,
            "# Signatures that do not verify ({}): attributed to nobody; decide as above.",
            census.invalid.len()
        );
        listing(
            &mut t,
            census
                .invalid
                .iter()
                .map(|u| {
                    format!(
                        "{} {} {} {}: {}",
                        u.kind, u.object, u.time, u.committer, u.reason
                    )
                })
                .collect(),
        );
    }
    Some(Starter { policy: t, files })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bare_keys_are_valid_toml_and_never_empty() {
        assert_eq!(bare_key("Alice.Smith+git"), "alice-smith-git");
        assert_eq!(bare_key("..."), "signer");
        assert_eq!(
            bare_key("users.noreply.github.com"),
            "users-noreply-github-com"
        );
        assert_eq!(bare_key("ünï"), "n");
    }

    #[test]
    fn quoted_strings_escape_quotes_and_controls() {
        assert_eq!(quote("a\"b\\c\nd"), "\"a\\\"b\\\\c\\u000Ad\"");
    }
}
