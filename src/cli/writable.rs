//! Checks, made before a long job starts, that what it will write can be
//! written. A campaign of hours should not learn at its first failure that
//! its corpus is a file, nor after its last seed that its report's folder is
//! missing: by then the repro file or the report is lost.
//!
//! Both checks leave nothing behind: a folder that does not exist yet is
//! made only when the first repro file is saved, as before.

use super::CliError;
use std::fs::OpenOptions;
use std::io;
use std::path::Path;

/// `dir` is a directory that takes new files, or can be made into one: its
/// nearest existing ancestor is a directory that takes new files.
pub fn check_dir(dir: &Path, what: &str) -> Result<(), CliError> {
    let refuse =
        |e: io::Error| CliError::bad_input(format!("{}: cannot {what} there: {e}", dir.display()));
    // A relative path's last ancestor is the empty path: the working folder.
    let existing = dir
        .ancestors()
        .map(or_here)
        .find(|p| p.exists())
        .unwrap_or(Path::new("."));
    if !existing.is_dir() {
        let not_dir = io::Error::other(format!("{} is not a directory", existing.display()));
        return Err(refuse(not_dir));
    }
    probe(existing).map_err(refuse)
}

/// `file` can be written at the end: it is not a directory, an existing
/// file opens for writing (left as it is), and its folder takes new files.
pub fn check_file(file: &Path, what: &str) -> Result<(), CliError> {
    let refuse =
        |e: io::Error| CliError::bad_input(format!("{}: cannot {what}: {e}", file.display()));
    if file.is_dir() {
        return Err(refuse(io::Error::other("it is a directory")));
    }
    if file.exists() {
        OpenOptions::new().append(true).open(file).map_err(refuse)?;
    }
    let folder = file.parent().map_or(Path::new("."), or_here);
    if !folder.is_dir() {
        let missing = io::Error::other(format!("no directory {}", folder.display()));
        return Err(refuse(missing));
    }
    probe(folder).map_err(refuse)
}

/// The empty path (a bare file name's folder) as the working folder.
fn or_here(path: &Path) -> &Path {
    if path.as_os_str().is_empty() {
        Path::new(".")
    } else {
        path
    }
}

/// Creates and removes a file in `dir`: the one sure test that it takes new
/// files (permission bits say nothing of a read-only mount, or of root).
fn probe(dir: &Path) -> io::Result<()> {
    let path = dir.join(format!(".settlesim-probe-{}", std::process::id()));
    OpenOptions::new()
        .write(true)
        .create_new(true)
        .open(&path)?;
    std::fs::remove_file(&path)
}
