//! `sigctl init`: writes a starter policy and repository-local config,
//! idempotently, all or nothing.

use crate::util::{TestRepo, redact};

fn local_config(repo: &TestRepo) -> String {
    std::fs::read_to_string(repo.path().join(".git/config")).unwrap_or_default()
}

#[test]
fn init_writes_policy_schema_and_local_config_only() {
    let repo = TestRepo::new();
    let run = repo.sigctl(&["init"]);
    assert_eq!(run.code, 0, "{}", run.snapshot());
    let policy = repo.read("signing.toml");
    assert!(
        policy.starts_with("#:schema ./.sigctl/signing.schema.json\n"),
        "{policy}"
    );
    // the user's mail address replaces the placeholder
    assert!(
        policy.contains("subject = \"test@example.com\""),
        "{policy}"
    );
    assert!(!policy.contains("you@example.com"));
    assert_eq!(
        repo.read(".sigctl/signing.schema.json"),
        sigctl::policy::schema::json_schema()
    );
    assert_eq!(
        repo.git(&["config", "--local", "gpg.format"]).trim(),
        "x509"
    );
    assert_eq!(
        repo.git(&["config", "--local", "gpg.x509.program"]).trim(),
        std::fs::canonicalize(crate::util::SIGCTL)
            .expect("binary")
            .display()
            .to_string()
    );
    assert_eq!(
        repo.git(&["config", "--local", "notes.signing.mergeStrategy"])
            .trim(),
        "cat_sort_uniq"
    );
    // never the global config
    assert!(!repo.home().join(".gitconfig").exists());
    assert!(!repo.home().join(".config/git/config").exists());
    insta::assert_snapshot!(
        redact(&run.snapshot(), &repo).replace(crate::util::SIGCTL, "[SIGCTL]")
    );
}

#[test]
fn init_is_idempotent() {
    let repo = TestRepo::new();
    assert_eq!(repo.sigctl(&["init"]).code, 0);
    let config = local_config(&repo);
    let policy = repo.read("signing.toml");
    let again = repo.sigctl(&["init"]);
    assert_eq!(again.code, 0, "{}", again.snapshot());
    assert!(again.stdout.contains("nothing to do"), "{}", again.stdout);
    assert_eq!(local_config(&repo), config);
    assert_eq!(repo.read("signing.toml"), policy);
}

#[test]
fn init_refuses_to_overwrite_a_policy_and_changes_nothing() {
    let repo = TestRepo::new();
    repo.write("signing.toml", "# mine\n");
    let config = local_config(&repo);
    let run = repo.sigctl(&["init", "--template", "hsm-release"]);
    assert_eq!(run.code, 2);
    assert!(
        run.stderr.contains("already exists") && run.stderr.contains("--force"),
        "{}",
        run.stderr
    );
    assert_eq!(repo.read("signing.toml"), "# mine\n");
    assert_eq!(local_config(&repo), config);
    assert!(!repo.path().join(".sigctl").exists());

    let forced = repo.sigctl(&["init", "--template", "hsm-release", "--force"]);
    assert_eq!(forced.code, 0, "{}", forced.snapshot());
    assert!(repo.read("signing.toml").contains("[identities.release]"));
}

#[test]
fn an_unknown_template_writes_nothing() {
    let repo = TestRepo::new();
    let config = local_config(&repo);
    let run = repo.sigctl(&["init", "--template", "nope"]);
    assert_eq!(run.code, 2);
    insta::assert_snapshot!(run.snapshot());
    assert!(!repo.path().join("signing.toml").exists());
    assert_eq!(local_config(&repo), config);
}

#[test]
fn a_failure_midway_leaves_no_partial_state() {
    let repo = TestRepo::new();
    // git holds the config lock (as a concurrent `git config` would)
    repo.write(".git/config.lock", "");
    let config = local_config(&repo);
    let run = repo.sigctl(&["init"]);
    assert_eq!(run.code, 2, "{}", run.snapshot());
    assert!(run.stderr.contains("config"), "{}", run.stderr);
    assert!(!repo.path().join("signing.toml").exists());
    assert!(!repo.path().join(".sigctl").exists());
    assert_eq!(local_config(&repo), config);
    let leftovers: Vec<_> = std::fs::read_dir(repo.path())
        .expect("repo dir")
        .filter_map(Result::ok)
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|n| n.contains("sigctl-tmp"))
        .collect();
    assert!(leftovers.is_empty(), "{leftovers:?}");
}

#[test]
fn init_outside_a_repository_is_an_environment_error() {
    let repo = TestRepo::new();
    let run = repo.sigctl_in(&repo.home(), &["init"]);
    assert_eq!(run.code, 2);
    assert!(
        run.stderr.contains("not inside a git repository"),
        "{}",
        run.stderr
    );
    assert!(!repo.home().join("signing.toml").exists());
}

#[test]
fn help_is_stable() {
    let repo = TestRepo::new();
    insta::assert_snapshot!("help", repo.sigctl(&["--help"]).snapshot());
    insta::assert_snapshot!("check_help", repo.sigctl(&["check", "--help"]).snapshot());
    insta::assert_snapshot!("init_help", repo.sigctl(&["init", "--help"]).snapshot());
    insta::assert_snapshot!("revoke_help", repo.sigctl(&["revoke", "--help"]).snapshot());
    insta::assert_snapshot!(
        "exception_add_help",
        repo.sigctl(&["exception", "add", "--help"]).snapshot()
    );
}

#[test]
fn init_ci_writes_the_ci_templates_beside_an_existing_policy_and_never_over_other_files() {
    let repo = TestRepo::new();
    let first = repo.sigctl(&["init"]);
    assert_eq!(first.code, 0, "{}", first.snapshot());
    let policy = repo.read("signing.toml");
    let gh = repo.sigctl(&["init", "--ci", "github"]);
    assert_eq!(gh.code, 0, "{}", gh.snapshot());
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("templates/ci");
    // every GitHub template, under .github/workflows/
    let templates: Vec<_> = std::fs::read_dir(root.join("github-actions"))
        .expect("templates")
        .flatten()
        .map(|e| e.path())
        .collect();
    assert_eq!(templates.len(), 3, "verify, review, release: {templates:?}");
    for template in templates {
        let name = template.file_name().expect("name").to_string_lossy();
        let written = format!(".github/workflows/{name}");
        assert_eq!(
            repo.read(&written),
            std::fs::read_to_string(&template).expect("template"),
            "{written}"
        );
    }
    assert_eq!(repo.read("signing.toml"), policy, "the policy is kept");
    let again = repo.sigctl(&["init", "--ci", "github"]);
    assert_eq!(again.code, 0, "{}", again.snapshot());
    assert!(
        again
            .stdout
            .contains("kept .github/workflows/sigctl-verify.yml"),
        "{}",
        again.stdout
    );
    // someone's own workflow of that name is not overwritten
    repo.write(".github/workflows/sigctl-release.yml", "name: ours\n");
    let refused = repo.sigctl(&["init", "--ci", "github"]);
    assert_eq!(refused.code, 2, "{}", refused.snapshot());
    assert_eq!(
        repo.read(".github/workflows/sigctl-release.yml"),
        "name: ours\n"
    );
    let gl = repo.sigctl(&["init", "--ci", "gitlab"]);
    assert_eq!(gl.code, 0, "{}", gl.snapshot());
    assert_eq!(
        repo.read(".gitlab/sigctl.gitlab-ci.yml"),
        std::fs::read_to_string(root.join("gitlab-ci.yml")).expect("template")
    );
    let unknown = repo.sigctl(&["init", "--ci", "jenkins"]);
    assert_eq!(unknown.code, 2, "{}", unknown.snapshot());
}
