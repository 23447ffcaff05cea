//! One function per verification rule: who the signer is under a policy
//! (`identify`), revocation (`not_revoked`), certificate validity,
//! environment and trusted time (`authorise`), and the commit rule that ties
//! them to a commit's parents: the admin rule and merges without rollback
//! (`judge_commit`).

use std::rc::Rc;
use std::sync::Arc;

use time::OffsetDateTime;

use crate::policy::{self, view};
use crate::signature::{fulcio, openpgp, x509};

use super::policy_at::{PolicyId, Resolved, material};
use super::report::Reason;
use super::signer::{Checked, KeylessSigner, Signer, certificate_facts, effective_time};

type Refusal = (Reason, String);

/// Who signed under a policy: the identity (and, for OpenPGP, the primary
/// key that verified: the signature alone does not say).
pub(super) struct Signed {
    pub identity: Arc<str>,
    pub pgp_primary: Option<String>,
}

/// The key material of a signature (what revocations bind), computed only
/// when a policy holds a revocation.
pub(super) fn signer_material(checked: &Checked, signed: &Signed) -> Vec<String> {
    match &checked.signer {
        Signer::Cert { certs, .. } => certificate_material(certs),
        Signer::Keyless(k) => {
            let mut m = certificate_material(&k.certs);
            m.push(material::keyless(
                k.identity.issuer.as_deref().unwrap_or(""),
                &k.identity.subject,
            ));
            m
        }
        Signer::Pgp { .. } => signed
            .pgp_primary
            .iter()
            .map(|p| material::pgp(p))
            .collect(),
        Signer::Ssh { blob } => vec![material::ssh(blob)],
    }
}

/// The CA-anchored identity a certificate is for: it names the identity's
/// subject and chains to its CA at the signing time.
fn anchored(
    parent: &Resolved,
    subject: &str,
    certs: &[Vec<u8>],
    at: OffsetDateTime,
) -> Result<Arc<str>, Refusal> {
    let unknown = || {
        (
            Reason::UnknownSigner,
            format!("the signer ({subject}) is no identity of the policy in force"),
        )
    };
    let (leaf, chain) = certs.split_first().ok_or_else(unknown)?;
    let names = x509::names(leaf);
    let mut last = None;
    for (name, cas, want) in &parent.anchored {
        if !names.iter().any(|n| n == want) {
            continue;
        }
        match fulcio::verify_chain(leaf, chain, cas, at) {
            Ok(()) => return Ok(name.clone()),
            Err(e) => {
                last = Some((
                    Reason::CertificateInvalidAtSigning,
                    format!("identity `{name}`: {e}"),
                ))
            }
        }
    }
    Err(last.unwrap_or_else(unknown))
}

/// The key material of a certificate signer: its public key and the names
/// it carries.
fn certificate_material(certs: &[Vec<u8>]) -> Vec<String> {
    let Some(leaf) = certs.first() else {
        return Vec::new();
    };
    let mut m: Vec<String> = x509::names(leaf)
        .iter()
        .map(|n| material::x509_subject(n))
        .collect();
    if let Ok((facts, _)) = certificate_facts(leaf) {
        m.push(material::spki(&facts.public_key_sha256));
    }
    m
}

/// The identity of `parent` that made the signature, at time `at`.
pub(super) fn identify(
    parent: &Resolved,
    checked: &Checked,
    at: OffsetDateTime,
) -> Result<Signed, Refusal> {
    match &checked.signer {
        Signer::Cert {
            fingerprint,
            subject,
            certs,
            ..
        } => {
            let identity = match parent.by_cert.get(&**fingerprint) {
                Some(name) => name.clone(),
                None => {
                    if let Some(name) = parent.pin_mismatch.get(&**fingerprint) {
                        return Err((
                            Reason::CertificateKeyMismatch,
                            format!(
                                "the certificate of `{name}` does not carry the key its `public_key` pins: it authorises nothing"
                            ),
                        ));
                    }
                    anchored(parent, subject, certs, at)?
                }
            };
            Ok(Signed {
                identity,
                pgp_primary: None,
            })
        }
        Signer::Keyless(k) => {
            let KeylessSigner {
                subject,
                certs,
                identity,
                fingerprint,
                ..
            } = &**k;
            if let Some(name) = parent.by_cert.get(fingerprint) {
                return Ok(Signed {
                    identity: name.clone(),
                    pgp_primary: None,
                });
            }
            if let Some(name) = parent.pin_mismatch.get(fingerprint) {
                return Err((
                    Reason::CertificateKeyMismatch,
                    format!(
                        "the certificate of `{name}` does not carry the key its `public_key` pins: it authorises nothing"
                    ),
                ));
            }
            let trust = parent.trust.as_ref().ok_or_else(|| {
                (
                    Reason::UnknownSigner,
                    format!(
                        "a Sigstore keyless signature by {} ({subject}), but the policy in force names no `sigstore.trusted_root` to check it against",
                        identity.subject
                    ),
                )
            })?;
            let name = parent
                .keyless
                .iter()
                .find(|(_, issuer, subj)| {
                    *subj == identity.subject && Some(issuer) == identity.issuer.as_ref()
                })
                .map(|(n, _, _)| n.clone())
                .ok_or_else(|| {
                    (
                        Reason::UnknownSigner,
                        format!(
                            "the keyless signer {} (issuer {}) is no identity of the policy in force",
                            identity.subject,
                            identity.issuer.as_deref().unwrap_or("unknown")
                        ),
                    )
                })?;
            super::signer::chain_checked(parent, trust, certs, at).map_err(|e| {
                (
                    Reason::CertificateInvalidAtSigning,
                    format!("keyless identity `{name}`: {e}"),
                )
            })?;
            Ok(Signed {
                identity: name,
                pgp_primary: None,
            })
        }
        Signer::Pgp { sig, payload } => {
            let mut last = (
                Reason::UnknownSigner,
                "the OpenPGP signer is no identity of the policy in force".to_owned(),
            );
            for (name, keys) in &parent.by_pgp {
                match openpgp::verify(sig, payload, keys) {
                    Ok(v) => {
                        return Ok(Signed {
                            identity: name.clone(),
                            pgp_primary: Some(v.primary),
                        });
                    }
                    Err(openpgp::PgpError::UnknownKey) => {}
                    Err(
                        e @ (openpgp::PgpError::BadSignature | openpgp::PgpError::Malformed(_)),
                    ) => {
                        last = (Reason::BadSignature, e.to_string());
                    }
                    Err(e) => last = (Reason::UnsupportedSignature, e.to_string()),
                }
            }
            Err(last)
        }
        Signer::Ssh { blob } => {
            let identity = parent.by_ssh.get(&**blob).cloned().ok_or_else(|| {
                (
                    Reason::UnknownSigner,
                    "the signer's SSH key is no identity of the policy in force".to_owned(),
                )
            })?;
            Ok(Signed {
                identity,
                pgp_primary: None,
            })
        }
    }
}

/// Revocations: those of every parent's policy apply whatever the time (the
/// signer could choose it); those of the policies at the verified tips and
/// at HEAD apply from their time on. A revocation reaches the identity it
/// names and any identity that signs with the key material it binds.
pub(super) fn not_revoked(
    parents: &[&Resolved],
    tips: &[Rc<Resolved>],
    checked: &Checked,
    signed: &Signed,
    at: OffsetDateTime,
) -> Result<(), Refusal> {
    let any =
        parents.iter().any(|p| !p.revoked.is_empty()) || tips.iter().any(|t| !t.revoked.is_empty());
    if !any {
        return Ok(());
    }
    let material = signer_material(checked, signed);
    let hits = |r: &super::policy_at::Revoked| {
        *r.identity == *signed.identity || r.material.iter().any(|m| material.contains(m))
    };
    for p in parents {
        if let Some(r) = p.revoked.iter().find(|r| hits(r)) {
            return Err((
                Reason::RevokedKey,
                format!(
                    "`{}` signs with the key of `{}`, which the policy in force had already revoked",
                    signed.identity, r.identity
                ),
            ));
        }
    }
    for r in tips
        .iter()
        .flat_map(|t| t.revoked.iter())
        .filter(|r| hits(r))
    {
        if at >= r.from {
            return Err((
                Reason::RevokedKey,
                format!(
                    "`{}` signs with the key of `{}`, revoked for signatures from {}",
                    signed.identity,
                    r.identity,
                    policy::timestamp::Timestamp(r.from)
                ),
            ));
        }
    }
    Ok(())
}

/// Everything but the admin rule: the signer is an identity of `parent`,
/// unrevoked, with a certificate valid at signing time, admitted to each of
/// `envs` (its own `environments`, or an unexpired exception of `parent`),
/// with a trusted time where an environment requires one.
pub(super) fn authorise(
    parent: &Resolved,
    parents: &[&Resolved],
    tips: &[Rc<Resolved>],
    checked: &Checked,
    envs: &[String],
) -> Result<Signed, Refusal> {
    let (at, trusted) = effective_time(parent, checked)?;
    let signed = identify(parent, checked, at)?;
    not_revoked(parents, tips, checked, &signed, at)?;
    let identity = &signed.identity;
    let certificate = match &checked.signer {
        Signer::Cert { fingerprint, .. } => Some(&**fingerprint),
        Signer::Keyless(k) => Some(k.fingerprint.as_str()),
        _ => None,
    };
    if let Some((nb, na)) = certificate.and_then(|fp| parent.validity.get(fp))
        && (at < *nb || at >= *na)
    {
        return Err((
            Reason::CertificateInvalidAtSigning,
            format!(
                "the certificate of `{identity}` was not valid at {} (valid {} to {})",
                policy::timestamp::Timestamp(at),
                nb.date(),
                na.date()
            ),
        ));
    }
    if view::identity(&parent.raw, identity).is_none() {
        return Err((
            Reason::UnknownSigner,
            format!("identity `{identity}` is not declared"),
        ));
    }
    for env in envs {
        if view::admits(&parent.raw, identity, env, at) == view::Admission::Refused {
            return Err((
                Reason::WrongEnvironment,
                format!("identity `{identity}` does not sign for environment `{env}`"),
            ));
        }
        if view::requires_trusted_time(&parent.raw, env) && !trusted {
            return Err((
                Reason::UntrustedTime,
                format!(
                    "environment `{env}` requires a transparency-log or RFC 3161 time; this signature has only a time its signer chose"
                ),
            ));
        }
    }
    Ok(signed)
}

/// Whether `identity` is owned by an admin of `policy`.
pub(super) fn is_admin(policy: &Resolved, identity: &str) -> bool {
    view::is_admin(&policy.raw, identity)
}

/// One parent of a commit, as the commit rule sees it.
pub(super) struct ParentView {
    /// Its policy (None: no signing.toml, or one that does not parse).
    pub policy: Option<Rc<Resolved>>,
    /// Whether the chain from the trust root reaches it.
    pub valid: bool,
}

/// How a commit stands with its parents.
pub(super) enum Judged {
    /// Authorised through parent `n`.
    Ok(Signed, usize),
    /// Authorised only through parents that are themselves failing: the first.
    Chain(usize),
    Refused(Reason, String),
}

/// The commit rule. A commit is authorised through a parent P when P's
/// policy authorises its signer for every environment in `envs(P's policy)`
/// and, if the commit's own policy differs from P's, the signer is owned by
/// an admin of P's policy. A commit that keeps a parent's policy is judged
/// by that policy only (a merge signed by someone the policy it keeps does
/// not authorise is refused, whatever the other parent's policy says). Merges, without rollback: for every other parent
/// Q whose policy differs from the commit's, if the commit keeps a policy
/// Q's history had already replaced (`replaced(Q, own)`) or drops a
/// revocation Q's policy holds, the commit changes Q's policy too and its
/// signer must be an admin of Q's policy. Revocations of every parent apply.
pub(super) fn judge_commit(
    own: Option<PolicyId>,
    own_policy: Option<&Resolved>,
    parents: &[ParentView],
    tips: &[Rc<Resolved>],
    checked: &Checked,
    envs: &mut dyn FnMut(&Resolved) -> Rc<[String]>,
    replaced: &mut dyn FnMut(usize, PolicyId) -> bool,
) -> Judged {
    // every parent's policy (revocations); one parent: no allocation
    let one: [&Resolved; 1];
    let many: Vec<&Resolved>;
    let all: &[&Resolved] = match parents {
        [
            ParentView {
                policy: Some(p), ..
            },
        ] => {
            one = [&**p];
            &one
        }
        _ => {
            many = parents.iter().filter_map(|p| p.policy.as_deref()).collect();
            &many
        }
    };
    let mut last: Option<Refusal> = None;
    let mut chain = None;
    // a merge is judged by the policy it keeps: when a parent has the
    // commit's own policy, only such a parent may authorise it
    let keeps = parents
        .iter()
        .any(|p| p.policy.as_ref().map(|p| p.id) == own && own.is_some());
    'parents: for (i, p) in parents.iter().enumerate() {
        let Some(pol) = p.policy.as_deref() else {
            continue;
        };
        if keeps && own != Some(pol.id) {
            continue;
        }
        let signed = match authorise(pol, all, tips, checked, &envs(pol)) {
            Ok(s) => s,
            Err(e) => {
                last = Some(e);
                continue;
            }
        };
        if own != Some(pol.id) && !is_admin(pol, &signed.identity) {
            last = Some((
                Reason::PolicyChangeWithoutAdmin,
                format!(
                    "the policy (signing.toml or a file it names) changed, but `{}` is not owned by an admin of the previous policy",
                    signed.identity
                ),
            ));
            continue;
        }
        for (j, q) in parents.iter().enumerate() {
            let Some(qp) = q.policy.as_deref() else {
                continue;
            };
            if j == i || own == Some(qp.id) || is_admin(qp, &signed.identity) {
                continue;
            }
            let dropped = qp
                .revoked
                .iter()
                .find(|r| !own_policy.is_some_and(|o| o.revokes_name(&r.identity)));
            if let Some(r) = dropped {
                last = Some((
                    Reason::PolicyChangeWithoutAdmin,
                    format!(
                        "the merge drops the revocation of `{}` that a parent's policy holds, and `{}` is not owned by an admin of that policy",
                        r.identity, signed.identity
                    ),
                ));
                continue 'parents;
            }
            if own.is_some_and(|o| replaced(j, o)) {
                last = Some((
                    Reason::PolicyChangeWithoutAdmin,
                    format!(
                        "the merge restores a policy that a parent's history had already replaced, and `{}` is not owned by an admin of that parent's policy",
                        signed.identity
                    ),
                ));
                continue 'parents;
            }
        }
        if p.valid {
            return Judged::Ok(signed, i);
        }
        chain.get_or_insert(i);
    }
    match chain {
        Some(i) => Judged::Chain(i),
        None => {
            let (reason, message) = last
                .unwrap_or_else(|| (Reason::NoPolicy, "no parent has a signing.toml".to_owned()));
            Judged::Refused(reason, message)
        }
    }
}
