//! Certificate lifecycle against the clock: expired, renewal due, not yet valid.

use time::OffsetDateTime;

use crate::diag::{Code, Diagnostic};
use crate::policy::Ctx;
use crate::policy::duration::Duration;

pub const DOC: &str = "A certificate past its notAfter is an error (`certificate-expired`); one \
inside its renewal window (`renew_before`, default 30d) is a warning with the due date and \
the days left (`renewal-due`); one whose notBefore is ahead is a warning \
(`certificate-not-yet-valid`). All are computed against `--now` when given.";

/// The window when `renew_before` is not given.
pub const DEFAULT_RENEW_BEFORE: Duration = Duration::days(30);

pub fn check(cx: &mut Ctx) {
    let now = cx.now;
    for (name, id) in &cx.policy.identities {
        let Some(cert) = &id.certificate else {
            continue;
        };
        let Some(Ok(facts)) = cx.certs.get(cert.get().as_str()).cloned() else {
            continue;
        };
        let window = id
            .renew_before
            .as_ref()
            .map_or(DEFAULT_RENEW_BEFORE, |r| *r.get());
        let due = facts.not_after - window.as_time();
        let renew = format!(
            "renew it with `sigctl cert request --identity {}`",
            name.get()
        );
        if now >= facts.not_after {
            let ago = (now - facts.not_after).whole_days();
            let d = Diagnostic::at(
                Code::CertificateExpired,
                cx.src,
                cert.span(),
                format!(
                    "certificate `{}` of identity `{}` expired on {} ({ago} {} ago)",
                    cert.get(),
                    name.get(),
                    date(facts.not_after),
                    days(ago)
                ),
            )
            .label("expired")
            .help(renew);
            cx.push(d);
        } else if now >= due {
            let left = (facts.not_after - now).whole_days();
            let span = id.renew_before.as_ref().map_or(cert.span(), |r| r.span());
            let d = Diagnostic::at(
                Code::RenewalDue,
                cx.src,
                span,
                format!(
                    "certificate `{}` of identity `{}` is due for renewal since {}: it expires on {} ({left} {} left)",
                    cert.get(),
                    name.get(),
                    date(due),
                    date(facts.not_after),
                    days(left)
                ),
            )
            .label(format!("renewal window {window}"))
            .help(renew);
            cx.push(d);
        }
        if now < facts.not_before {
            let d = Diagnostic::at(
                Code::CertificateNotYetValid,
                cx.src,
                cert.span(),
                format!(
                    "certificate `{}` of identity `{}` is not valid before {}",
                    cert.get(),
                    name.get(),
                    date(facts.not_before)
                ),
            )
            .label("not yet valid")
            .help("signatures made before that date will not verify; check the issuing CA's clock");
            cx.push(d);
        }
    }
}

fn date(t: OffsetDateTime) -> String {
    let t = t.to_offset(time::UtcOffset::UTC);
    format!("{:04}-{:02}-{:02}", t.year(), u8::from(t.month()), t.day())
}

fn days(n: i64) -> &'static str {
    if n == 1 { "day" } else { "days" }
}

#[cfg(test)]
mod tests {
    use crate::policy::rules::testing::{HSM, at, codes_at, fixture_cert, snapshot_at};

    // the fixture leaf is valid 2026-01-01 .. 2027-01-01
    const PATH: &str = "certs/release-2026.pem";

    #[test]
    fn expired_is_an_error_with_the_date() {
        let now = at("2027-02-26T00:00:00Z");
        assert_eq!(
            codes_at(HSM, PATH, fixture_cert("leaf.pem"), now),
            ["certificate-expired"]
        );
        insta::assert_snapshot!(snapshot_at(HSM, PATH, fixture_cert("leaf.pem"), now));
    }

    #[test]
    fn inside_the_window_is_a_warning_with_days_left() {
        let now = at("2026-12-20T00:00:00Z");
        assert_eq!(
            codes_at(HSM, PATH, fixture_cert("leaf.pem"), now),
            ["renewal-due"]
        );
        insta::assert_snapshot!(snapshot_at(HSM, PATH, fixture_cert("leaf.pem"), now));
        // a window that has not opened yet
        let p = HSM.replace("renew_before = \"30d\"", "renew_before = \"240h\"");
        assert!(codes_at(&p, PATH, fixture_cert("leaf.pem"), now).is_empty());
    }

    #[test]
    fn the_default_window_is_thirty_days() {
        let p = HSM.replace("renew_before = \"30d\"\n", "");
        assert!(
            codes_at(
                &p,
                PATH,
                fixture_cert("leaf.pem"),
                at("2026-12-01T00:00:01Z")
            )
            .is_empty()
        );
        assert_eq!(
            codes_at(
                &p,
                PATH,
                fixture_cert("leaf.pem"),
                at("2026-12-02T00:00:01Z")
            ),
            ["renewal-due"]
        );
    }

    #[test]
    fn not_yet_valid_is_a_warning() {
        let now = at("2025-12-01T00:00:00Z");
        assert_eq!(
            codes_at(HSM, PATH, fixture_cert("leaf.pem"), now),
            ["certificate-not-yet-valid"]
        );
    }
}
