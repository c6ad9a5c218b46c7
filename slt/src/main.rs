//! `llkv-slt`: runs sqllogictest files on llkv's routes and backends.
//!
//! ```text
//! llkv-slt [--engine datafusion|native|both] [--backend memory|file|memory,file]
//!          [--verbose] [--allow-failures] [--differential | --compare-memtable]
//!          [--report out.json]
//!          [--dialect auto|sqlite|duckdb] PATH...
//! ```
//!
//! Prints one line per file and combination, a comparison table when more
//! than one combination ran, and ends with the line `N passed, N failed`.
//! Exits 1 when any record failed (0 with `--allow-failures`), 2 on a usage or
//! I/O error.

use clap::{Parser, ValueEnum};
use llkv_slt::{
    Backend, Combo, Dialect, DialectChoice, FileRun, Route, comparison_table,
    difference_details_labeled, differences, discover, failure_details, file_line, json_report,
    run_file, total_line,
};
use std::io::Write;
use std::path::PathBuf;
use std::process::ExitCode;

/// The allocator the `llkv` binary uses, so that the figures are the binary's.
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
enum EngineArg {
    Datafusion,
    Native,
    Both,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
enum BackendArg {
    Memory,
    File,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
enum DialectArg {
    Auto,
    Sqlite,
    Duckdb,
}

/// Runs sqllogictest files (.test/.slt, directories recursively) on llkv.
#[derive(Debug, Parser)]
#[command(name = "llkv-slt", version)]
struct Args {
    /// The SQL route(s) to run each file on.
    #[arg(long, value_enum, default_value = "both")]
    engine: EngineArg,
    /// The backend(s), comma-separated: memory, file (a fresh temporary file per run).
    #[arg(long, value_enum, value_delimiter = ',', default_value = "memory")]
    backend: Vec<BackendArg>,
    /// Print every failed record: its line, SQL, and the error or expected/actual values.
    #[arg(short, long)]
    verbose: bool,
    /// Exit 0 even when records failed (for corpus surveys).
    #[arg(long)]
    allow_failures: bool,
    /// Run every file on both routes and list the queries whose results differ.
    #[arg(long, conflicts_with = "compare_memtable")]
    differential: bool,
    /// Run every file on the DataFusion route (llkv tables) and on DataFusion
    /// with its own in-memory tables, and list the queries whose results differ.
    #[arg(long)]
    compare_memtable: bool,
    /// Write a JSON report of all runs to this file.
    #[arg(long, value_name = "FILE")]
    report: Option<PathBuf>,
    /// Formatting conventions: auto detects DuckDB files by their `# name: test/` header.
    #[arg(long, value_enum, default_value = "auto")]
    dialect: DialectArg,
    /// Test files or directories.
    #[arg(required = true, value_name = "PATH")]
    paths: Vec<PathBuf>,
}

fn main() -> ExitCode {
    let args = Args::parse();
    let files = match discover(&args.paths) {
        Ok(f) => f,
        Err(e) => {
            eprintln!("Error: {e}");
            return ExitCode::from(2);
        }
    };
    // The two routes compared, first and second.
    let compare = if args.differential {
        Some((Route::DataFusion, Route::Native))
    } else if args.compare_memtable {
        Some((Route::DataFusion, Route::DataFusionMem))
    } else {
        None
    };
    let routes: Vec<Route> = if let Some((a, b)) = compare {
        vec![a, b]
    } else {
        match args.engine {
            EngineArg::Datafusion => vec![Route::DataFusion],
            EngineArg::Native => vec![Route::Native],
            EngineArg::Both => Route::ALL.to_vec(),
        }
    };
    let mut backends: Vec<Backend> = args
        .backend
        .iter()
        .map(|b| match b {
            BackendArg::Memory => Backend::Memory,
            BackendArg::File => Backend::File,
        })
        .collect();
    backends.dedup();
    let combos: Vec<Combo> = backends
        .iter()
        .flat_map(|&backend| routes.iter().map(move |&route| Combo { route, backend }))
        .collect();
    let dialect = match args.dialect {
        DialectArg::Auto => DialectChoice::Auto,
        DialectArg::Sqlite => DialectChoice::Fixed(Dialect::Sqlite),
        DialectArg::Duckdb => DialectChoice::Fixed(Dialect::DuckDb),
    };

    let mut runs: Vec<FileRun> = Vec::new();
    let mut diffs = Vec::new();
    let stdout = std::io::stdout();
    for file in &files {
        let mut these = Vec::new();
        for &combo in &combos {
            let run = run_file(file, combo, dialect, compare.is_some());
            let mut out = stdout.lock();
            let _ = writeln!(out, "{}", file_line(&run));
            if args.verbose {
                let _ = write!(out, "{}", failure_details(&run));
            }
            these.push(run);
        }
        if let Some((first, second)) = compare {
            for &backend in &backends {
                let find = |route| {
                    these.iter().find(|r| r.combo == Combo { route, backend }).map(|r| &r.outcome)
                };
                if let (Some(a), Some(b)) = (find(first), find(second)) {
                    let d = differences(&a.results, &b.results);
                    if !d.is_empty() {
                        let labels = (first.name(), second.name());
                        let _ = write!(
                            stdout.lock(),
                            "{}",
                            difference_details_labeled(file, &d, labels)
                        );
                        diffs.push((file.clone(), d));
                    }
                }
            }
        }
        // Keep memory bounded on big corpora: results are needed only above.
        for r in &mut these {
            r.outcome.results = Vec::new();
        }
        runs.extend(these);
    }
    if combos.len() > 1 && !runs.is_empty() {
        print!("\n{}", comparison_table(&runs, &combos));
    }
    if let Some((a, b)) = compare {
        let n: usize = diffs.iter().map(|(_, d)| d.len()).sum();
        println!("{n} queries differ between {a} and {b}");
    }
    if let Some(path) = &args.report {
        let report = json_report(&runs, &diffs, 50);
        let text = serde_json::to_string_pretty(&report).unwrap_or_default();
        if let Err(e) = std::fs::write(path, text) {
            eprintln!("Error: cannot write {}: {e}", path.display());
            println!("{}", total_line(&runs));
            return ExitCode::from(2);
        }
    }
    println!("{}", total_line(&runs));
    let failed = runs.iter().any(|r| r.outcome.failed > 0);
    if failed && !args.allow_failures { ExitCode::FAILURE } else { ExitCode::SUCCESS }
}
