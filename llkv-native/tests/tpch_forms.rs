//! The SQL forms TPC-H uses run on the native route: DATE literals,
//! constant `date ± INTERVAL`, EXTRACT, SUBSTRING … FROM … FOR, DECIMAL and
//! DATE columns, and exact decimal literal arithmetic (Q6's discount range).

use llkv_native::NativeEngine;
use llkv_sql::{Engine, Output};

fn rows(e: &mut NativeEngine, sql: &str) -> Vec<String> {
    let out = e.execute(sql).unwrap();
    let Some(Output::Rows { batches, .. }) = out.last() else { panic!("no rows for {sql}") };
    let text = arrow::util::pretty::pretty_format_batches(batches).unwrap().to_string();
    text.lines().skip(3).filter(|l| !l.starts_with('+')).map(|l| l.replace(' ', "")).collect()
}

#[test]
fn tpch_date_and_decimal_forms() {
    let mut e = NativeEngine::new(llkv_mvcc::Database::in_memory());
    e.execute(
        "CREATE TABLE li(k INTEGER, price DECIMAL(15,2), disc DECIMAL(15,2), ship DATE, mode VARCHAR(10))",
    )
    .unwrap();
    e.execute(
        "INSERT INTO li VALUES (1, 901.00, 0.05, '1994-03-01', 'MAIL'), \
         (2, 1804.50, 0.07, '1994-12-31', 'SHIP'), (3, 10.00, 0.07, '1995-01-01', 'AIR')",
    )
    .unwrap();
    assert_eq!(
        rows(
            &mut e,
            "SELECT k FROM li WHERE ship >= date '1994-01-01' \
             AND ship < date '1994-01-01' + interval '1' year \
             AND disc BETWEEN 0.06 - 0.01 AND 0.06 + 0.01 ORDER BY k"
        ),
        vec!["|1|", "|2|"]
    );
    assert_eq!(
        rows(&mut e, "SELECT date '1998-12-01' - interval '90' day (3)"),
        vec!["|1998-09-02|"]
    );
    assert_eq!(
        rows(
            &mut e,
            "SELECT extract(year from ship), extract(month from ship), \
             substring(mode from 1 for 2) FROM li WHERE k = 2"
        ),
        vec!["|1994|12|SH|"]
    );
    assert_eq!(
        rows(&mut e, "SELECT sum(price * (1 - disc)) FROM li WHERE k < 3"),
        vec![format!("|{}|", 901.0 * (1.0 - 0.05) + 1804.5 * (1.0 - 0.07))]
    );
    assert!(e.execute("SELECT date '1995-02-30'").is_err());
}
