//! `enlace policy` as a legal officer uses it: the shipped example checks, a mistake is named
//! with its rule and key, and a decision shows what would be released and withheld.

use std::process::Command;

const BIN: &str = env!("CARGO_BIN_EXE_enlace");
const EXAMPLE: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/../../examples/policies/gt-agency.toml"
);

#[test]
fn check_and_decide_on_the_example_policy() {
    let out = Command::new(BIN)
        .args(["policy", "check", EXAMPLE, "--country", "GT"])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );

    let decide = |extra: &[&str]| {
        let out = Command::new(BIN)
            .args([
                "policy",
                "decide",
                EXAMPLE,
                "--country",
                "GT",
                "--partner",
                "mx-fgr",
            ])
            .args(["--offence", "smuggling_of_migrants", "--json"])
            .args(extra)
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        serde_json::from_slice::<serde_json::Value>(&out.stdout).unwrap()
    };
    let own = decide(&["--nationality", "GT"]);
    assert_eq!(own["release"].as_array().unwrap().len(), 0, "{own}");
    let ordered = decide(&["--nationality", "GT", "--flag", "court_order"]);
    assert!(
        ordered["release"].as_array().unwrap().len() > 5,
        "{ordered}"
    );
    assert_eq!(ordered["retention_days"], 90);
}

#[test]
fn a_mistake_in_a_policy_names_its_rule_and_key() {
    let tmp = tempfile::tempdir().unwrap();
    let file = tmp.path().join("policy.toml");
    std::fs::write(
        &file,
        "[[rules]]\nname = \"partners\"\npartners = [\"*\"]\noffences = [\"*\"]\nrelease = [\"surnames\", \"photo\"]\n",
    )
    .unwrap();
    let out = Command::new(BIN)
        .args(["policy", "check"])
        .arg(&file)
        .args(["--country", "MX"])
        .output()
        .unwrap();
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("rule 1 (\"partners\")")
            && err.contains("`release`")
            && err.contains("\"photo\""),
        "{err}"
    );
}
