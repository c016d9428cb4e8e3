//! Writing a file all at once: the CLI's `--out` and the lab's Save.
//!
//! The bytes go to a temporary file beside the target, which is then renamed over it, so
//! a crash or a full disk never leaves half a report or half a scenario. A target that is
//! a symbolic link is written through: the link stays and the file it points to is
//! replaced. An existing file keeps its permissions. [`PendingFile::create`] makes the
//! temporary file at once, so a target that cannot be written is found before a long
//! run, not after it.

use std::fs::{self, File};
use std::io::{self, Write};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};

/// Links followed before giving up (a loop of links).
const MAX_LINKS: usize = 40;

/// A file being written: its temporary file exists until [`PendingFile::commit`] renames
/// it over the target, or until it is dropped (and removed).
pub struct PendingFile {
    target: PathBuf,
    temporary: PathBuf,
    file: Option<File>,
}

impl PendingFile {
    /// Resolves `path` (through symbolic links) and creates the temporary file beside it.
    pub fn create(path: &Path) -> io::Result<PendingFile> {
        static NEXT: AtomicU64 = AtomicU64::new(0);
        let target = resolve_links(path)?;
        if target.is_dir() {
            return Err(io::Error::other("it is a directory: name a file"));
        }
        let dir = target
            .parent()
            .filter(|d| !d.as_os_str().is_empty())
            .unwrap_or(Path::new("."));
        let name = target
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_else(|| "out".into());
        let temporary = dir.join(format!(
            ".{name}.{}-{}.tmp",
            std::process::id(),
            NEXT.fetch_add(1, Ordering::Relaxed)
        ));
        let file = File::options()
            .write(true)
            .create_new(true)
            .open(&temporary)?;
        if let Ok(metadata) = fs::metadata(&target) {
            let _ = file.set_permissions(metadata.permissions());
        }
        Ok(PendingFile {
            target,
            temporary,
            file: Some(file),
        })
    }

    /// The file that will be replaced (the end of any symbolic links).
    pub fn target(&self) -> &Path {
        &self.target
    }

    /// Writes `bytes` and puts them in place of the target.
    pub fn commit(mut self, bytes: &[u8]) -> io::Result<()> {
        let Some(mut file) = self.file.take() else {
            return Err(io::Error::other("already written"));
        };
        file.write_all(bytes)?;
        file.sync_all()?;
        drop(file);
        fs::rename(&self.temporary, &self.target)
    }
}

impl Drop for PendingFile {
    fn drop(&mut self) {
        // Renamed away on success; otherwise nothing of it stays behind.
        let _ = fs::remove_file(&self.temporary);
    }
}

/// Writes `bytes` to `path` atomically (see the module's documentation).
pub fn write_atomically(path: &Path, bytes: &[u8]) -> io::Result<()> {
    PendingFile::create(path)?.commit(bytes)
}

/// Follows `path` through symbolic links to the file they lead to (which may not exist yet).
fn resolve_links(path: &Path) -> io::Result<PathBuf> {
    let mut path = path.to_path_buf();
    for _ in 0..MAX_LINKS {
        match fs::symlink_metadata(&path) {
            Ok(metadata) if metadata.file_type().is_symlink() => {
                let link = fs::read_link(&path)?;
                path = match path.parent() {
                    Some(dir) if link.is_relative() => dir.join(link),
                    _ => link,
                };
            }
            _ => return Ok(path),
        }
    }
    Err(io::Error::other("too many levels of symbolic links"))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn scratch(name: &str) -> PathBuf {
        let dir = std::env::temp_dir().join(format!("evlab-atomic-{name}-{}", std::process::id()));
        let _ = fs::remove_dir_all(&dir);
        fs::create_dir_all(&dir).unwrap();
        dir
    }

    #[test]
    fn replaces_the_file_and_leaves_no_temporary() {
        let dir = scratch("replace");
        let path = dir.join("s.ron");
        write_atomically(&path, b"one").unwrap();
        write_atomically(&path, b"two").unwrap();
        assert_eq!(fs::read_to_string(&path).unwrap(), "two");
        assert_eq!(fs::read_dir(&dir).unwrap().count(), 1);
        fs::remove_dir_all(&dir).unwrap();
    }

    #[cfg(unix)]
    #[test]
    fn writing_onto_a_symbolic_link_keeps_the_link() {
        let dir = scratch("link");
        let real = dir.join("real.json");
        fs::write(&real, "old").unwrap();
        let link = dir.join("link.json");
        std::os::unix::fs::symlink("real.json", &link).unwrap();
        write_atomically(&link, b"new").unwrap();
        assert!(
            fs::symlink_metadata(&link)
                .unwrap()
                .file_type()
                .is_symlink()
        );
        assert_eq!(fs::read_to_string(&real).unwrap(), "new");
        fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn a_file_that_cannot_be_written_is_refused_before_anything_is_written() {
        let dir = scratch("refuse");
        let missing = dir.join("no-such-dir").join("out.json");
        assert!(PendingFile::create(&missing).is_err());
        assert!(PendingFile::create(&dir).is_err());
        // Dropped without a commit: nothing stays behind.
        let pending = PendingFile::create(&dir.join("out.json")).unwrap();
        drop(pending);
        assert_eq!(fs::read_dir(&dir).unwrap().count(), 0);
        fs::remove_dir_all(&dir).unwrap();
    }
}
