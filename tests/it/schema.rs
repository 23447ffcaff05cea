//! Generated files stay in step with the code that generates them.

fn root() -> std::path::PathBuf {
    std::path::PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

#[test]
fn schema_has_not_drifted() {
    let committed =
        std::fs::read_to_string(root().join("schema/signing.schema.json")).unwrap_or_default();
    assert!(
        committed == sigctl::policy::schema::json_schema(),
        "schema/signing.schema.json is stale: run `cargo xtask schema`"
    );
}

#[test]
fn provenance_record_schema_has_not_drifted() {
    let committed =
        std::fs::read_to_string(root().join(sigctl::provenance::SCHEMA_PATH)).unwrap_or_default();
    assert!(
        committed == sigctl::provenance::json_schema(),
        "{} is stale: run `cargo xtask schema`",
        sigctl::provenance::SCHEMA_PATH
    );
}

#[test]
fn code_docs_have_not_drifted() {
    let committed = std::fs::read_to_string(root().join("docs/codes.md")).unwrap_or_default();
    assert!(
        committed == sigctl::docs::codes_markdown(),
        "docs/codes.md is stale: run `cargo xtask docs`"
    );
}

#[test]
fn templates_point_at_the_schema_and_are_embedded() {
    for (name, text) in sigctl::templates::POLICIES {
        assert!(
            text.starts_with("#:schema ../schema/signing.schema.json\n"),
            "{name}"
        );
        let on_disk = std::fs::read_to_string(root().join(format!("templates/{name}.toml")))
            .unwrap_or_default();
        assert_eq!(&on_disk, text, "{name}");
    }
}

#[test]
fn every_source_file_says_what_it_owns() {
    // conventions: each module starts with a `//!` paragraph
    let mut missing = Vec::new();
    let mut stack = vec![
        root().join("src"),
        root().join("xtask/src"),
        root().join("tests/it"),
    ];
    while let Some(dir) = stack.pop() {
        for e in std::fs::read_dir(&dir).into_iter().flatten().flatten() {
            let p = e.path();
            if p.is_dir() {
                stack.push(p);
            } else if p.extension().is_some_and(|x| x == "rs") {
                let text = std::fs::read_to_string(&p).unwrap_or_default();
                if !text.trim_start().starts_with("//!") {
                    missing.push(p.display().to_string());
                }
            }
        }
    }
    assert!(
        missing.is_empty(),
        "files without a //! header: {missing:?}"
    );
}
