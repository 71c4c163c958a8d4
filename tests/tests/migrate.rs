//! `confab migrate`: applies the store's schema without starting the server, on both backends.

use std::process::Command;

use confab_tests::*;

fn migrate(env: &[(&str, &str)]) -> std::process::Output {
    let mut cmd = Command::new(confab_bin());
    cmd.arg("migrate").env("CONFAB_LOG", "warn");
    for (k, v) in env {
        cmd.env(k, v);
    }
    cmd.output().expect("run confab migrate")
}

#[test]
fn migrate_prepares_the_embedded_store_and_exits() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().to_str().unwrap();
    let out = migrate(&[("CONFAB_DATA_DIR", data)]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(String::from_utf8_lossy(&out.stdout).contains("embedded store ready"));
    assert!(
        dir.path().join("confab.redb").exists(),
        "the store file was created"
    );
}

#[test]
fn migrate_applies_the_cql_schema_idempotently() {
    let Ok(contact) = std::env::var("CONFAB_TEST_CQL") else {
        assert!(
            std::env::var("CONFAB_REQUIRE_CQL").as_deref() != Ok("1"),
            "CONFAB_REQUIRE_CQL=1 without CONFAB_TEST_CQL"
        );
        eprintln!("SKIPPED: set CONFAB_TEST_CQL to run against a CQL database");
        return;
    };
    let keyspace = format!("mig_{}_{}", std::process::id(), unique());
    let dir = tempfile::tempdir().unwrap();
    let env = [
        ("CONFAB_DATA_DIR", dir.path().to_str().unwrap()),
        ("CONFAB_STORAGE_BACKEND", "scylla"),
        ("CONFAB_STORAGE_SCYLLA_CONTACT_POINTS", contact.as_str()),
        ("CONFAB_STORAGE_SCYLLA_KEYSPACE", keyspace.as_str()),
        ("CONFAB_STORAGE_SCYLLA_CONSISTENCY", "one"),
    ];
    for run in 0..2 {
        let out = migrate(&env);
        assert!(
            out.status.success(),
            "run {run}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        assert!(
            String::from_utf8_lossy(&out.stdout).contains("scylla schema at version"),
            "run {run}"
        );
    }
}

#[test]
fn migrate_names_unreachable_contact_points() {
    let dir = tempfile::tempdir().unwrap();
    let out = migrate(&[
        ("CONFAB_DATA_DIR", dir.path().to_str().unwrap()),
        ("CONFAB_STORAGE_BACKEND", "scylla"),
        ("CONFAB_STORAGE_SCYLLA_CONTACT_POINTS", "127.0.0.1:1"),
    ]);
    assert!(!out.status.success());
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("127.0.0.1:1"),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}
