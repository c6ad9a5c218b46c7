//! TPC-H and storage micro-workloads on llkv's two SQL routes, defined as in
//! the peer harness (`../shared/bench/peers.py`), so the figures sit beside
//! DuckDB's, DataFusion's and SQLite's (issue 8).
//!
//! ```sh
//! CARGO_TARGET_DIR=$HOME/.cache/llkv-bench-target cargo bench --bench tpch -- \
//!     --data /work/peerbench/data/sf1 --sf 1 --route both --json tpch-sf1.json \
//!     [--peers /work/peerbench/results/peers-sf1-….json]
//! ```
//!
//! `--help` lists the options. Phases: load the 8 Parquet files into a
//! database file (timed per table), run the TPC-H queries on each route (each
//! query in a child process of this program, killed after a hard limit, since
//! llkv cannot interrupt a statement), then the micro-workloads on each route
//! on a copy of the loaded file. Output: text tables like the peers', the
//! compact JSON on stdout, and with `--json` the full results in the shape of
//! a peers results file (`engines`: one summary per route).

mod load;
mod measure;
mod memtable;
mod micro;
mod pyrand;
mod queries;
mod report;

use llkv::Database;
use llkv::native::NativeEngine;
use llkv::provider::DataFusionEngine;
use llkv::sql::Engine;
use measure::Timing;
use serde_json::{Value, json};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

/// The allocator the `llkv` binary uses, so that the figures are the binary's.
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

const HELP: &str = "\
tpch: TPC-H and storage micro-workloads on llkv, as the peer harness runs them

  --data DIR            directory with <table>.parquet for the 8 TPC-H tables (required)
  --sf N                scale factor of --data (Q11 fraction, SF1 row-count check) (required)
  --route R             datafusion | native | both (default both); also memtable |
                        memtable-utf8 (plain DataFusion over MemTables of the Parquet
                        files, as the peers' datafusion-mem; -utf8: llkv's column types),
                        comma-separated routes run in turn (e.g. datafusion,memtable)
  --db FILE             database file to load into (default: <tmp>/llkv-tpch-sf<N>.llkv);
                        an existing file is replaced unless --reuse-db
  --reuse-db            skip the load when --db exists (load figures are then absent)
  --queries SPEC        e.g. 1-22 (default) or 1,6,14
  --queries-file FILE   the peers' tpch_queries.py (default ../shared/bench/tpch_queries.py)
  --warmup N            untimed runs before timing (default 1)
  --reps N              timed runs, median reported (default 5)
  --timeout S           a query or workload slower than this is a timeout (default 60)
  --slow-after S        a warm-up slower than this is the single sample (default 5)
  --no-tpch             skip the queries
  --no-micro            skip the micro-workloads
  --json FILE           write the full results (peers results-file shape)
  --peers FILE          a peers.py results JSON: its engines are shown beside llkv's
                        and their checksums are the reference
  --explain             print each query's EXPLAIN ANALYZE (after the timed runs) to stderr
  --self-check          check the Python-compatible helpers and exit
";

/// Command-line options.
#[derive(Clone, Debug)]
struct Args {
    data: PathBuf,
    sf: f64,
    routes: Vec<String>,
    db: PathBuf,
    reuse_db: bool,
    queries: Vec<u32>,
    queries_file: PathBuf,
    timing: Timing,
    no_tpch: bool,
    no_micro: bool,
    json: Option<PathBuf>,
    peers: Option<PathBuf>,
    worker_query: Option<u32>,
    explain: bool,
}

fn parse_queries(spec: &str) -> Result<Vec<u32>, String> {
    let mut out = Vec::new();
    for part in spec.split(',').filter(|p| !p.is_empty()) {
        let bad = || format!("bad --queries part {part:?}");
        if let Some((lo, hi)) = part.split_once('-') {
            let (lo, hi): (u32, u32) =
                (lo.parse().map_err(|_| bad())?, hi.parse().map_err(|_| bad())?);
            out.extend(lo..=hi);
        } else {
            out.push(part.parse().map_err(|_| bad())?);
        }
    }
    if let Some(q) = out.iter().find(|q| !(1..=22).contains(*q)) {
        return Err(format!("no such TPC-H query: {q}"));
    }
    Ok(out)
}

fn parse_args() -> Result<Option<Args>, String> {
    let mut it = std::env::args().skip(1);
    let mut data = None;
    let mut sf = None;
    let mut route = "both".to_string();
    let mut db = None;
    let mut a = Args {
        data: PathBuf::new(),
        sf: 0.0,
        routes: Vec::new(),
        db: PathBuf::new(),
        reuse_db: false,
        queries: (1..=22).collect(),
        queries_file: Path::new(env!("CARGO_MANIFEST_DIR")).join("../shared/bench/tpch_queries.py"),
        timing: Timing { warmup: 1, reps: 5, timeout_s: 60.0, slow_after_s: 5.0 },
        no_tpch: false,
        no_micro: false,
        json: None,
        peers: None,
        worker_query: None,
        explain: false,
    };
    while let Some(flag) = it.next() {
        let mut val = || it.next().ok_or_else(|| format!("{flag} needs a value"));
        let num = |v: String| v.parse::<f64>().map_err(|_| format!("{flag}: not a number: {v}"));
        match flag.as_str() {
            "--bench" => {} // passed by `cargo bench`
            "--help" | "-h" => {
                print!("{HELP}");
                return Ok(None);
            }
            "--self-check" => {
                pyrand::self_check()?;
                for (v, want) in [(1.0, "0.0001"), (0.1, "0.001"), (10.0, "1e-05")] {
                    let got = queries::python_g10(0.0001 / v);
                    if got != want {
                        return Err(format!("Q11 fraction at SF{v}: {got}, Python gives {want}"));
                    }
                }
                println!("self-check ok: Python random.sample and %.10g reproduced");
                return Ok(None);
            }
            "--data" => data = Some(PathBuf::from(val()?)),
            "--sf" => sf = Some(num(val()?)?),
            "--route" => route = val()?,
            "--db" => db = Some(PathBuf::from(val()?)),
            "--reuse-db" => a.reuse_db = true,
            "--queries" => a.queries = parse_queries(&val()?)?,
            "--queries-file" => a.queries_file = PathBuf::from(val()?),
            "--warmup" => a.timing.warmup = num(val()?)? as usize,
            "--reps" => a.timing.reps = (num(val()?)? as usize).max(1),
            "--timeout" => a.timing.timeout_s = num(val()?)?,
            "--slow-after" => a.timing.slow_after_s = num(val()?)?,
            "--no-tpch" => a.no_tpch = true,
            "--no-micro" => a.no_micro = true,
            "--json" => a.json = Some(PathBuf::from(val()?)),
            "--peers" => a.peers = Some(PathBuf::from(val()?)),
            "--explain" => a.explain = true,
            "--worker-query" => a.worker_query = Some(num(val()?)? as u32),
            other => return Err(format!("unknown option {other} (see --help)")),
        }
    }
    a.data = data.ok_or("--data DIR is required")?;
    a.sf = sf.ok_or("--sf N is required")?;
    a.routes = match route.as_str() {
        "both" => vec!["datafusion".into(), "native".into()],
        list => {
            let routes: Vec<String> = list.split(',').map(str::to_string).collect();
            if let Some(r) = routes.iter().find(|r| {
                !matches!(r.as_str(), "datafusion" | "native") && !memtable::is_memtable_route(r)
            }) {
                return Err(format!("--route: unknown route {r}"));
            }
            routes
        }
    };
    a.db = db.unwrap_or_else(|| std::env::temp_dir().join(format!("llkv-tpch-sf{}.llkv", a.sf)));
    Ok(Some(a))
}

fn open_engine(route: &str, db: Database) -> Result<Box<dyn Engine>, String> {
    Ok(match route {
        "native" => Box::new(NativeEngine::new(db)),
        _ => Box::new(DataFusionEngine::new(db).map_err(|e| e.to_string())?),
    })
}

fn engine_name(route: &str) -> String {
    if memtable::is_memtable_route(route) {
        return format!("datafusion-{route}");
    }
    format!("llkv-{route}")
}

fn remove_db(path: &Path) {
    let _ = std::fs::remove_file(path);
    let mut lock = path.as_os_str().to_owned();
    lock.push(".lock");
    let _ = std::fs::remove_file(PathBuf::from(lock));
}

fn file_size(path: &Path) -> Option<u64> {
    std::fs::metadata(path).ok().map(|m| m.len())
}

/// Child process: one query on one route; prints its record as one JSON line.
fn worker(a: &Args, q: u32) -> Result<(), String> {
    let set = queries::QuerySet::load(&a.queries_file)?;
    let sql = set.query(q, a.sf).ok_or_else(|| format!("no query {q}"))?;
    let route = &a.routes[0];
    let mut eng: Box<dyn Engine> = if memtable::is_memtable_route(route) {
        Box::new(memtable::MemTableEngine::load(route, &a.data)?)
    } else {
        open_engine(route, Database::open(&a.db).map_err(|e| e.to_string())?)?
    };
    let mut rec = measure::measure(a.timing, || {
        Ok(measure::fingerprint(&measure::query(eng.as_mut(), &sql)?))
    });
    rec["peak_rss_bytes"] = json!(measure::peak_rss_bytes());
    if a.explain {
        explain(eng.as_mut(), q, route, &sql);
    }
    println!("{rec}");
    Ok(())
}

/// Prints `EXPLAIN ANALYZE` of query `q` on `route` to stderr.
fn explain(eng: &mut dyn Engine, q: u32, route: &str, sql: &str) {
    let text = match measure::query(eng, &format!("EXPLAIN ANALYZE {sql}")) {
        Ok(batches) => batches
            .iter()
            .flat_map(|b| {
                let col = b.column(b.num_columns().saturating_sub(1));
                match arrow::compute::cast(col, &arrow::datatypes::DataType::Utf8) {
                    Ok(c) => arrow::array::AsArray::as_string::<i32>(&c)
                        .iter()
                        .map(|s| s.unwrap_or("").to_string())
                        .collect::<Vec<_>>(),
                    Err(e) => vec![e.to_string()],
                }
            })
            .collect::<Vec<_>>()
            .join("\n"),
        Err(e) => format!("EXPLAIN ANALYZE failed: {e}"),
    };
    eprintln!("---- Q{q} on {route}: EXPLAIN ANALYZE\n{text}\n----");
}

/// Runs query `q` on `route` in a child process with a hard time limit.
fn run_query_child(a: &Args, route: &str, q: u32) -> Value {
    let exe = match std::env::current_exe() {
        Ok(e) => e,
        Err(e) => return json!({"status": "error", "error": format!("current_exe: {e}")}),
    };
    let t = a.timing;
    let mut cmd = Command::new(exe);
    cmd.args(["--worker-query", &q.to_string(), "--route", route])
        .arg("--db")
        .arg(&a.db)
        .arg("--data")
        .arg(&a.data)
        .args(["--sf", &a.sf.to_string()])
        .arg("--queries-file")
        .arg(&a.queries_file)
        .args(["--warmup", &t.warmup.to_string(), "--reps", &t.reps.to_string()])
        .args(["--timeout", &t.timeout_s.to_string(), "--slow-after", &t.slow_after_s.to_string()])
        .args(a.explain.then_some("--explain"))
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit());
    let mut child = match cmd.spawn() {
        Ok(c) => c,
        Err(e) => return json!({"status": "error", "error": format!("spawn: {e}")}),
    };
    // The first run may take up to the timeout; then a sample is either the
    // single slow warm-up or each of the quick runs.
    let limit = Duration::from_secs_f64(
        t.timeout_s + (t.warmup + t.reps) as f64 * t.slow_after_s * 2.0 + 30.0,
    );
    let t0 = Instant::now();
    loop {
        match child.try_wait() {
            Ok(Some(_)) => break,
            Ok(None) if t0.elapsed() > limit => {
                let _ = child.kill();
                let _ = child.wait();
                return json!({"status": "timeout", "timeout_s": t.timeout_s,
                              "note": format!("killed after {:.0}s", limit.as_secs_f64())});
            }
            Ok(None) => std::thread::sleep(Duration::from_millis(20)),
            Err(e) => return json!({"status": "error", "error": format!("wait: {e}")}),
        }
    }
    let mut out = String::new();
    if let Some(mut s) = child.stdout.take() {
        let _ = std::io::Read::read_to_string(&mut s, &mut out);
    }
    match out.lines().rev().find_map(|l| serde_json::from_str::<Value>(l).ok()) {
        Some(v) => v,
        None => json!({"status": "error", "error": "the query process died (see stderr)"}),
    }
}

fn run(a: &Args) -> Result<(), String> {
    let started = Instant::now();
    let set = queries::QuerySet::load(&a.queries_file)?;
    for t in load::TABLES {
        let p = a.data.join(format!("{t}.parquet"));
        if !p.exists() {
            return Err(format!("missing {}", p.display()));
        }
    }

    // 1. Load (shared by both routes).
    let mut load_rec = json!({"load": {}, "load_total_s": null, "storage_bytes": null});
    let mut load_rss = None;
    if !(a.reuse_db && a.db.exists()) {
        remove_db(&a.db);
        let t0 = Instant::now();
        let db = Database::open(&a.db).map_err(|e| e.to_string())?;
        let mut ddl = NativeEngine::new(db.clone());
        let times = load::load_all(&db, &mut ddl, &a.data)?;
        drop(ddl);
        drop(db);
        for (t, s) in times {
            load_rec["load"][t] = json!(s);
        }
        load_rec["load"]["(post-load)"] = json!(0.0);
        load_rec["load_total_s"] = json!(t0.elapsed().as_secs_f64());
        load_rec["storage_bytes"] = json!(file_size(&a.db));
        load_rss = measure::peak_rss_bytes();
        eprintln!("[load] total {:.2}s", t0.elapsed().as_secs_f64());
    }

    // 2. Each route: queries, then micro-workloads on a copy.
    let mut summaries = Vec::new();
    for route in &a.routes {
        let name = engine_name(route);
        let t0 = Instant::now();
        let (busy0, own0) = (measure::cpu_busy_seconds(), measure::own_cpu_seconds());
        let mut s = load_rec.clone();
        s["engine"] = json!(name);
        s["versions"] = json!({"llkv": env!("CARGO_PKG_VERSION"), "datafusion": "55"});
        s["settings"] = json!({"database": a.db, "route": route, "primary_keys": true,
                               "queries_in_child_process": true});
        s["tpch"] = json!({});
        s["micro"] = json!({});
        let mut rss = load_rss.unwrap_or(0);
        if !a.no_tpch {
            for &q in &a.queries {
                let rec = run_query_child(a, route, q);
                rss = rss.max(rec["peak_rss_bytes"].as_u64().unwrap_or(0));
                eprintln!("[{name}] Q{q}: {}", short(&rec));
                s["tpch"][q.to_string()] = rec;
            }
        }
        if !a.no_micro && !memtable::is_memtable_route(route) {
            let mut copy = a.db.as_os_str().to_owned();
            copy.push(format!(".{route}-micro"));
            let copy = PathBuf::from(copy);
            remove_db(&copy);
            std::fs::copy(&a.db, &copy)
                .map_err(|e| format!("copy for the micro-workloads: {e}"))?;
            // Untimed: written back now, or the first synced commit of a
            // workload would wait for the whole copy to reach the disk.
            std::fs::File::open(&copy)
                .and_then(|f| f.sync_all())
                .map_err(|e| format!("sync of the micro-workloads' copy: {e}"))?;
            let open = |db: Database| open_engine(route, db);
            let r = micro::run(&copy, &a.data, &open, a.timing, |m, rec| {
                eprintln!("[{name}] {m}: {}", short(&rec));
                s["micro"][m] = rec;
            });
            remove_db(&copy);
            r?;
            rss = rss.max(measure::peak_rss_bytes().unwrap_or(0));
        }
        let wall = t0.elapsed().as_secs_f64();
        let own = measure::own_cpu_seconds() - own0;
        let other = ((measure::cpu_busy_seconds() - busy0 - own) / wall).max(0.0);
        s["peak_rss_bytes"] = json!(rss);
        s["wall_s"] = json!(wall);
        s["own_cpu_s"] = json!(own);
        s["other_cpu_cores"] = json!(other);
        s["child_status"] = json!("ok");
        summaries.push(s);
    }

    // 3. Checks and report, with the peers' engines first if given.
    let mut all: Vec<Value> = Vec::new();
    if let Some(p) = &a.peers {
        let text = std::fs::read_to_string(p).map_err(|e| format!("{}: {e}", p.display()))?;
        let v: Value = serde_json::from_str(&text).map_err(|e| format!("{}: {e}", p.display()))?;
        all.extend(v["engines"].as_array().cloned().unwrap_or_default());
    }
    let n_peers = all.len();
    all.extend(summaries);
    let problems = report::check_results(&mut all, a.sf, &set.sf1_rows);
    let queries = if a.no_tpch { Vec::new() } else { a.queries.clone() };
    let micro = if a.no_micro { Vec::new() } else { micro::workloads() };
    report::print(
        &all,
        a.sf,
        &queries,
        &micro,
        "('other procs' = CPU used by other processes, cores)",
    );
    if !problems.is_empty() {
        println!("\nRESULT CHECK PROBLEMS:");
        for p in &problems {
            println!("  {p}");
        }
    }
    report::print_errors(&all);
    let ours: Vec<Value> = all[n_peers..].to_vec();
    let compact = report::compact(&ours, a.sf);
    println!(
        "\nJSON summary (medians in seconds):\n{}",
        serde_json::to_string_pretty(&compact).unwrap_or_default()
    );
    if let Some(path) = &a.json {
        let full = json!({
            "harness": "llkv benches/tpch",
            "wall_s": started.elapsed().as_secs_f64(),
            "host": {"cpus": std::thread::available_parallelism().map(|n| n.get()).unwrap_or(1)},
            "args": {"data": a.data, "sf": a.sf, "routes": a.routes, "db": a.db,
                     "queries": a.queries, "warmup": a.timing.warmup, "reps": a.timing.reps,
                     "timeout": a.timing.timeout_s, "slow_after": a.timing.slow_after_s,
                     "no_tpch": a.no_tpch, "no_micro": a.no_micro},
            "micro_workloads": micro.iter().map(|(k, d)| (k.to_string(), json!(d))).collect::<serde_json::Map<_, _>>(),
            "result_check_problems": problems,
            "engines": ours,
        });
        let text = serde_json::to_string_pretty(&full).map_err(|e| e.to_string())?;
        std::fs::write(path, text).map_err(|e| format!("{}: {e}", path.display()))?;
        println!("\nfull results: {}", path.display());
    }
    Ok(())
}

fn short(rec: &Value) -> String {
    if rec["status"] != "ok" {
        let err: String = rec["error"].as_str().unwrap_or("").chars().take(200).collect();
        let mut s = format!("{} {err}", rec["status"].as_str().unwrap_or("?"));
        if let (Some(ops), Some(us)) = (rec["ops"].as_u64(), rec["us_per_op"].as_f64()) {
            s.push_str(&format!("(partial: {ops} ops, {us:.1} us per op)"));
        }
        return s;
    }
    let mut s = format!("{:.4}s (n={})", rec["median_s"].as_f64().unwrap_or(f64::NAN), rec["n"]);
    if let Some(r) = rec.get("rows") {
        s.push_str(&format!(" rows={r}"));
    }
    if let Some(c) = rec.get("checksum") {
        s.push_str(&format!(" checksum={c}"));
    }
    for f in ["us_per_lookup", "us_per_op"] {
        if let Some(us) = rec[f].as_f64() {
            s.push_str(&format!(" {f}={us:.1}"));
        }
    }
    s
}

fn main() {
    let result = parse_args().and_then(|a| match a {
        None => Ok(()),
        Some(a) => match a.worker_query {
            Some(q) => worker(&a, q),
            None => run(&a),
        },
    });
    if let Err(e) = result {
        eprintln!("tpch: {e}");
        std::process::exit(2);
    }
}
