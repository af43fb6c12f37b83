//! The throwaway-Postgres harness itself.

use twenty_migrate::local_pg::test_database;

#[tokio::test]
async fn each_test_gets_its_own_empty_database() {
    let a = test_database().await.expect("first database");
    let b = test_database().await.expect("second database");
    assert_ne!(a.name, b.name);

    let ca = a.connect().await.expect("connect a");
    ca.batch_execute("CREATE TABLE only_in_a (x int)")
        .await
        .unwrap();
    let cb = b.connect().await.expect("connect b");
    let row = cb
        .query_one(
            "SELECT count(*) FROM information_schema.tables WHERE table_name = 'only_in_a'",
            &[],
        )
        .await
        .unwrap();
    assert_eq!(row.get::<_, i64>(0), 0, "databases must not share tables");
    let row = cb
        .query_one("SELECT current_database()", &[])
        .await
        .unwrap();
    assert_eq!(row.get::<_, String>(0), b.name);
}
