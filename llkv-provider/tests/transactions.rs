//! BEGIN / COMMIT / ROLLBACK and autocommit on the DataFusion route.

mod common;
use common::*;
use llkv_mvcc::Database;
use llkv_provider::LlkvCatalog;
use llkv_sql::{Engine, ErrorKind};

#[test]
fn rollback_discards_the_transactions_changes() {
    let mut e = engine();
    run(&mut e, "CREATE TABLE t (x INTEGER)");
    run(&mut e, "INSERT INTO t VALUES (1)");
    run(&mut e, "BEGIN");
    run(&mut e, "INSERT INTO t VALUES (2), (3)");
    run(&mut e, "DELETE FROM t WHERE x = 1");
    run(&mut e, "CREATE TABLE u (y INTEGER)");
    assert_eq!(rows(&mut e, "SELECT x FROM t ORDER BY x"), ["2", "3"]);
    run(&mut e, "ROLLBACK");
    assert_eq!(rows(&mut e, "SELECT x FROM t ORDER BY x"), ["1"]);
    assert!(e.execute("SELECT * FROM u").is_err());
}

#[test]
fn commit_keeps_the_transactions_changes() {
    let mut e = engine();
    run(&mut e, "CREATE TABLE t (x INTEGER)");
    run(&mut e, "START TRANSACTION");
    run(&mut e, "INSERT INTO t VALUES (1), (2)");
    run(&mut e, "UPDATE t SET x = x * 10 WHERE x = 2");
    run(&mut e, "COMMIT");
    assert_eq!(rows(&mut e, "SELECT x FROM t ORDER BY x"), ["1", "20"]);
}

#[test]
fn an_error_inside_a_transaction_aborts_it_until_rollback() {
    let mut e = engine();
    run(&mut e, "CREATE TABLE t (x INTEGER PRIMARY KEY)");
    run(&mut e, "BEGIN");
    run(&mut e, "INSERT INTO t VALUES (1)");
    assert!(e.execute("INSERT INTO t VALUES (1)").is_err());
    let err = e.execute("SELECT * FROM t").map(|_| ()).unwrap_err();
    assert_eq!(err.kind, ErrorKind::Transaction, "{err}");
    run(&mut e, "ROLLBACK");
    assert_eq!(rows(&mut e, "SELECT count(*) FROM t"), ["0"]);
}

#[test]
fn commit_without_begin_is_a_transaction_error() {
    let mut e = engine();
    let err = e.execute("COMMIT").map(|_| ()).unwrap_err();
    assert_eq!(err.kind, ErrorKind::Transaction);
}

#[test]
fn invalid_sql_returns_an_error_not_a_panic() {
    let mut e = engine();
    let err = e.execute("SELEC 1 FROM").map(|_| ()).unwrap_err();
    assert_eq!(err.kind, ErrorKind::Parse);
    let err = e.execute("SELECT nope FROM nowhere").map(|_| ()).unwrap_err();
    assert_eq!(err.kind, ErrorKind::Plan);
    run(&mut e, "CREATE TABLE t (x INTEGER)");
    assert!(e.execute("INSERT INTO t VALUES ('not a number')").is_err());
}

#[test]
fn plain_context_statements_autocommit() {
    let db = Database::in_memory();
    let rt = tokio::runtime::Runtime::new().expect("runtime");
    rt.block_on(async {
        let ctx = LlkvCatalog::new(db.clone()).session_context();
        ctx.sql("CREATE TABLE t (x INTEGER)").await?.collect().await?;
        ctx.sql("INSERT INTO t VALUES (1), (2)").await?.collect().await?;
        ctx.sql("DELETE FROM t WHERE x = 1").await?.collect().await?;
        // A second, independent session sees the committed rows.
        let other = LlkvCatalog::new(db).session_context();
        let b = other.sql("SELECT x FROM t").await?.collect().await?;
        assert_eq!(b.iter().map(|b| b.num_rows()).sum::<usize>(), 1);
        Ok::<(), datafusion::error::DataFusionError>(())
    })
    .expect("statements run");
}

#[test]
fn registering_into_an_existing_context_keeps_its_other_tables() {
    let rt = tokio::runtime::Runtime::new().expect("runtime");
    rt.block_on(async {
        let ctx = datafusion::prelude::SessionContext::new();
        ctx.sql("CREATE TABLE mem AS VALUES (1), (2)").await?.collect().await?;
        LlkvCatalog::new(Database::in_memory()).register(&ctx);
        ctx.sql("CREATE TABLE t (x INTEGER)").await?.collect().await?;
        ctx.sql("INSERT INTO t SELECT column1 FROM datafusion.public.mem").await?.collect().await?;
        let b = ctx.sql("SELECT sum(x) FROM t").await?.collect().await?;
        assert_eq!(b[0].num_rows(), 1);
        Ok::<(), datafusion::error::DataFusionError>(())
    })
    .expect("statements run");
}
