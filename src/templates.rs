//! Starter policies and other files `init` writes, embedded at build time.

/// `(name, text)` of every starter policy in `templates/`.
pub const POLICIES: &[(&str, &str)] = &[
    ("minimal", include_str!("../templates/minimal.toml")),
    ("hsm-release", include_str!("../templates/hsm-release.toml")),
    (
        "keyless-team",
        include_str!("../templates/keyless-team.toml"),
    ),
];

/// The placeholder mail address `init` replaces with the user's.
pub const PLACEHOLDER_EMAIL: &str = "you@example.com";

/// A starter policy by name.
pub fn policy(name: &str) -> Option<&'static str> {
    POLICIES.iter().find(|(n, _)| *n == name).map(|(_, t)| *t)
}

/// Template names, comma-separated, for messages.
pub fn names() -> String {
    POLICIES
        .iter()
        .map(|(n, _)| *n)
        .collect::<Vec<_>>()
        .join(", ")
}

/// The CI templates `init --ci` writes: per CI, `(path in the repository, text)`.
pub fn ci(name: &str) -> Option<&'static [(&'static str, &'static str)]> {
    const GITHUB: &[(&str, &str)] = &[
        (
            ".github/workflows/sigctl-verify.yml",
            include_str!("../templates/ci/github-actions/sigctl-verify.yml"),
        ),
        (
            ".github/workflows/sigctl-review.yml",
            include_str!("../templates/ci/github-actions/sigctl-review.yml"),
        ),
        (
            ".github/workflows/sigctl-release.yml",
            include_str!("../templates/ci/github-actions/sigctl-release.yml"),
        ),
    ];
    const GITLAB: &[(&str, &str)] = &[(
        ".gitlab/sigctl.gitlab-ci.yml",
        include_str!("../templates/ci/gitlab-ci.yml"),
    )];
    match name {
        "github" => Some(GITHUB),
        "gitlab" => Some(GITLAB),
        _ => None,
    }
}
