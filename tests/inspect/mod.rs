//! `inspect` against real databases: refusals first, then generated workspaces.

mod generated;

use std::process::Command;

use twenty_migrate::local_pg::test_database;

/// Runs the real binary; returns (exit code, stdout, stderr).
pub fn run_cli(args: &[&str]) -> (i32, String, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_twenty-migrate"))
        .args(args)
        .env_remove("TWENTY_SOURCE_URL")
        .env_remove("TWENTY_API_KEY")
        .output()
        .expect("run twenty-migrate");
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[tokio::test]
async fn inspect_of_a_database_without_twenty_says_so_in_one_sentence_and_exits_2() {
    let db = test_database().await.unwrap();
    let (code, stdout, stderr) = run_cli(&["inspect", "--source", &db.url]);
    assert_eq!(code, 2, "stdout: {stdout}\nstderr: {stderr}");
    assert!(stdout.is_empty());
    assert!(stderr.contains("has no Twenty schema"), "{stderr}");
    assert_eq!(stderr.trim().lines().count(), 1, "one sentence: {stderr}");
}

#[tokio::test]
async fn inspect_of_an_unreachable_server_exits_3_without_echoing_the_password() {
    let (code, _, stderr) = run_cli(&[
        "inspect",
        "--source",
        "postgres://someone:hunter2secret@127.0.0.1:1/twenty",
    ]);
    assert_eq!(code, 3);
    assert!(stderr.contains("cannot connect to the source database 127.0.0.1:1/twenty"));
    assert!(!stderr.contains("hunter2secret"), "{stderr}");
}

#[tokio::test]
async fn inspect_never_writes_to_the_source() {
    // The session is read-only: a write through the same path must be refused by Postgres.
    let db = test_database().await.unwrap();
    let source = twenty_migrate::source::Source::connect(&db.url)
        .await
        .unwrap();
    let err = source
        .client()
        .batch_execute("CREATE TABLE should_fail (x int)")
        .await
        .unwrap_err();
    assert!(
        err.as_db_error()
            .is_some_and(|e| e.message().contains("read-only transaction")),
        "{err}"
    );
}

#[test]
fn the_compose_sample_script_uses_the_schema_name_twenty_derives_from_its_workspace_id() {
    let script = include_str!("../../sql/docker/init-sample.sh");
    let value = |name: &str| {
        script
            .lines()
            .find_map(|l| l.strip_prefix(&format!("{name}=")))
            .unwrap_or_else(|| panic!("{name} set in the script"))
            .to_owned()
    };
    let id: uuid::Uuid = value("WS_ID").parse().unwrap();
    assert_eq!(
        value("SCHEMA"),
        twenty_migrate::model::workspace_schema_name(id)
    );
}
