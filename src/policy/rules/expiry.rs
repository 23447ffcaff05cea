//! Certificate lifecycle against the clock: expired, renewal due, not yet valid.

use time::OffsetDateTime;

use crate::diag::{Code, Diagnostic};
use crate::policy::Ctx;
use crate::policy::duration::Duration;

pub const DOC: &str = "A certificate past its notAfter is an error (`certificate-expired`), or a \
warning when the identity lists a successor that is valid now (`certificate-superseded`: \
remove it); the certificate that expires last inside its renewal window (`renew_before`, \
default 30d) is a warning with the due date and the days left (`renewal-due`; a listed \
successor ends the window of the ones before it); one whose notBefore is ahead is a warning \
(`certificate-not-yet-valid`). All are computed against `--now` when given.";

/// The window when `renew_before` is not given.
pub const DEFAULT_RENEW_BEFORE: Duration = Duration::days(30);

pub fn check(cx: &mut Ctx) {
    let now = cx.now;
    for (name, id) in &cx.policy.identities {
        let certs: Vec<_> = id
            .certificates()
            .into_iter()
            .filter_map(|c| match cx.certs.get(c.get().as_str()) {
                Some(Ok(f)) => Some((c, f.clone())),
                _ => None,
            })
            .collect();
        // the one that expires last carries the renewal window; a valid
        // successor makes an expired one superseded, not an outage
        let last = certs.iter().map(|(_, f)| f.not_after).max();
        let valid_now: Vec<&str> = certs
            .iter()
            .filter(|(_, f)| f.not_before <= now && now < f.not_after)
            .map(|(c, _)| c.get().as_str())
            .collect();
        let window = id
            .renew_before
            .as_ref()
            .map_or(DEFAULT_RENEW_BEFORE, |r| *r.get());
        for (cert, facts) in &certs {
            let due = facts.not_after - window.as_time();
            let renew = format!("renew it with `sigctl renew --identity {}`", name.get());
            if now >= facts.not_after {
                let ago = (now - facts.not_after).whole_days();
                let what = format!(
                    "certificate `{}` of identity `{}` expired on {} ({ago} {} ago)",
                    cert.get(),
                    name.get(),
                    date(facts.not_after),
                    days(ago)
                );
                let d = match valid_now.first() {
                    Some(successor) => Diagnostic::at(
                        Code::CertificateSuperseded,
                        cx.src,
                        cert.span(),
                        format!("{what}; `{successor}` is valid"),
                    )
                    .label("expired, superseded")
                    .help(format!(
                        "remove `{}` from the identity's `certificate` list",
                        cert.get()
                    )),
                    None => Diagnostic::at(Code::CertificateExpired, cx.src, cert.span(), what)
                        .label("expired")
                        .help(renew),
                };
                cx.push(d);
            } else if now >= due && Some(facts.not_after) == last {
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
    use crate::policy::rules::testing::{
        HSM, at, codes_all_at, codes_at, fixture_cert, snapshot_at,
    };

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

    /// The policy with `certificate` listing the fixture leaf and a successor.
    fn renewed() -> String {
        HSM.replace(
            "certificate = \"certs/release-2026.pem\"",
            "certificate = [\"certs/release-2026.pem\", \"certs/release-2027.pem\"]",
        )
    }

    fn only_lifecycle(codes: Vec<String>) -> Vec<String> {
        codes
            .into_iter()
            .filter(|c| c != "no-code-signing-eku")
            .collect()
    }

    #[test]
    fn an_expired_certificate_with_a_valid_successor_is_superseded_not_an_outage() {
        let p = renewed();
        assert!(
            p.contains("release-2027"),
            "the fixture policy names the certificate"
        );
        let files = [
            (PATH, fixture_cert("leaf.pem")),
            ("certs/release-2027.pem", fixture_cert("ca.pem")),
        ];
        assert_eq!(
            only_lifecycle(codes_all_at(&p, &files, at("2027-02-26T00:00:00Z"))),
            ["certificate-superseded"]
        );
        // inside the first one's window, the successor ends it: no warning
        assert!(only_lifecycle(codes_all_at(&p, &files, at("2026-12-20T00:00:00Z"))).is_empty());
        // both expired: the error
        assert_eq!(
            only_lifecycle(codes_all_at(&p, &files, at("2037-01-01T00:00:00Z"))),
            ["certificate-expired", "certificate-expired"]
        );
        // the successor in its own window
        assert_eq!(
            only_lifecycle(codes_all_at(&p, &files, at("2036-11-01T00:00:00Z"))),
            ["certificate-superseded", "renewal-due"]
        );
    }

    #[test]
    fn a_list_of_one_is_the_certificate() {
        let p = HSM.replace(
            "certificate = \"certs/release-2026.pem\"",
            "certificate = [\"certs/release-2026.pem\"]",
        );
        assert_eq!(
            codes_at(
                &p,
                PATH,
                fixture_cert("leaf.pem"),
                at("2027-02-26T00:00:00Z")
            ),
            ["certificate-expired"]
        );
    }
}
