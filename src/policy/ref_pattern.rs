//! Ref globs in `[environments.*].refs`: `refs/tags/v*`, `refs/heads/main`.
//!
//! `*` matches any run of characters, `/` included; the most specific pattern
//! (the most literal characters) decides a ref's environment.

/// Why a pattern is refused.
pub fn validate(pattern: &str) -> Result<(), &'static str> {
    if !pattern.starts_with("refs/") {
        return Err(
            "a ref pattern starts with `refs/` (for example `refs/heads/main` or `refs/tags/v*`)",
        );
    }
    if pattern.ends_with('/') || pattern.contains("//") || pattern.contains("..") {
        return Err("a ref pattern has no empty path component and no `..`");
    }
    if pattern
        .chars()
        .any(|c| c.is_ascii_control() || matches!(c, ' ' | '~' | '^' | ':' | '?' | '[' | '\\'))
    {
        return Err(
            "a ref pattern holds only characters git allows in ref names, and `*` as its wildcard",
        );
    }
    Ok(())
}

/// Whether `refname` matches `pattern`.
pub fn matches(pattern: &str, refname: &str) -> bool {
    let parts: Vec<&str> = pattern.split('*').collect();
    let (first, rest) = match parts.split_first() {
        Some(x) => x,
        None => return false,
    };
    let Some(mut tail) = refname.strip_prefix(first) else {
        return false;
    };
    let Some((last, middle)) = rest.split_last() else {
        return tail.is_empty();
    };
    for part in middle {
        match tail.find(part) {
            Some(i) => tail = &tail[i + part.len()..],
            None => return false,
        }
    }
    tail.len() >= last.len() && tail.ends_with(last)
}

/// How specific a pattern is: its count of literal characters.
pub fn specificity(pattern: &str) -> usize {
    pattern.chars().filter(|c| *c != '*').count()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn globs_match_across_slashes() {
        assert!(matches("refs/heads/*", "refs/heads/feature/x"));
        assert!(matches("refs/tags/v*", "refs/tags/v1.2.3"));
        assert!(!matches("refs/tags/v*", "refs/tags/1.2.3"));
        assert!(matches("refs/heads/main", "refs/heads/main"));
        assert!(!matches("refs/heads/main", "refs/heads/main2"));
        assert!(matches("refs/*/release-*-lts", "refs/heads/release-2-lts"));
        assert!(!matches("refs/*/release-*-lts", "refs/heads/release-2-lt"));
        assert!(specificity("refs/heads/main") > specificity("refs/heads/*"));
    }

    #[test]
    fn refuses_what_git_would_refuse() {
        for bad in [
            "heads/main",
            "refs/heads/",
            "refs//x",
            "refs/a..b",
            "refs/heads/ma in",
            "refs/heads/[ab]",
        ] {
            assert!(validate(bad).is_err(), "{bad}");
        }
        assert!(validate("refs/tags/v*").is_ok());
    }
}
