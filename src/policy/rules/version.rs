//! `version` must be one this sigctl understands.

use crate::diag::{Code, Diagnostic};
use crate::policy::Ctx;

pub const DOC: &str = "`version` must be 1, the only format version this sigctl reads.";

pub fn check(cx: &mut Ctx) {
    let v = &cx.policy.version;
    if *v.get() != 1 {
        let d = Diagnostic::at(
            Code::UnsupportedVersion,
            cx.src,
            v.span(),
            format!("signing.toml version {} is not supported", v.get()),
        )
        .label("this sigctl reads version 1")
        .help("set `version = 1`, or upgrade sigctl if the file was written for a newer one");
        cx.push(d);
    }
}

#[cfg(test)]
mod tests {
    use crate::policy::rules::testing::{MINIMAL, codes};

    #[test]
    fn rejects_other_versions() {
        assert_eq!(
            codes(&MINIMAL.replace("version = 1", "version = 2")),
            ["unsupported-version"]
        );
        assert!(codes(MINIMAL).is_empty());
    }
}
