//! The semantic diff of two policies: what a reviewer must look at.
//!
//! Pure: both sides are read by the caller (the policy text, its model or
//! why there is none, and the bytes of every file it names).

use std::collections::{BTreeMap, BTreeSet};

use crate::diag::Code;
use crate::policy::raw::{Custody, EnvironmentClass, RawEnvironment, RawIdentity, RawPolicy};
use crate::policy::rules::expiry::DEFAULT_RENEW_BEFORE;
use crate::signature::x509;

use super::Change;

/// One side of the review: a commit's policy.
#[derive(Debug)]
pub struct Side {
    /// Which side (`BASE`, `HEAD`) and its commit, for messages.
    pub label: String,
    /// The policy text as committed (lossy UTF-8), for line numbers.
    pub text: String,
    /// The model, or why there is none.
    pub policy: Result<RawPolicy, String>,
    /// The files the policy names (path → bytes); a path absent here is missing.
    pub files: BTreeMap<String, Vec<u8>>,
    /// The commit's committer time (seconds since the epoch).
    pub time: Option<i64>,
    /// Where the policy stopped parsing (line, column), when it did.
    pub error_at: Option<(usize, usize)>,
}

/// 1-based line and column of byte `at` in `text`.
pub fn line_col(text: &str, at: usize) -> (usize, usize) {
    let at = at.min(text.len());
    let before = text.get(..at).unwrap_or(text);
    let line = before.matches('\n').count() + 1;
    let col = before.rfind('\n').map_or(before.chars().count(), |i| {
        before.get(i + 1..).map_or(0, |s| s.chars().count())
    }) + 1;
    (line, col)
}

struct Out<'a> {
    head_text: &'a str,
    changes: Vec<Change>,
}

impl Out<'_> {
    fn push(
        &mut self,
        code: Code,
        subject: &str,
        at: Option<usize>,
        message: String,
    ) -> &mut Change {
        let (line, column) = at.map_or((1, 1), |a| line_col(self.head_text, a));
        self.changes
            .push(Change::new(code, subject, message, line, column));
        let last = self.changes.len() - 1;
        &mut self.changes[last]
    }
}

fn rank(c: Custody) -> u8 {
    match c {
        Custody::Hsm => 2,
        Custody::Keyless => 1,
        Custody::Unmanaged => 0,
    }
}

/// Production: class prod, or hsm-only custody.
fn is_prod(env: &RawEnvironment) -> bool {
    env.class
        .as_ref()
        .is_some_and(|c| *c.get() == EnvironmentClass::Prod)
        || (!env.custody.is_empty() && env.custody.iter().all(|c| *c.get() == Custody::Hsm))
}

fn env<'a>(p: &'a RawPolicy, name: &str) -> Option<&'a RawEnvironment> {
    p.environments
        .iter()
        .find(|(k, _)| k.get() == name)
        .map(|(_, v)| v.get())
}

fn list(items: impl IntoIterator<Item = String>) -> String {
    items.into_iter().collect::<Vec<_>>().join(", ")
}

/// Every change from `base` to `head`.
pub fn diff(base: &Side, head: &Side) -> Vec<Change> {
    let mut out = Out {
        head_text: &head.text,
        changes: Vec::new(),
    };
    let (b, h) = match (&base.policy, &head.policy) {
        (Ok(b), Ok(h)) => (b, h),
        (b, h) => {
            for (side, p) in [(base, b), (head, h)] {
                if let Err(why) = p {
                    let is_head = std::ptr::eq(side, head);
                    let c = out.push(
                        Code::PolicyUnreadable,
                        &side.label,
                        None,
                        format!("{}: {why}", side.label),
                    );
                    if let Some((line, column)) = side.error_at {
                        if is_head {
                            (c.line, c.column) = (line, column);
                        } else {
                            c.detail(
                                "at",
                                format!("line {line}, column {column} of BASE's policy"),
                            );
                        }
                    }
                }
            }
            return out.changes;
        }
    };
    admins(&mut out, b, h);
    owners(&mut out, b, h);
    environments(&mut out, b, h);
    identities(&mut out, base, head, b, h);
    exceptions(&mut out, b, h, head.time);
    revocations(&mut out, b, h);
    sigstore(&mut out, base, head, b, h);
    // the riskiest first, then in file order
    out.changes.sort_by(|x, y| {
        y.risk
            .cmp(&x.risk)
            .then(x.line.cmp(&y.line))
            .then(x.column.cmp(&y.column))
    });
    out.changes
}

fn admins(out: &mut Out, b: &RawPolicy, h: &RawPolicy) {
    let before: BTreeSet<&String> = b.policy.admins.iter().map(|a| a.get()).collect();
    for a in &h.policy.admins {
        if !before.contains(a.get()) {
            out.push(
                Code::AdminAdded,
                a.get(),
                Some(a.span().start),
                format!(
                    "owner `{}` became a policy admin: its identities can change signing.toml",
                    a.get()
                ),
            );
        }
    }
    let after: BTreeSet<&String> = h.policy.admins.iter().map(|a| a.get()).collect();
    for a in &b.policy.admins {
        if !after.contains(a.get()) {
            out.push(
                Code::AdminRemoved,
                a.get(),
                Some(h.policy.span().start),
                format!("owner `{}` is no longer a policy admin", a.get()),
            );
        }
    }
}

fn owners(out: &mut Out, b: &RawPolicy, h: &RawPolicy) {
    for (name, o) in &h.owners {
        match b.owners.iter().find(|(k, _)| k.get() == name.get()) {
            None => {
                out.push(
                    Code::OwnerChanged,
                    name.get(),
                    Some(name.span().start),
                    format!("owner `{}` added", name.get()),
                );
            }
            Some((_, old)) => {
                let members = |x: &crate::policy::raw::RawOwner| {
                    x.members
                        .iter()
                        .map(|m| m.get().clone())
                        .collect::<BTreeSet<_>>()
                };
                if old.contact.get() != o.contact.get() || members(old) != members(o) {
                    let (om, nm) = (members(old), members(o));
                    let c = out.push(
                        Code::OwnerChanged,
                        name.get(),
                        Some(name.span().start),
                        format!("owner `{}` changed contact or members", name.get()),
                    );
                    c.detail(
                        "contact",
                        format!("{} → {}", old.contact.get(), o.contact.get()),
                    );
                    let added: Vec<_> = nm.difference(&om).cloned().collect();
                    let removed: Vec<_> = om.difference(&nm).cloned().collect();
                    if !added.is_empty() {
                        c.detail("members added", list(added));
                    }
                    if !removed.is_empty() {
                        c.detail("members removed", list(removed));
                    }
                }
            }
        }
    }
    for name in b.owners.keys() {
        if !h.owners.keys().any(|k| k.get() == name.get()) {
            out.push(
                Code::OwnerChanged,
                name.get(),
                None,
                format!("owner `{}` removed", name.get()),
            );
        }
    }
}

fn environments(out: &mut Out, b: &RawPolicy, h: &RawPolicy) {
    for (name, e) in &h.environments {
        let n = name.get();
        let Some(old) = env(b, n) else {
            out.push(
                Code::EnvironmentAdded,
                n,
                Some(name.span().start),
                format!(
                    "environment `{n}` added (refs: {})",
                    list(e.refs.iter().map(|r| r.get().clone()))
                ),
            );
            continue;
        };
        let prod = is_prod(e) || is_prod(old);
        let old_refs: BTreeSet<&String> = old.refs.iter().map(|r| r.get()).collect();
        let new_refs: BTreeSet<&String> = e.refs.iter().map(|r| r.get()).collect();
        for r in &e.refs {
            if !old_refs.contains(r.get()) {
                let code = if prod {
                    Code::ProdRefsBroadened
                } else {
                    Code::EnvironmentRefsBroadened
                };
                out.push(
                    code,
                    n,
                    Some(r.span().start),
                    format!("environment `{n}` now also covers `{}`", r.get()),
                );
            }
        }
        for r in old_refs.difference(&new_refs) {
            let code = if prod {
                Code::ProdRefsRemoved
            } else {
                Code::EnvironmentRefsNarrowed
            };
            out.push(
                code,
                n,
                Some(name.span().start),
                format!("environment `{n}` no longer covers `{r}`"),
            );
        }
        let prod_class = |x: &RawEnvironment| {
            x.class
                .as_ref()
                .is_some_and(|c| *c.get() == EnvironmentClass::Prod)
        };
        if prod_class(old) && !prod_class(e) {
            let at = e
                .class
                .as_ref()
                .map_or(name.span().start, |c| c.span().start);
            out.push(
                Code::ProdClassRemoved,
                n,
                Some(at),
                format!(
                    "environment `{n}` is no longer of class prod: {}",
                    e.class.as_ref().map_or("no class", |c| c.get().as_str())
                ),
            );
        }
        let tt = |x: &RawEnvironment| x.require_trusted_time.as_ref().is_some_and(|v| *v.get());
        if tt(old) && !tt(e) {
            let at = e
                .require_trusted_time
                .as_ref()
                .map_or(name.span().start, |v| v.span().start);
            out.push(
                Code::TrustedTimeDisabled,
                n,
                Some(at),
                format!("environment `{n}` no longer requires a trusted time: a signer may choose its own"),
            );
        }
        let weakest = |x: &RawEnvironment| x.custody.iter().map(|c| rank(*c.get())).min();
        for c in &e.custody {
            if !old.custody.iter().any(|o| o.get() == c.get())
                && weakest(old).is_none_or(|w| rank(*c.get()) < w)
            {
                let code = if prod {
                    Code::ProdCustodyWidened
                } else {
                    Code::EnvironmentCustodyWidened
                };
                out.push(
                    code,
                    n,
                    Some(c.span().start),
                    format!(
                        "environment `{n}` now allows custody `{}`",
                        c.get().as_str()
                    ),
                );
            }
        }
    }
    for (name, e) in &b.environments {
        if env(h, name.get()).is_none() && is_prod(e) {
            // its refs leave production's protection
            for r in &e.refs {
                out.push(
                    Code::ProdRefsRemoved,
                    name.get(),
                    None,
                    format!(
                        "production environment `{}` removed: `{}` is no longer covered by it",
                        name.get(),
                        r.get()
                    ),
                );
            }
        }
    }
    for name in b.environments.keys() {
        if env(h, name.get()).is_none() {
            out.push(
                Code::EnvironmentRemoved,
                name.get(),
                None,
                format!("environment `{}` removed", name.get()),
            );
        }
    }
}

/// The signer fields of an identity, as text, for "changed" details.
fn signer_fields(id: &RawIdentity) -> Vec<(&'static str, String)> {
    let mut v = Vec::new();
    if let Some(k) = &id.key {
        v.push(("key", k.get().clone()));
    }
    if let Some(c) = &id.certificate {
        v.push(("certificate", c.get().clone()));
    }
    if let Some(p) = &id.public_key {
        v.push(("public_key", p.get().clone()));
    }
    if let Some(k) = &id.keyless {
        v.push(("keyless", format!("{} {}", k.issuer.get(), k.subject.get())));
    }
    if let Some(s) = &id.ssh_key {
        v.push(("ssh_key", s.get().clone()));
    }
    if let Some(p) = &id.openpgp_key {
        v.push(("openpgp_key", p.get().clone()));
    }
    if let Some(x) = &id.x509 {
        v.push(("x509", format!("{} {}", x.ca.get(), x.subject.get())));
    }
    v
}

fn cert_facts(bytes: Option<&Vec<u8>>) -> String {
    match bytes.map(|b| x509::parse(b)) {
        None => "missing".to_owned(),
        Some(Err(e)) => format!("unreadable: {e}"),
        Some(Ok(f)) => format!(
            "sha256:{} issuer {} valid {} – {}",
            f.fingerprint_sha256,
            f.issuer,
            crate::policy::timestamp::Timestamp(f.not_before),
            crate::policy::timestamp::Timestamp(f.not_after)
        ),
    }
}

fn identities(out: &mut Out, base: &Side, head: &Side, b: &RawPolicy, h: &RawPolicy) {
    for (name, id) in &h.identities {
        let n = name.get();
        let at = Some(name.span().start);
        let Some(old) = crate::policy::view::identity(b, n) else {
            let c = out.push(
                Code::IdentityAdded,
                n,
                at,
                format!(
                    "identity `{n}` added: custody {}, owner `{}`, environments {}",
                    id.custody.get().as_str(),
                    id.owner.get(),
                    list(id.environments.iter().map(|e| e.get().clone()))
                ),
            );
            for (k, v) in signer_fields(id) {
                c.detail(k, v);
            }
            if crate::policy::view::is_admin(h, n) {
                c.detail(
                    "admin",
                    "its owner is a policy admin: it can sign changes to signing.toml".to_owned(),
                );
            }
            for e in &id.environments {
                if env(h, e.get()).is_some_and(is_prod) {
                    out.push(
                        Code::ProdEnvironmentGranted,
                        n,
                        Some(e.span().start),
                        format!(
                            "new identity `{n}` signs for production environment `{}`",
                            e.get()
                        ),
                    );
                }
            }
            continue;
        };
        if rank(*id.custody.get()) < rank(*old.custody.get()) {
            out.push(
                Code::CustodyWeakened,
                n,
                Some(id.custody.span().start),
                format!(
                    "identity `{n}` custody weakened: {} → {}",
                    old.custody.get().as_str(),
                    id.custody.get().as_str()
                ),
            );
        }
        if id.owner.get() != old.owner.get() {
            out.push(
                Code::IdentityOwnerChanged,
                n,
                Some(id.owner.span().start),
                format!(
                    "identity `{n}` owner: `{}` → `{}`",
                    old.owner.get(),
                    id.owner.get()
                ),
            );
        }
        let (of, nf) = (signer_fields(old), signer_fields(id));
        if of != nf {
            let c = out.push(
                Code::IdentityKeyChanged,
                n,
                at,
                format!("identity `{n}` is bound to other key material"),
            );
            c.detail("before", list(of.iter().map(|(k, v)| format!("{k} = {v}"))));
            c.detail("after", list(nf.iter().map(|(k, v)| format!("{k} = {v}"))));
        }
        // the same path, other bytes: the CA bundle or OpenPGP key was swapped
        let files = |side: &Side, x: &RawIdentity| {
            [
                x.x509.as_ref().map(|v| v.get().ca.get().clone()),
                x.openpgp_key.as_ref().map(|v| v.get().clone()),
            ]
            .into_iter()
            .flatten()
            .map(|p| (side.files.get(&p).cloned(), p))
            .collect::<Vec<_>>()
        };
        let (ofl, nfl) = (files(base, old), files(head, id));
        for (bytes, path) in &nfl {
            if ofl.iter().any(|(ob, op)| op == path && ob != bytes) {
                let c = out.push(
                    Code::IdentityKeyChanged,
                    n,
                    at,
                    format!("identity `{n}`: the content of `{path}` changed"),
                );
                c.detail("file", path.clone());
            }
        }
        if let (Some(op), Some(np)) = (&old.certificate, &id.certificate) {
            let (ob, nb) = (base.files.get(op.get()), head.files.get(np.get()));
            if ob != nb {
                let c = out.push(
                    Code::CertificateReplaced,
                    n,
                    Some(np.span().start),
                    format!("identity `{n}` certificate replaced"),
                );
                c.detail("old", cert_facts(ob));
                c.detail("new", cert_facts(nb));
            }
        }
        let old_envs: BTreeSet<&String> = old.environments.iter().map(|e| e.get()).collect();
        for e in &id.environments {
            if !old_envs.contains(e.get()) {
                let prod = env(h, e.get()).is_some_and(is_prod);
                let code = if prod {
                    Code::ProdEnvironmentGranted
                } else {
                    Code::EnvironmentGranted
                };
                out.push(
                    code,
                    n,
                    Some(e.span().start),
                    format!("identity `{n}` may now sign for `{}`", e.get()),
                );
            }
        }
        for e in &old.environments {
            if !id.environments.iter().any(|x| x.get() == e.get()) {
                out.push(
                    Code::EnvironmentDropped,
                    n,
                    at,
                    format!("identity `{n}` no longer signs for `{}`", e.get()),
                );
            }
        }
        let window = |x: &RawIdentity| {
            x.renew_before
                .as_ref()
                .map_or(DEFAULT_RENEW_BEFORE, |r| *r.get())
        };
        if id.certificate.is_some() && window(id) < window(old) {
            let at = id
                .renew_before
                .as_ref()
                .map_or(name.span().start, |r| r.span().start);
            out.push(
                Code::RenewBeforeShortened,
                n,
                Some(at),
                format!(
                    "identity `{n}` renewal window {} → {}{}",
                    window(old),
                    window(id),
                    if id.renew_before.is_none() {
                        " (removed: the default)"
                    } else {
                        ""
                    }
                ),
            );
        }
    }
    for name in b.identities.keys() {
        if crate::policy::view::identity(h, name.get()).is_none() {
            out.push(
                Code::IdentityRemoved,
                name.get(),
                None,
                format!("identity `{}` removed", name.get()),
            );
        }
    }
}

fn exceptions(out: &mut Out, b: &RawPolicy, h: &RawPolicy, head_time: Option<i64>) {
    for x in &h.exceptions {
        let id = x.id.get();
        let old = b.exceptions.iter().find(|o| o.id.get() == id);
        if old.is_some_and(|o| {
            o.expires.get().0 >= x.expires.get().0
                && o.environments
                    .iter()
                    .map(|e| e.get())
                    .collect::<BTreeSet<_>>()
                    == x.environments
                        .iter()
                        .map(|e| e.get())
                        .collect::<BTreeSet<_>>()
                && o.identity.get() == x.identity.get()
        }) {
            continue;
        }
        let c = out.push(
            Code::ExceptionAdded,
            id,
            Some(x.id.span().start),
            format!(
                "exception `{id}` {}: identity `{}` may sign for {} until {}",
                if old.is_some() { "extended" } else { "added" },
                x.identity.get(),
                list(x.environments.iter().map(|e| e.get().clone())),
                x.expires.get()
            ),
        );
        c.detail(
            "approved by",
            list(x.approved_by.iter().map(|a| a.get().clone())),
        );
        c.detail("reason", x.reason.get().clone());
        if let Some(t) = head_time {
            let days = (x.expires.get().0.unix_timestamp() - t).div_euclid(86_400);
            c.detail("lasts", format!("{days} days from HEAD's commit"));
        }
        if !x.commits.is_empty() {
            c.detail("commits", list(x.commits.iter().map(|a| a.get().clone())));
        }
    }
    for x in &b.exceptions {
        if !h.exceptions.iter().any(|o| o.id.get() == x.id.get()) {
            out.push(
                Code::ExceptionRemoved,
                x.id.get(),
                None,
                format!("exception `{}` removed", x.id.get()),
            );
        }
    }
}

fn revocations(out: &mut Out, b: &RawPolicy, h: &RawPolicy) {
    let key = |r: &crate::policy::raw::RawRevocation| {
        (
            r.identity.get().clone(),
            crate::policy::view::revoked_from(r),
        )
    };
    for r in &h.revocations {
        if !b.revocations.iter().any(|o| key(o) == key(r)) {
            out.push(
                Code::RevocationAdded,
                r.identity.get(),
                Some(r.identity.span().start),
                format!(
                    "identity `{}` revoked from {}",
                    r.identity.get(),
                    crate::policy::timestamp::Timestamp(crate::policy::view::revoked_from(r))
                ),
            );
        }
    }
    for r in &b.revocations {
        if !h.revocations.iter().any(|o| key(o) == key(r)) {
            let still = h
                .revocations
                .iter()
                .find(|o| o.identity.get() == r.identity.get());
            out.push(
                Code::RevocationRemoved,
                r.identity.get(),
                still.map(|s| s.identity.span().start),
                match still {
                    Some(s) => format!(
                        "revocation of `{}` moved from {} to {}",
                        r.identity.get(),
                        crate::policy::timestamp::Timestamp(crate::policy::view::revoked_from(r)),
                        crate::policy::timestamp::Timestamp(crate::policy::view::revoked_from(s))
                    ),
                    None => format!(
                        "revocation of `{}` removed: its signatures are trusted again",
                        r.identity.get()
                    ),
                },
            );
        }
    }
}

fn sigstore(out: &mut Out, base: &Side, head: &Side, b: &RawPolicy, h: &RawPolicy) {
    let root = |s: &Side, p: &RawPolicy| {
        p.sigstore.as_ref().map(|sg| {
            (
                sg.trusted_root.get().clone(),
                s.files.get(sg.trusted_root.get()).cloned(),
            )
        })
    };
    let at = h.sigstore.as_ref().map(|sg| sg.trusted_root.span().start);
    let (ob, nb) = (root(base, b), root(head, h));
    if ob.as_ref().map(|x| &x.1) != nb.as_ref().map(|x| &x.1) {
        let c = out.push(
            Code::TrustedRootReplaced,
            "sigstore.trusted_root",
            at,
            "the Sigstore trusted root changed: keyless certificates chain to other authorities"
                .to_owned(),
        );
        c.detail("before", ob.map_or("none".to_owned(), |x| x.0));
        c.detail("after", nb.map_or("none".to_owned(), |x| x.0));
    }
    let config = |s: &Side, p: &RawPolicy| {
        p.sigstore
            .as_ref()
            .and_then(|sg| sg.signing_config.as_ref())
            .map(|c| s.files.get(c.get()).cloned())
    };
    if config(base, b) != config(head, h) {
        let at = h
            .sigstore
            .as_ref()
            .and_then(|sg| sg.signing_config.as_ref())
            .map(|c| c.span().start);
        out.push(
            Code::SigningConfigChanged,
            "sigstore.signing_config",
            at,
            "the Sigstore signing config changed".to_owned(),
        );
    }
}
