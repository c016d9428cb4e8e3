//! Files: native dialogs off the UI thread, a typed-path fallback, atomic saves
//! and the recent-files list.
//!
//! rfd's dialogs block, so each runs on its own thread and the lab polls for the
//! answer. Where no dialog can be shown (no desktop portal and no zenity, as under
//! Xvfb) rfd answers `None` at once; the lab then asks for a path in a text field.

use std::path::{Path, PathBuf};
use std::sync::mpsc;
use std::time::{Duration, Instant};

/// What a chosen path is for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Purpose {
    Open,
    SaveAs,
    ExportJson,
    ExportCsv,
    /// A second design to compare the open one with.
    Compare,
}

impl Purpose {
    pub fn title(self) -> &'static str {
        match self {
            Purpose::Open => "Open scenario",
            Purpose::SaveAs => "Save scenario as",
            Purpose::ExportJson => "Export report as JSON",
            Purpose::ExportCsv => "Export report as CSV",
            Purpose::Compare => "Compare with scenario",
        }
    }

    fn extension(self) -> &'static str {
        match self {
            Purpose::Open | Purpose::SaveAs | Purpose::Compare => "ron",
            Purpose::ExportJson => "json",
            Purpose::ExportCsv => "csv",
        }
    }
}

/// An answer so fast it cannot have come from a person: no dialog was shown.
const NO_DIALOG: Duration = Duration::from_millis(400);

#[derive(Default)]
pub struct Dialogs {
    pending: Option<(Purpose, Instant, mpsc::Receiver<Option<PathBuf>>)>,
    /// The typed-path fallback: its purpose and the text typed so far.
    pub typed: Option<(Purpose, String)>,
    /// Tests and headless sessions skip native dialogs and go straight to the typed path.
    pub native: bool,
}

impl Dialogs {
    pub fn new(native: bool) -> Self {
        Self {
            native,
            ..Default::default()
        }
    }

    pub fn is_busy(&self) -> bool {
        self.pending.is_some() || self.typed.is_some()
    }

    /// Asks for a path for `purpose`, starting in `near`'s folder.
    pub fn ask(&mut self, purpose: Purpose, near: Option<&Path>) {
        if self.is_busy() {
            return;
        }
        let suggested = near.map(|p| p.display().to_string()).unwrap_or_default();
        if !self.native {
            self.typed = Some((purpose, suggested));
            return;
        }
        let (tx, rx) = mpsc::channel();
        let folder = near.and_then(Path::parent).map(Path::to_path_buf);
        let name = near
            .and_then(Path::file_name)
            .map(|n| n.to_string_lossy().into_owned());
        let spawned = std::thread::Builder::new()
            .name("evlab-dialog".into())
            .spawn(move || {
                let mut dialog = rfd::FileDialog::new()
                    .set_title(purpose.title())
                    .add_filter(purpose.extension(), &[purpose.extension()]);
                if let Some(folder) = folder {
                    dialog = dialog.set_directory(folder);
                }
                if let Some(name) = name {
                    dialog = dialog.set_file_name(name);
                }
                let answer = match purpose {
                    Purpose::Open | Purpose::Compare => dialog.pick_file(),
                    _ => dialog.save_file(),
                };
                let _ = tx.send(answer);
            });
        match spawned {
            Ok(_) => self.pending = Some((purpose, Instant::now(), rx)),
            Err(_) => self.typed = Some((purpose, suggested)),
        }
    }

    /// The answer of a finished dialog, if any. A dialog that could not be shown turns
    /// into the typed-path fallback.
    pub fn poll(&mut self) -> Option<(Purpose, PathBuf)> {
        let (purpose, asked, rx) = self.pending.as_ref()?;
        match rx.try_recv() {
            Ok(Some(path)) => {
                let purpose = *purpose;
                self.pending = None;
                Some((purpose, path))
            }
            Ok(None) | Err(mpsc::TryRecvError::Disconnected) => {
                if asked.elapsed() < NO_DIALOG {
                    self.typed = Some((*purpose, String::new()));
                }
                self.pending = None;
                None
            }
            Err(mpsc::TryRecvError::Empty) => None,
        }
    }
}

/// Writes `text` to `path` atomically (see [`crate::atomic`]), so a crash mid-save never
/// leaves a half-written scenario.
pub fn write_atomically(path: &Path, text: &str) -> std::io::Result<()> {
    crate::atomic::write_atomically(path, text.as_bytes())
}

/// Most recent first, without duplicates, at most `RECENT` long.
pub fn remember(recent: &mut Vec<PathBuf>, path: &Path) {
    recent.retain(|p| p != path);
    recent.insert(0, path.to_path_buf());
    recent.truncate(RECENT);
}

pub const RECENT: usize = 8;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn recent_files_are_most_recent_first_without_repeats() {
        let mut recent = Vec::new();
        for name in ["a", "b", "a", "c"] {
            remember(&mut recent, Path::new(name));
        }
        assert_eq!(
            recent,
            vec![PathBuf::from("c"), PathBuf::from("a"), PathBuf::from("b")]
        );
    }
}
