//! Where results go: standard streams whose reader may have gone, and result
//! files that survive a killed run (checked before the work starts, written
//! atomically after it).
//!
//! `reluverify check ... | head -1` must exit with the verdict's code, so
//! [`stdout`] and [`stderr`] drop what a closed pipe cannot take instead of
//! panicking as `println!` does (Rust ignores SIGPIPE, so the write fails
//! with `BrokenPipe`). The verdict was decided before it was printed; a
//! reader that stopped reading does not change it.
//!
//! Harnesses kill verifiers at their time limit and CI runners get
//! cancelled, so a result file must never be seen half written (VNN-COMP
//! penalises a `sat` whose assignment is cut short). [`write_atomic`] writes
//! a temporary file in the destination's folder and renames it over the
//! destination, which POSIX makes atomic within one file system: a reader
//! sees the old file or the whole new one. [`check_writable`] runs before a
//! long search, so that a typo in `--witness` fails in a second instead of
//! losing an hour's verdict.

use std::io::Write;
use std::path::{Path, PathBuf};

use crate::error::{Error, Result};

/// Write `text` to standard output and flush it; a closed or failing stream
/// drops the text (see the module doc).
pub fn stdout(text: &str) {
    let mut out = std::io::stdout().lock();
    let _ = out.write_all(text.as_bytes()).and_then(|()| out.flush());
}

/// Write `text` to standard error; a closed or failing stream drops it.
pub fn stderr(text: &str) {
    let _ = std::io::stderr().lock().write_all(text.as_bytes());
}

/// The temporary sibling of `path` that [`write_atomic`] writes first: the
/// same folder (so the rename stays on one file system), a leading dot and
/// the process id (so two runs writing the same file cannot collide).
fn temporary(path: &Path) -> PathBuf {
    let name = path.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
    path.with_file_name(format!(".{name}.{}.tmp", std::process::id()))
}

/// Write `contents` to `path` atomically: a temporary file in the same
/// folder, flushed to disk, then renamed over `path`. The folder must exist.
pub fn write_atomic(path: &Path, contents: &[u8]) -> Result<()> {
    let tmp = temporary(path);
    let written = std::fs::File::create(&tmp).and_then(|mut f| {
        f.write_all(contents)?;
        f.sync_all()
    });
    if let Err(e) = written.and_then(|()| std::fs::rename(&tmp, path)) {
        let _ = std::fs::remove_file(&tmp);
        return Err(Error::io(path, e));
    }
    Ok(())
}

/// Check that a result file can be written at `path` before any work starts:
/// its folder exists and accepts a new file, and `path` is not a folder. The
/// probe is the same temporary file [`write_atomic`] uses, removed again;
/// an existing file at `path` is left alone.
pub fn check_writable(path: &Path) -> Result<()> {
    if path.is_dir() {
        return Err(Error::new(
            crate::error::ErrorKind::Io,
            "is a folder; give a file name for the result (it is created or replaced)",
        )
        .with_path(path));
    }
    let tmp = temporary(path);
    std::fs::File::create(&tmp).map_err(|e| Error::io(path, e))?;
    let _ = std::fs::remove_file(&tmp);
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::ErrorKind;

    fn dir(name: &str) -> PathBuf {
        let d = std::env::temp_dir().join(format!("reluverify-output-{}-{name}", std::process::id()));
        std::fs::create_dir_all(&d).unwrap();
        d
    }

    #[test]
    fn atomic_write_replaces_the_whole_file_and_leaves_no_temporary() {
        let d = dir("replace");
        let p = d.join("w.json");
        std::fs::write(&p, "old contents, longer than the new ones").unwrap();
        write_atomic(&p, b"new").unwrap();
        assert_eq!(std::fs::read_to_string(&p).unwrap(), "new");
        let names: Vec<_> = std::fs::read_dir(&d).unwrap().map(|e| e.unwrap().file_name()).collect();
        assert_eq!(names.len(), 1, "{names:?}");
    }

    #[test]
    fn unwritable_places_fail_before_the_work() {
        let d = dir("check");
        let missing = d.join("no-such-folder").join("w.json");
        assert_eq!(check_writable(&missing).unwrap_err().kind(), ErrorKind::Io);
        assert_eq!(check_writable(&d).unwrap_err().kind(), ErrorKind::Io);
        assert_eq!(write_atomic(&missing, b"x").unwrap_err().kind(), ErrorKind::Io);
        let fine = d.join("w.json");
        check_writable(&fine).unwrap();
        assert!(!fine.exists(), "the probe must not leave the file behind");
    }
}
