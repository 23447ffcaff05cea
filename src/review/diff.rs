//! The semantic diff of two policies: what a reviewer must look at.
//!
//! Pure: both sides are read by the caller (the policy text, its model or
//! why there is none, and the bytes of every file it names).

use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet};

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
    /// The commit has no signing.toml at all.
    pub absent: bool,
}

/// Line starts of a text, for 1-based line and column lookups.
pub struct Lines<'a> {
    text: &'a str,
    starts: Vec<usize>,
}

impl<'a> Lines<'a> {
    pub fn new(text: &'a str) -> Self {
        let starts = std::iter::once(0)
            .chain(text.match_indices('\n').map(|(i, _)| i + 1))
            .collect();
        Self { text, starts }
    }

    /// 1-based line and column (in characters) of byte `at`.
    pub fn line_col(&self, at: usize) -> (usize, usize) {
        let at = at.min(self.text.len());
        let line = self.starts.partition_point(|s| *s <= at).max(1);
        let start = self.starts.get(line - 1).copied().unwrap_or(0);
        let col = self.text.get(start..at).map_or(0, |s| s.chars().count()) + 1;
        (line, col)
    }
}

struct Out<'a> {
    head_text: Lines<'a>,
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
        let (line, column) = at.map_or((1, 1), |a| self.head_text.line_col(a));
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

/// A policy's tables by name: lookups stay linear in the policy's size.
struct Ix<'a> {
    env: HashMap<&'a str, &'a RawEnvironment>,
    id: HashMap<&'a str, &'a RawIdentity>,
}

impl<'a> Ix<'a> {
    fn new(p: &'a RawPolicy) -> Self {
        Self {
            env: p
                .environments
                .iter()
                .map(|(k, v)| (k.get().as_str(), v.get()))
                .collect(),
            id: p
                .identities
                .iter()
                .map(|(k, v)| (k.get().as_str(), v.get()))
                .collect(),
        }
    }
    fn env(&self, name: &str) -> Option<&'a RawEnvironment> {
        self.env.get(name).copied()
    }
    fn identity(&self, name: &str) -> Option<&'a RawIdentity> {
        self.id.get(name).copied()
    }
}

fn list(items: impl IntoIterator<Item = String>) -> String {
    items.into_iter().collect::<Vec<_>>().join(", ")
}

/// Every change from `base` to `head`.
pub fn diff(base: &Side, head: &Side) -> Vec<Change> {
    let mut out = Out {
        head_text: Lines::new(&head.text),
        changes: Vec::new(),
    };
    let (b, h) = match (&base.policy, &head.policy) {
        (Ok(b), Ok(h)) => (b, h),
        // no policy on either side: nothing to review (a repository that does not use sigctl)
        _ if base.absent && head.absent => return out.changes,
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
    let before: HashMap<&str, _> = b
        .owners
        .iter()
        .map(|(k, v)| (k.get().as_str(), v))
        .collect();
    let after: HashSet<&str> = h.owners.keys().map(|k| k.get().as_str()).collect();
    for (name, o) in &h.owners {
        match before.get(name.get().as_str()).copied() {
            None => {
                out.push(
                    Code::OwnerChanged,
                    name.get(),
                    Some(name.span().start),
                    format!("owner `{}` added", name.get()),
                );
            }
            Some(old) => {
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
        if !after.contains(name.get().as_str()) {
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
    let (bi, hi) = (Ix::new(b), Ix::new(h));
    for (name, e) in &h.environments {
        let n = name.get();
        let Some(old) = bi.env(n) else {
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
        if hi.env(name.get()).is_none() && is_prod(e) {
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
        if hi.env(name.get()).is_none() {
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
    let certs: Vec<String> = id.certificates().iter().map(|c| c.get().clone()).collect();
    if !certs.is_empty() {
        v.push(("certificate", certs.join(", ")));
    }
    let pins: Vec<String> = id.pins().iter().map(|p| p.get().clone()).collect();
    if !pins.is_empty() {
        v.push(("public_key", pins.join(", ")));
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
    let (bi, hi) = (Ix::new(b), Ix::new(h));
    for (name, id) in &h.identities {
        let n = name.get();
        let at = Some(name.span().start);
        let Some(old) = bi.identity(n) else {
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
            if h.policy.admins.iter().any(|a| a.get() == id.owner.get()) {
                c.detail(
                    "admin",
                    "its owner is a policy admin: it can sign changes to signing.toml".to_owned(),
                );
            }
            for e in &id.environments {
                if hi.env(e.get()).is_some_and(is_prod) {
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
        // the certificates by content: a renewal adds a successor next to
        // the current one, a replacement swaps it
        let (oc, nc) = (old.certificates(), id.certificates());
        if !oc.is_empty() && !nc.is_empty() {
            let olds: Vec<Option<&Vec<u8>>> = oc.iter().map(|p| base.files.get(p.get())).collect();
            let news: Vec<Option<&Vec<u8>>> = nc.iter().map(|p| head.files.get(p.get())).collect();
            let added: Vec<Option<&Vec<u8>>> =
                news.iter().filter(|b| !olds.contains(b)).copied().collect();
            let removed: Vec<Option<&Vec<u8>>> =
                olds.iter().filter(|b| !news.contains(b)).copied().collect();
            if !added.is_empty() || !removed.is_empty() {
                let message = match (added.len(), removed.len(), nc.len()) {
                    (1, 1, 1) => format!("identity `{n}` certificate replaced"),
                    (a, 0, _) => {
                        format!("identity `{n}`: {a} certificate(s) added next to the current one")
                    }
                    (a, r, _) => format!("identity `{n}`: {a} certificate(s) added, {r} removed"),
                };
                let c = out.push(
                    Code::CertificateReplaced,
                    n,
                    Some(nc[0].span().start),
                    message,
                );
                let list = |xs: &[Option<&Vec<u8>>]| {
                    xs.iter()
                        .map(|b| cert_facts(*b))
                        .collect::<Vec<_>>()
                        .join("; ")
                };
                c.detail("old", list(&removed));
                c.detail("new", list(&added));
            }
        }
        let old_envs: BTreeSet<&String> = old.environments.iter().map(|e| e.get()).collect();
        for e in &id.environments {
            if !old_envs.contains(e.get()) {
                let prod = hi.env(e.get()).is_some_and(is_prod);
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
        if hi.identity(name.get()).is_none() {
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
    let hi = Ix::new(h);
    let before: HashMap<&str, &crate::policy::raw::RawException> = b
        .exceptions
        .iter()
        .map(|o| (o.id.get().as_str(), o.get()))
        .collect();
    let after: HashSet<&str> = h.exceptions.iter().map(|o| o.id.get().as_str()).collect();
    for x in &h.exceptions {
        let id = x.id.get();
        let old = before.get(id.as_str()).copied();
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
        let prod: Vec<String> = x
            .environments
            .iter()
            .filter(|e| hi.env(e.get()).is_some_and(is_prod))
            .map(|e| e.get().clone())
            .collect();
        if !prod.is_empty() {
            c.detail("production environments", list(prod));
        }
        if let Some(t) = head_time {
            let days = (x.expires.get().0.unix_timestamp() - t).div_euclid(86_400);
            c.detail("lasts", format!("{days} days from HEAD's commit"));
        }
        if !x.commits.is_empty() {
            c.detail("commits", list(x.commits.iter().map(|a| a.get().clone())));
        }
    }
    for x in &b.exceptions {
        if !after.contains(x.id.get().as_str()) {
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
    let before: HashSet<_> = b.revocations.iter().map(|r| key(r)).collect();
    let after: HashSet<_> = h.revocations.iter().map(|r| key(r)).collect();
    for r in &h.revocations {
        if !before.contains(&key(r)) {
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
    let by_identity: HashMap<&str, &crate::policy::raw::RawRevocation> = h
        .revocations
        .iter()
        .map(|r| (r.identity.get().as_str(), r.get()))
        .collect();
    for r in &b.revocations {
        if !after.contains(&key(r)) {
            let still = by_identity.get(r.identity.get().as_str()).copied();
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

#[cfg(test)]
mod tests {
    use super::Lines;

    #[test]
    fn lines_and_columns_are_one_based_in_characters() {
        let l = Lines::new("ab\nçd = 1\n\nx");
        assert_eq!(l.line_col(0), (1, 1));
        assert_eq!(l.line_col(2), (1, 3));
        assert_eq!(l.line_col(3), (2, 1));
        // `d` is the second character, the third byte of line 2
        assert_eq!(l.line_col(5), (2, 2));
        assert_eq!(l.line_col(11), (3, 1));
        assert_eq!(l.line_col(12), (4, 1));
        assert_eq!(l.line_col(999), (4, 2));
    }
}
