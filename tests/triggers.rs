//! Triggers are one catalog property for both routes: a trigger created on one
//! route is stored in the database file and fires on the other after reopening.

use arrow::util::display::{ArrayFormatter, FormatOptions};
use llkv::Database;
use llkv::native::NativeEngine;
use llkv::provider::DataFusionEngine;
use llkv::sql::{Engine, Output};

type Make = fn(Database) -> Box<dyn Engine>;

fn native(db: Database) -> Box<dyn Engine> {
    Box::new(NativeEngine::new(db))
}

fn datafusion(db: Database) -> Box<dyn Engine> {
    Box::new(DataFusionEngine::new(db).expect("DataFusion engine starts"))
}

fn ok(e: &mut Box<dyn Engine>, sql: &str) {
    if let Err(err) = e.execute(sql) {
        panic!("{sql}: {err:?}");
    }
}

/// The first column of a query's rows, as text.
fn column(e: &mut Box<dyn Engine>, sql: &str) -> Vec<String> {
    let out = e.execute(sql).unwrap_or_else(|err| panic!("{sql}: {err:?}"));
    let Some(Output::Rows { batches, .. }) = out.into_iter().last() else {
        panic!("{sql}: no rows")
    };
    let opts = FormatOptions::default().with_null("NULL");
    let mut v = Vec::new();
    for b in &batches {
        let f = ArrayFormatter::try_new(b.column(0).as_ref(), &opts).expect("formatter");
        v.extend((0..b.num_rows()).map(|i| f.value(i).to_string()));
    }
    v
}

fn survives_reopening(create: Make, fire: Make) {
    let dir = tempfile::tempdir().expect("temp dir");
    let path = dir.path().join("db.llkv");
    {
        let mut e = create(Database::open(&path).expect("open"));
        ok(&mut e, "CREATE TABLE t (a INTEGER, b TEXT)");
        ok(&mut e, "CREATE TABLE log (what TEXT)");
        ok(
            &mut e,
            "CREATE TRIGGER t_ai AFTER INSERT ON t WHEN NEW.a > 1 \
             BEGIN INSERT INTO log VALUES ('ins ' || NEW.b); END",
        );
        ok(
            &mut e,
            "CREATE TRIGGER t_bu BEFORE UPDATE OF b ON t \
             BEGIN INSERT INTO log VALUES (OLD.b || '>' || NEW.b); END",
        );
        ok(
            &mut e,
            "CREATE TRIGGER t_ad AFTER DELETE ON t BEGIN INSERT INTO log VALUES ('del ' || OLD.a); END",
        );
        ok(&mut e, "DROP TRIGGER t_ad");
    }
    let mut e = fire(Database::open(&path).expect("reopen"));
    ok(&mut e, "INSERT INTO t VALUES (1, 'x'), (2, 'y')");
    ok(&mut e, "UPDATE t SET b = 'z' WHERE a = 2");
    ok(&mut e, "UPDATE t SET a = 5 WHERE a = 1");
    ok(&mut e, "DELETE FROM t");
    assert_eq!(column(&mut e, "SELECT what FROM log ORDER BY what"), ["ins y", "y>z"]);
}

#[test]
fn triggers_created_on_the_native_route_fire_on_the_datafusion_route() {
    survives_reopening(native, datafusion);
}

#[test]
fn triggers_created_on_the_datafusion_route_fire_on_the_native_route() {
    survives_reopening(datafusion, native);
}

#[test]
fn triggers_created_on_the_datafusion_route_fire_there_after_reopening() {
    survives_reopening(datafusion, datafusion);
}
