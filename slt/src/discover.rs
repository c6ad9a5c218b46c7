//! Finds the test files under the paths given on the command line.

use std::io;
use std::path::{Path, PathBuf};

/// Whether `path` names a test file (`.test` or `.slt`).
pub fn is_test_file(path: &Path) -> bool {
    matches!(path.extension().and_then(|e| e.to_str()), Some("test" | "slt"))
}

/// The test files of `paths`: files as given, directories searched
/// recursively for `.test`/`.slt` files; each directory's files sorted.
///
/// # Errors
/// When a path does not exist or a directory cannot be read.
pub fn discover(paths: &[PathBuf]) -> io::Result<Vec<PathBuf>> {
    let mut out = Vec::new();
    for p in paths {
        let meta = std::fs::metadata(p)
            .map_err(|e| io::Error::new(e.kind(), format!("{}: {e}", p.display())))?;
        if meta.is_dir() {
            let mut found = Vec::new();
            walk(p, &mut found)?;
            found.sort();
            out.extend(found);
        } else {
            out.push(p.clone());
        }
    }
    Ok(out)
}

fn walk(dir: &Path, out: &mut Vec<PathBuf>) -> io::Result<()> {
    for entry in std::fs::read_dir(dir)? {
        let path = entry?.path();
        if path.is_dir() {
            walk(&path, out)?;
        } else if is_test_file(&path) {
            out.push(path);
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn directories_are_searched_recursively_and_sorted() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir(dir.path().join("b")).unwrap();
        std::fs::write(dir.path().join("b/z.slt"), "").unwrap();
        std::fs::write(dir.path().join("a.test"), "").unwrap();
        std::fs::write(dir.path().join("notes.txt"), "").unwrap();
        let files = discover(&[dir.path().to_path_buf()]).unwrap();
        let names: Vec<_> = files.iter().map(|f| f.strip_prefix(dir.path()).unwrap()).collect();
        assert_eq!(names, vec![Path::new("a.test"), Path::new("b/z.slt")]);
        assert!(discover(&[dir.path().join("missing")]).is_err());
    }
}
