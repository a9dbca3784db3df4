//! The real-file implementation of the disk port: the same write-ahead log
//! the simulated store uses, on a file, with `fsync` for sync and
//! write-then-rename for atomic rewrites. The simulation never uses it; the
//! SIGKILL test proves the log's durability promise on a real kernel with it.

use crate::sim::LogDisk;
use std::fs::{File, OpenOptions};
use std::io::{self, Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};

/// A log file on the real file system.
pub struct FileDisk {
    path: PathBuf,
    file: File,
}

impl FileDisk {
    /// Opens (or creates) the log at `path`.
    pub fn open(path: &Path) -> io::Result<FileDisk> {
        let file = OpenOptions::new()
            .read(true)
            .append(true)
            .create(true)
            .open(path)?;
        Ok(FileDisk {
            path: path.to_path_buf(),
            file,
        })
    }

    /// Syncs the directory holding the log, so a rename is durable.
    fn sync_dir(&self) -> io::Result<()> {
        let dir = self
            .path
            .parent()
            .filter(|p| !p.as_os_str().is_empty())
            .unwrap_or(Path::new("."));
        File::open(dir)?.sync_all()
    }
}

impl LogDisk for FileDisk {
    fn append(&mut self, bytes: &[u8]) -> io::Result<()> {
        self.file.write_all(bytes)
    }

    fn sync(&mut self) -> io::Result<()> {
        self.file.sync_data()
    }

    fn read_all(&mut self) -> io::Result<Vec<u8>> {
        let mut bytes = Vec::new();
        self.file.seek(SeekFrom::Start(0))?;
        self.file.read_to_end(&mut bytes)?;
        Ok(bytes)
    }

    fn truncate(&mut self, len: u64) -> io::Result<()> {
        self.file.set_len(len)?;
        self.file.sync_all()
    }

    fn rewrite(&mut self, bytes: &[u8]) -> io::Result<()> {
        let tmp = self.path.with_extension("rewrite");
        {
            let mut f = File::create(&tmp)?;
            f.write_all(bytes)?;
            f.sync_all()?;
        }
        std::fs::rename(&tmp, &self.path)?;
        self.sync_dir()?;
        self.file = OpenOptions::new()
            .read(true)
            .append(true)
            .open(&self.path)?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::wal::Wal;

    #[test]
    fn records_survive_reopen_and_a_torn_tail_is_cut() {
        // Proves the log on a real file recovers its records and discards a
        // partial record left at the end.
        let dir = tempfile::Builder::new()
            .prefix("settlesim-filedisk-")
            .tempdir()
            .unwrap();
        let path = dir.path().join("log");
        {
            let mut wal = Wal::new(FileDisk::open(&path).unwrap());
            wal.append_durable(b"alpha").unwrap();
            wal.append_durable(b"beta").unwrap();
        }
        OpenOptions::new()
            .append(true)
            .open(&path)
            .unwrap()
            .write_all(&[9, 0, 0])
            .unwrap();
        let mut wal = Wal::new(FileDisk::open(&path).unwrap());
        assert_eq!(
            wal.recover().unwrap(),
            vec![b"alpha".to_vec(), b"beta".to_vec()]
        );
        wal.append_durable(b"gamma").unwrap();
        let mut again = Wal::new(FileDisk::open(&path).unwrap());
        assert_eq!(again.recover().unwrap().len(), 3);
        let mut disk = FileDisk::open(&path).unwrap();
        disk.rewrite(b"").unwrap();
        assert!(disk.read_all().unwrap().is_empty());
    }
}
