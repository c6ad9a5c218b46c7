//! llkv as a DataFusion catalog: open a database file, register it in a
//! `SessionContext`, create and fill a table, join it with a CSV file and
//! store the aggregate back into llkv.
//!
//! Run with `cargo run --example datafusion`.

use datafusion::prelude::CsvReadOptions;
use llkv_mvcc::Database;
use llkv_provider::LlkvCatalog;

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let dir = tempfile::tempdir()?;
    let db = Database::open(dir.path().join("shop.llkv"))?;

    // llkv becomes the default catalog: unqualified names are llkv tables.
    let ctx = LlkvCatalog::new(db).session_context();

    ctx.sql("CREATE TABLE orders (id INTEGER PRIMARY KEY, customer INTEGER, amount REAL)").await?;
    ctx.sql("INSERT INTO orders VALUES (1, 10, 9.5), (2, 20, 20.0), (3, 10, 5.25)")
        .await?
        .collect()
        .await?;

    // A CSV file next to the llkv tables.
    let csv = dir.path().join("customers.csv");
    std::fs::write(&csv, "id,name\n10,ann\n20,bob\n")?;
    let path = csv.to_str().ok_or("path is not UTF-8")?;
    ctx.register_csv("customers", path, CsvReadOptions::new()).await?;

    // Join across both, and keep the result in a new llkv table.
    ctx.sql(
        "CREATE TABLE totals AS
         SELECT c.name, count(*) AS orders, sum(o.amount) AS total
         FROM orders o JOIN customers c ON o.customer = c.id
         GROUP BY c.name",
    )
    .await?;
    ctx.sql("SELECT * FROM totals ORDER BY total DESC").await?.show().await?;
    Ok(())
}
