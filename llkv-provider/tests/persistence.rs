//! Tables written through DataFusion survive closing and reopening the file.

mod common;
use common::*;
use llkv_mvcc::Database;
use llkv_provider::DataFusionEngine;

#[test]
fn tables_and_rows_survive_reopening_the_database_file() {
    let dir = tempfile::tempdir().expect("temp dir");
    let path = dir.path().join("db.llkv");
    {
        let mut e = DataFusionEngine::new(Database::open(&path).expect("open")).expect("engine");
        run(&mut e, "CREATE TABLE t (id INTEGER PRIMARY KEY, name TEXT DEFAULT 'none')");
        run(&mut e, "INSERT INTO t VALUES (1, 'a'), (2, 'b')");
        run(&mut e, "INSERT INTO t (id) VALUES (3)");
        run(&mut e, "DELETE FROM t WHERE id = 2");
    }
    let mut e = DataFusionEngine::new(Database::open(&path).expect("reopen")).expect("engine");
    assert_eq!(rows(&mut e, "SELECT id, name FROM t ORDER BY id"), ["1|a", "3|none"]);
    run(&mut e, "INSERT INTO t (id) VALUES (4)");
    assert_eq!(rows(&mut e, "SELECT name FROM t WHERE id = 4"), ["none"]);
    assert!(e.execute_err_is_constraint("INSERT INTO t VALUES (1, 'again')"));
}

trait ErrKind {
    fn execute_err_is_constraint(&mut self, sql: &str) -> bool;
}

impl ErrKind for DataFusionEngine {
    fn execute_err_is_constraint(&mut self, sql: &str) -> bool {
        use llkv_sql::Engine;
        matches!(self.execute(sql), Err(e) if e.kind == llkv_sql::ErrorKind::Constraint)
    }
}

#[test]
fn views_survive_reopening_and_drop_view_removes_them() {
    let dir = tempfile::tempdir().expect("temp dir");
    let path = dir.path().join("db.llkv");
    {
        let mut e = DataFusionEngine::new(Database::open(&path).expect("open")).expect("engine");
        run(&mut e, "CREATE TABLE t (x INTEGER)");
        run(&mut e, "INSERT INTO t VALUES (1), (2), (3)");
        run(&mut e, "CREATE VIEW big AS SELECT x FROM t WHERE x > 1");
        assert_eq!(rows(&mut e, "SELECT count(*) FROM big"), ["2"]);
    }
    let mut e = DataFusionEngine::new(Database::open(&path).expect("reopen")).expect("engine");
    assert_eq!(rows(&mut e, "SELECT x FROM big ORDER BY x"), ["2", "3"]);
    run(&mut e, "DROP VIEW big");
    assert!(llkv_sql::Engine::execute(&mut e, "SELECT * FROM big").is_err());
}

#[test]
fn an_external_llkv_file_can_be_attached_as_a_table() {
    let dir = tempfile::tempdir().expect("temp dir");
    let other = dir.path().join("other.llkv");
    let mut e = engine();
    let loc = other.to_str().expect("utf-8 path");
    run(&mut e, &format!("CREATE EXTERNAL TABLE ext (x BIGINT) STORED AS LLKV LOCATION '{loc}'"));
    run(&mut e, "INSERT INTO ext VALUES (1), (2)");
    run(&mut e, "CREATE TABLE mine (x INTEGER)");
    run(&mut e, "INSERT INTO mine SELECT x * 10 FROM ext");
    assert_eq!(rows(&mut e, "SELECT sum(x) FROM mine"), ["30"]);
    drop(e);
    let mut e = DataFusionEngine::new(Database::open(&other).expect("open other")).expect("engine");
    assert_eq!(rows(&mut e, "SELECT x FROM ext ORDER BY x"), ["1", "2"]);
}
