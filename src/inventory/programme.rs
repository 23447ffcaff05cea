//! The findings that only show across repositories, computed from the
//! model alone (so `--merge` recomputes them from inventories made
//! elsewhere exactly as a single run would).

use std::collections::{BTreeMap, BTreeSet};

use super::code::{self, Def};
use super::model::{Finding, Identity, Inventory};

fn finding(
    d: Def,
    message: String,
    repositories: BTreeSet<String>,
    identities: BTreeSet<String>,
) -> Finding {
    Finding {
        severity: d.severity.into(),
        code: d.code.into(),
        message,
        repositories: repositories.into_iter().collect(),
        identities: identities.into_iter().collect(),
        control: d.control.into(),
    }
}

/// Who owns an identity across repositories: its owner's contact
/// (owner names are each policy's own), else the owner's name.
fn owner_key(i: &Identity) -> String {
    i.contact.as_deref().map_or_else(
        || format!("owner {}", i.owner),
        |c| c.trim().to_ascii_lowercase(),
    )
}

/// `repo (\`name\`), …`
fn places(ids: &[&Identity]) -> String {
    ids.iter()
        .map(|i| format!("{} (`{}`)", i.repository, i.name))
        .collect::<Vec<_>>()
        .join(", ")
}

/// The programme findings of `inv`, in a stable order.
pub fn findings(inv: &Inventory) -> Vec<Finding> {
    let mut out = Vec::new();

    // one key in several repositories, whatever each calls it
    let mut by_key: BTreeMap<&str, Vec<&Identity>> = BTreeMap::new();
    for i in &inv.identities {
        if let Some(fp) = &i.key_fingerprint {
            by_key.entry(fp.as_str()).or_default().push(i);
        }
    }
    for (fp, ids) in by_key {
        let repos: BTreeSet<String> = ids.iter().map(|i| i.repository.clone()).collect();
        if repos.len() < 2 {
            continue;
        }
        let message = format!(
            "one key (public key SHA-256 {}…) is in {} repositories: {}",
            fp.get(..16).unwrap_or(fp),
            repos.len(),
            places(&ids)
        );
        let names = ids.iter().map(|i| i.name.clone()).collect();
        out.push(finding(
            code::IDENTITY_IN_SEVERAL_REPOSITORIES,
            message,
            repos,
            names,
        ));
    }

    // one owner holding a prod identity in every repository
    let read: BTreeSet<&str> = inv
        .repositories
        .iter()
        .filter(|r| r.status == "ok")
        .map(|r| r.path.as_str())
        .collect();
    if read.len() >= 2 {
        let mut prod: BTreeMap<String, Vec<&Identity>> = BTreeMap::new();
        for i in &inv.identities {
            if i.classes.iter().any(|c| c == "prod") && !i.status.iter().any(|s| s == "revoked") {
                prod.entry(owner_key(i)).or_default().push(i);
            }
        }
        for (owner, ids) in prod {
            let holds: BTreeSet<&str> = ids.iter().map(|i| i.repository.as_str()).collect();
            if !read.iter().all(|r| holds.contains(r)) {
                continue;
            }
            let message = format!(
                "{owner} holds a prod identity in every one of the {} repositories: {}",
                read.len(),
                places(&ids)
            );
            let repos = read.iter().map(|r| (*r).to_owned()).collect();
            let names = ids.iter().map(|i| i.name.clone()).collect();
            out.push(finding(
                code::OWNER_HOLDS_PROD_EVERYWHERE,
                message,
                repos,
                names,
            ));
        }
    }

    // one token key referenced by different owners from several repositories
    let mut by_object: BTreeMap<(String, String), Vec<&Identity>> = BTreeMap::new();
    for i in inv.identities.iter().filter(|i| i.custody == "hsm") {
        let Some(uri) = i.key_reference.as_deref() else {
            continue;
        };
        let Ok(u) = crate::policy::pkcs11_uri::parse(uri) else {
            continue;
        };
        let (Some(token), Some(object)) = (u.attr("token"), u.attr("object")) else {
            continue;
        };
        by_object
            .entry((token.to_owned(), object.to_owned()))
            .or_default()
            .push(i);
    }
    for ((token, object), ids) in by_object {
        let repos: BTreeSet<String> = ids.iter().map(|i| i.repository.clone()).collect();
        let owners: BTreeSet<String> = ids.iter().map(|i| owner_key(i)).collect();
        if repos.len() < 2 || owners.len() < 2 {
            continue;
        }
        let message = format!(
            "the token key token={token};object={object} is referenced by {} owners ({}) from {} repositories: {}",
            owners.len(),
            owners.iter().cloned().collect::<Vec<_>>().join(", "),
            repos.len(),
            places(&ids)
        );
        let names = ids.iter().map(|i| i.name.clone()).collect();
        out.push(finding(
            code::HSM_KEY_SHARED_ACROSS_OWNERS,
            message,
            repos,
            names,
        ));
    }
    out
}
