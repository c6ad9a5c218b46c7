//! Damaged files: flipped bytes, truncation, and the zero-copy promise.

use arrow::array::{Array, AsArray, Int64Array, RecordBatch};
use arrow::datatypes::{DataType, Int64Type};
use llkv_store::{ColumnMeta, Error, ScanRequest, Store, StoreOptions, TableMeta};
use std::path::Path;
use std::sync::Arc;

fn make_db(path: &Path, rows: i64) {
    let store = Store::open(path, StoreOptions::default()).unwrap();
    let mut w = store.begin_write().unwrap();
    let meta = TableMeta::new("t", vec![ColumnMeta::new("v", DataType::Int64, true)]);
    let id = w.create_table(meta.clone()).unwrap();
    let batch =
        RecordBatch::try_new(meta.schema(), vec![Arc::new(Int64Array::from_iter_values(0..rows))])
            .unwrap();
    w.append(id, &batch).unwrap();
    w.commit().unwrap();
}

fn scan_sum(store: &Store) -> Result<i64, Error> {
    let v = store.current();
    let t = v.table_by_name("t").expect("table t");
    let batches = store.scan(t, &ScanRequest::all())?;
    Ok(batches
        .iter()
        .map(|b| b.column(0).as_primitive::<Int64Type>().values().iter().sum::<i64>())
        .sum())
}

fn find_last(hay: &[u8], needle: &[u8]) -> usize {
    hay.windows(needle.len()).rposition(|w| w == needle).expect("record present")
}

#[test]
fn a_flipped_byte_in_a_chunk_is_reported_on_read() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("db.llkv");
    make_db(&path, 1000);
    let mut bytes = std::fs::read(&path).unwrap();
    let at = find_last(&bytes, b"LKCK") + 200;
    bytes[at] ^= 0x01;
    std::fs::write(&path, &bytes).unwrap();
    let store = Store::open(&path, StoreOptions::default()).unwrap();
    let err = scan_sum(&store).unwrap_err();
    assert!(matches!(err, Error::Corrupt(_)), "{err}");
    assert!(err.to_string().contains("checksum"), "{err}");
}

#[test]
fn a_flipped_byte_in_the_commit_record_is_reported_at_open() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("db.llkv");
    make_db(&path, 10);
    let mut bytes = std::fs::read(&path).unwrap();
    let at = find_last(&bytes, b"LKCM") + 30;
    bytes[at] ^= 0x10;
    std::fs::write(&path, &bytes).unwrap();
    let err = Store::open(&path, StoreOptions::default()).unwrap_err();
    assert!(matches!(err, Error::Corrupt(_)), "{err}");
    assert!(err.to_string().contains("commit"), "{err}");
}

#[test]
fn a_truncated_tail_opens_at_the_last_complete_commit_and_says_so() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("db.llkv");
    make_db(&path, 100);
    let committed_len = std::fs::metadata(&path).unwrap().len();
    {
        let store = Store::open(&path, StoreOptions::default()).unwrap();
        let mut w = store.begin_write().unwrap();
        let id = w.version().table_by_name("t").unwrap().id;
        let meta = w.version().table(id).unwrap().meta.schema();
        let batch =
            RecordBatch::try_new(meta, vec![Arc::new(Int64Array::from_iter_values(0..1000))])
                .unwrap();
        w.append(id, &batch).unwrap();
        w.commit().unwrap();
    }
    let full = std::fs::metadata(&path).unwrap().len();
    // Cut into the second commit's records, as a crash mid-write would.
    let file = std::fs::OpenOptions::new().write(true).open(&path).unwrap();
    file.set_len(committed_len + (full - committed_len) / 2).unwrap();
    drop(file);
    let store = Store::open(&path, StoreOptions::default()).unwrap();
    assert_eq!(scan_sum(&store).unwrap(), (0..100).sum::<i64>());
    assert!(
        store.recovery_notes().iter().any(|n| n.contains("trimmed")),
        "{:?}",
        store.recovery_notes()
    );
}

#[test]
fn a_file_cut_inside_the_header_is_reported_as_truncated() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("db.llkv");
    make_db(&path, 10);
    let file = std::fs::OpenOptions::new().write(true).open(&path).unwrap();
    file.set_len(4).unwrap();
    drop(file);
    let err = Store::open(&path, StoreOptions::default()).unwrap_err();
    assert!(err.to_string().contains("truncated"), "{err}");
}

#[test]
fn a_clean_reopen_reports_no_recovery() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("db.llkv");
    make_db(&path, 10);
    let store = Store::open(&path, StoreOptions::default()).unwrap();
    assert!(store.recovery_notes().is_empty(), "{:?}", store.recovery_notes());
}

/// The address ranges of this process's mappings of `path`, from /proc/self/maps.
fn mappings_of(path: &Path) -> Vec<(usize, usize)> {
    let canon = std::fs::canonicalize(path).unwrap();
    let maps = std::fs::read_to_string("/proc/self/maps").unwrap();
    maps.lines()
        .filter(|l| l.ends_with(canon.to_str().unwrap()))
        .filter_map(|l| {
            let range = l.split_whitespace().next()?;
            let (a, b) = range.split_once('-')?;
            Some((usize::from_str_radix(a, 16).ok()?, usize::from_str_radix(b, 16).ok()?))
        })
        .collect()
}

/// Scans `t` and checks that every value buffer lies inside a mapping of `path`.
fn assert_scan_is_zero_copy(store: &Store, path: &Path) {
    let v = store.current();
    let batches = store.scan(v.table_by_name("t").unwrap(), &ScanRequest::all()).unwrap();
    let maps = mappings_of(path);
    assert!(!maps.is_empty(), "the database file is not mapped");
    for b in &batches {
        let values = b.column(0).as_primitive::<Int64Type>().values();
        let ptr = values.inner().as_ptr() as usize;
        assert!(
            maps.iter().any(|&(lo, hi)| ptr >= lo && ptr + values.len() * 8 <= hi),
            "buffer at {ptr:#x} was copied"
        );
        assert_eq!(ptr % 64, 0, "buffer is not 64-byte aligned");
        assert_eq!(b.column(0).null_count(), 0);
    }
}

#[test]
fn scanned_fixed_width_buffers_point_into_the_mapped_file() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("db.llkv");
    make_db(&path, 100_000);
    // Right after open, reads go through llkv's own map of the file.
    let store = Store::open(&path, StoreOptions::default()).unwrap();
    assert_scan_is_zero_copy(&store, &path);
    // After a write, through simd-r-drive's map.
    let mut w = store.begin_write().unwrap();
    w.set_property("x", Some("1".into()));
    w.commit().unwrap();
    assert_scan_is_zero_copy(&store, &path);
}

#[test]
fn a_tail_torn_at_any_offset_recovers_to_one_of_the_two_commits() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("db.llkv");
    make_db(&path, 100);
    let first_len = std::fs::metadata(&path).unwrap().len();
    {
        let store = Store::open(&path, StoreOptions::default()).unwrap();
        let mut w = store.begin_write().unwrap();
        let id = w.version().table_by_name("t").unwrap().id;
        let schema = w.version().table(id).unwrap().meta.schema();
        let batch =
            RecordBatch::try_new(schema, vec![Arc::new(Int64Array::from_iter_values(100..300))])
                .unwrap();
        w.append(id, &batch).unwrap();
        w.delete(id, &[0, 1]).unwrap();
        w.commit().unwrap();
    }
    let full = std::fs::read(&path).unwrap();
    let (one, two) = ((0..100).sum::<i64>(), (2..300).sum::<i64>());
    let torn = dir.path().join("torn.llkv");
    let mut cut = first_len;
    while cut <= full.len() as u64 {
        std::fs::write(&torn, &full[..cut as usize]).unwrap();
        let store = Store::open(&torn, StoreOptions::default()).unwrap();
        let sum = scan_sum(&store).unwrap();
        let want = if cut == full.len() as u64 { two } else { one };
        assert_eq!(sum, want, "cut at {cut} of {}", full.len());
        drop(store);
        cut += 13;
        if cut > full.len() as u64 && cut < full.len() as u64 + 13 {
            cut = full.len() as u64;
        }
    }
}

#[test]
fn a_damaged_segment_record_is_reported_by_name_when_first_read() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("db.llkv");
    let opts = StoreOptions { chunk_rows: 1_000, ..StoreOptions::default() };
    {
        let store = Store::open(&path, opts).unwrap();
        let mut w = store.begin_write().unwrap();
        let meta = TableMeta::new("t", vec![ColumnMeta::new("v", DataType::Int64, true)]);
        let id = w.create_table(meta.clone()).unwrap();
        let values = Int64Array::from_iter_values(0..3_000);
        w.append(id, &RecordBatch::try_new(meta.schema(), vec![Arc::new(values)]).unwrap())
            .unwrap();
        w.commit().unwrap();
    }
    // The last segment record written is the third segment's (rows 2000..3000).
    let mut bytes = std::fs::read(&path).unwrap();
    let at = find_last(&bytes, b"LKSG") + 30;
    bytes[at] ^= 0x04;
    std::fs::write(&path, &bytes).unwrap();

    // Open reads no segment record, so it succeeds.
    let store = Store::open(&path, opts).unwrap();
    let v = store.current();
    let t = v.table_by_name("t").unwrap();
    assert_eq!(t.live_rows(), 3_000);
    // Rows of intact segments are readable.
    let row = store.read_rows(t, &[10, 1_500], &[0]).unwrap();
    assert_eq!(row.column(0).as_primitive::<Int64Type>().values().to_vec(), vec![10, 1_500]);
    // Planning figures degrade to bounds instead of failing.
    let summary = ScanRequest::all().summarize(t, 0..t.segment_count());
    assert!(!summary.rows.exact);
    assert!(summary.columns[0].min.is_none() && !summary.columns[0].bounds_exact);
    // The damaged one is reported, by name, as damage, on every use.
    for _ in 0..2 {
        let err = scan_sum(&store).unwrap_err();
        assert!(matches!(err, Error::Corrupt(_)), "{err}");
        let msg = err.to_string();
        assert!(msg.contains("segment") && msg.contains("table t"), "{msg}");
        assert!(msg.contains("checksum"), "{msg}");
    }
    let err = store.read_rows(t, &[2_500], &[0]).unwrap_err();
    assert!(matches!(err, Error::Corrupt(_)), "{err}");
    // A write that does not touch the damaged segment still commits.
    let mut w = store.begin_write().unwrap();
    w.set_property("x", Some("1".into()));
    w.commit().unwrap();
}

#[test]
fn a_damaged_segment_list_is_reported_by_name_at_first_use_not_at_open() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("db.llkv");
    make_db(&path, 1000);
    let mut bytes = std::fs::read(&path).unwrap();
    let at = find_last(&bytes, b"LKSL") + 40;
    bytes[at] ^= 0x02;
    std::fs::write(&path, &bytes).unwrap();

    // Open reads no segment list, so it succeeds; the manifest's figures are at hand.
    let store = Store::open(&path, StoreOptions::default()).unwrap();
    let v = store.current();
    let t = v.table_by_name("t").unwrap();
    assert_eq!(t.live_rows(), 1000);
    assert_eq!(t.segment_count(), 1);
    // Every use of the segments reports the damage, by name, never data.
    for _ in 0..2 {
        let err = scan_sum(&store).unwrap_err();
        assert!(matches!(err, Error::Corrupt(_)), "{err}");
        let msg = err.to_string();
        assert!(msg.contains("segment list") && msg.contains("table t"), "{msg}");
        assert!(msg.contains("checksum"), "{msg}");
    }
    let err = store.read_rows(t, &[5], &[0]).unwrap_err();
    assert!(matches!(err, Error::Corrupt(_)), "{err}");
    assert!(matches!(t.segments(), Err(Error::Corrupt(_))));
    // Planning figures degrade to bounds instead of failing.
    let summary = ScanRequest::all().summarize(t, 0..t.segment_count());
    assert!(!summary.rows.exact);
    assert!(summary.columns[0].min.is_none() && !summary.columns[0].bounds_exact);
    // Writing to the damaged table fails without writing; other writes commit.
    let mut w = store.begin_write().unwrap();
    let batch =
        RecordBatch::try_new(t.meta.schema(), vec![Arc::new(Int64Array::from(vec![7]))]).unwrap();
    assert!(matches!(w.append(t.id, &batch), Err(Error::Corrupt(_))));
    drop(w);
    let mut w = store.begin_write().unwrap();
    w.set_property("x", Some("1".into()));
    w.commit().unwrap();
    drop(store);
    let store = Store::open(&path, StoreOptions::default()).unwrap();
    assert_eq!(store.current().properties().get("x").map(String::as_str), Some("1"));
    assert!(matches!(scan_sum(&store), Err(Error::Corrupt(_))));
}

#[test]
fn a_flipped_byte_in_a_table_manifest_is_reported_at_open() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("db.llkv");
    make_db(&path, 10);
    let mut bytes = std::fs::read(&path).unwrap();
    let at = find_last(&bytes, b"LKTM") + 30;
    bytes[at] ^= 0x08;
    std::fs::write(&path, &bytes).unwrap();
    let err = Store::open(&path, StoreOptions::default()).unwrap_err();
    assert!(matches!(err, Error::Corrupt(_)), "{err}");
    assert!(err.to_string().contains("table manifest"), "{err}");
}

#[test]
fn a_file_of_an_older_format_version_is_refused_with_a_clear_error() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("db.llkv");
    make_db(&path, 10);
    let mut bytes = std::fs::read(&path).unwrap();
    // The header payload is at offset 0: magic (8), then the format version.
    assert_eq!(&bytes[..6], b"LLKVDB");
    bytes[8..12].copy_from_slice(&1u32.to_le_bytes());
    std::fs::write(&path, &bytes).unwrap();
    let err = Store::open(&path, StoreOptions::default()).unwrap_err();
    assert!(
        matches!(err, Error::UnsupportedVersion { found: 1, expected } if expected == llkv_store::FORMAT_VERSION),
        "{err}"
    );
    let msg = err.to_string();
    assert!(msg.contains("version 1") && msg.contains("format"), "{msg}");
    // Refused untouched.
    assert_eq!(std::fs::read(&path).unwrap(), bytes);
}

#[test]
fn a_damaged_page_of_a_segment_list_fails_only_the_reads_that_need_it() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("db.llkv");
    let opts = StoreOptions { chunk_rows: 10, ..StoreOptions::default() };
    {
        let store = Store::open(&path, opts).unwrap();
        let mut w = store.begin_write().unwrap();
        let meta = TableMeta::new("t", vec![ColumnMeta::new("v", DataType::Int64, true)]);
        let id = w.create_table(meta.clone()).unwrap();
        let values = Int64Array::from_iter_values(0..2_000);
        w.append(id, &RecordBatch::try_new(meta.schema(), vec![Arc::new(values)]).unwrap())
            .unwrap();
        w.commit().unwrap();
    }
    // 200 segments: pages of 64 segments (56 bytes each) after the sealed header.
    let mut bytes = std::fs::read(&path).unwrap();
    let at = find_last(&bytes, b"LKSL");
    let head_len = u64::from_le_bytes(bytes[at + 8..at + 16].try_into().unwrap()) as usize;
    let pages_at = at + 24 + head_len;
    bytes[pages_at + 9] ^= 0x01; // the first segment's first row id, page 0
    std::fs::write(&path, &bytes).unwrap();

    let store = Store::open(&path, opts).unwrap();
    let v = store.current();
    let t = v.table_by_name("t").unwrap();
    assert_eq!(t.segment_count(), 200);
    // A row in another page reads fine: only its page is checked.
    let row = store.read_rows(t, &[1_500], &[0]).unwrap();
    assert_eq!(row.column(0).as_primitive::<Int64Type>().value(0), 1_500);
    for _ in 0..2 {
        let err = store.read_rows(t, &[5], &[0]).unwrap_err();
        assert!(matches!(err, Error::Corrupt(_)), "{err}");
        let msg = err.to_string();
        assert!(msg.contains("segment list") && msg.contains("page 0"), "{msg}");
        let err = scan_sum(&store).unwrap_err();
        assert!(matches!(err, Error::Corrupt(_)), "{err}");
    }
}
