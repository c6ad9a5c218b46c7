//! Timing and result checks, defined as in the peer harness (`peers.py`):
//! warm-up runs, timed runs and their median; a warm-up slower than
//! `--slow-after` is the single sample; and the result fingerprint (row count
//! and the sum of every numeric cell as a float).

use arrow::array::{Array, ArrayRef, AsArray, RecordBatch};
use arrow::datatypes::{DataType, Decimal128Type, Float32Type, Float64Type};
use arrow::datatypes::{Int8Type, Int16Type, Int32Type, Int64Type};
use arrow::datatypes::{UInt8Type, UInt16Type, UInt32Type, UInt64Type};
use llkv::sql::{Engine, Output};
use serde_json::{Value, json};
use std::time::Instant;

/// How queries and workloads are timed.
#[derive(Clone, Copy, Debug)]
pub struct Timing {
    /// Untimed runs first.
    pub warmup: usize,
    /// Timed runs; the median is reported.
    pub reps: usize,
    /// A run longer than this is reported as a timeout (llkv cannot interrupt
    /// a statement, so the run finishes first).
    pub timeout_s: f64,
    /// A warm-up slower than this is the only sample.
    pub slow_after_s: f64,
}

/// What a query returned, reduced to what the checks need.
pub struct Fingerprint {
    /// Rows returned.
    pub rows: u64,
    /// Sum of every numeric cell (integers, floats, decimals; not booleans,
    /// dates or strings), as `peers.fingerprint` computes it.
    pub checksum: f64,
}

/// The fingerprint of a result.
pub fn fingerprint(batches: &[RecordBatch]) -> Fingerprint {
    let mut rows = 0u64;
    let mut checksum = 0.0f64;
    for b in batches {
        rows += b.num_rows() as u64;
        for c in b.columns() {
            checksum += numeric_sum(c);
        }
    }
    Fingerprint { rows, checksum }
}

fn numeric_sum(a: &ArrayRef) -> f64 {
    macro_rules! sum {
        ($t:ty) => {
            a.as_primitive::<$t>().iter().flatten().map(|v| v as f64).sum()
        };
    }
    match a.data_type() {
        DataType::Int8 => sum!(Int8Type),
        DataType::Int16 => sum!(Int16Type),
        DataType::Int32 => sum!(Int32Type),
        DataType::Int64 => sum!(Int64Type),
        DataType::UInt8 => sum!(UInt8Type),
        DataType::UInt16 => sum!(UInt16Type),
        DataType::UInt32 => sum!(UInt32Type),
        DataType::UInt64 => sum!(UInt64Type),
        DataType::Float32 => a.as_primitive::<Float32Type>().iter().flatten().map(f64::from).sum(),
        DataType::Float64 => sum!(Float64Type),
        DataType::Decimal128(_, scale) => {
            let div = 10f64.powi(i32::from(*scale));
            a.as_primitive::<Decimal128Type>().iter().flatten().map(|v| v as f64 / div).sum()
        }
        _ => 0.0,
    }
}

/// Runs `sql` and returns the rows of its last statement (empty for DML).
pub fn query(engine: &mut dyn Engine, sql: &str) -> Result<Vec<RecordBatch>, String> {
    let out = engine.execute(sql).map_err(|e| e.to_string())?;
    Ok(match out.into_iter().last() {
        Some(Output::Rows { batches, .. }) => batches,
        _ => Vec::new(),
    })
}

/// Runs a statement and returns the rows it changed.
pub fn execute(engine: &mut dyn Engine, sql: &str) -> Result<u64, String> {
    let out = engine.execute(sql).map_err(|e| e.to_string())?;
    Ok(match out.last() {
        Some(Output::Affected(n)) => *n,
        Some(Output::Rows { batches, .. }) => {
            // Some DML plans answer with a one-row count.
            batches
                .first()
                .filter(|b| b.num_columns() > 0 && b.num_rows() > 0)
                .and_then(|b| b.column(0).as_primitive_opt::<UInt64Type>().map(|a| a.value(0)))
                .unwrap_or(0)
        }
        _ => 0,
    })
}

/// Warm-up + timed runs of `f`, which returns a fingerprint. The record has
/// the fields of `peers.Worker.measure`.
pub fn measure(t: Timing, mut f: impl FnMut() -> Result<Fingerprint, String>) -> Value {
    let mut times = Vec::new();
    let mut last = None;
    let mut single = false;
    for i in 0..t.warmup + t.reps {
        let t0 = Instant::now();
        let r = f();
        let elapsed = t0.elapsed().as_secs_f64();
        match r {
            Err(e) => return json!({"status": "error", "error": e}),
            Ok(fp) => last = Some(fp),
        }
        if elapsed >= t.timeout_s {
            return json!({"status": "timeout", "timeout_s": t.timeout_s, "finished_after_s": elapsed});
        }
        if i < t.warmup {
            if elapsed > t.slow_after_s {
                times = vec![elapsed];
                single = true;
                break;
            }
            continue;
        }
        times.push(elapsed);
    }
    let mut rec = json!({
        "status": "ok", "median_s": median(&times), "times_s": times, "n": times.len(),
        "warmup_as_sample": single,
    });
    if let Some(fp) = last {
        rec["rows"] = json!(fp.rows);
        rec["checksum"] = json!(fp.checksum);
    }
    rec
}

/// One timed run of a mutating workload; `f` returns extra fields.
pub fn run_once(t: Timing, f: impl FnOnce() -> Result<Value, String>) -> Value {
    let t0 = Instant::now();
    let r = f();
    let elapsed = t0.elapsed().as_secs_f64();
    match r {
        Err(e) => json!({"status": "error", "error": e}),
        Ok(_) if elapsed >= t.timeout_s => {
            json!({"status": "timeout", "timeout_s": t.timeout_s, "finished_after_s": elapsed})
        }
        Ok(detail) => {
            let mut rec =
                json!({"status": "ok", "median_s": elapsed, "times_s": [elapsed], "n": 1});
            if let (Some(obj), Value::Object(extra)) = (rec.as_object_mut(), detail) {
                obj.extend(extra);
            }
            rec
        }
    }
}

/// The median (mean of the middle two for an even count), as `statistics.median`.
pub fn median(v: &[f64]) -> f64 {
    if v.is_empty() {
        return f64::NAN;
    }
    let mut s = v.to_vec();
    s.sort_by(f64::total_cmp);
    let m = s.len() / 2;
    if s.len() % 2 == 1 { s[m] } else { (s[m - 1] + s[m]) / 2.0 }
}

/// This process's peak resident set size (VmHWM), in bytes.
pub fn peak_rss_bytes() -> Option<u64> {
    let s = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = s.lines().find(|l| l.starts_with("VmHWM:"))?;
    let kb: u64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kb * 1024)
}

/// Machine-wide busy CPU seconds from `/proc/stat` (as `peers.cpu_busy_seconds`,
/// assuming the usual 100 clock ticks per second).
pub fn cpu_busy_seconds() -> f64 {
    let Ok(s) = std::fs::read_to_string("/proc/stat") else { return 0.0 };
    let fields: Vec<f64> = s
        .lines()
        .next()
        .unwrap_or("")
        .split_whitespace()
        .skip(1)
        .filter_map(|x| x.parse().ok())
        .collect();
    if fields.len() < 8 {
        return 0.0;
    }
    let idle = fields[3] + fields[4];
    (fields[..8].iter().sum::<f64>() - idle) / 100.0
}

/// CPU seconds used by this process and its waited-for children.
pub fn own_cpu_seconds() -> f64 {
    let Ok(s) = std::fs::read_to_string("/proc/self/stat") else { return 0.0 };
    // Fields after the ")" that ends the command name; utime is field 14.
    let Some(rest) = s.rsplit_once(')').map(|(_, r)| r) else { return 0.0 };
    let f: Vec<f64> = rest.split_whitespace().filter_map(|x| x.parse().ok()).collect();
    // rest starts at field 3 (state, not numeric, filtered out): utime..cstime
    // are fields 14..17, i.e. indexes 10..14 of the numeric fields.
    if f.len() < 14 {
        return 0.0;
    }
    f[10..14].iter().sum::<f64>() / 100.0
}
