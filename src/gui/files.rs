//! Files: native dialogs off the UI thread, a typed-path fallback, checked reads,
//! atomic saves and the recent-files list.
//!
//! rfd's dialogs block, so each runs on its own thread and the lab polls for the
//! answer. Whether a dialog can be shown at all is decided before asking, from what
//! the machine has (a desktop portal or zenity; neither under a bare Xvfb): rfd's
//! answer is `None` both when the user cancels and when nothing could be shown, and how
//! fast it came says nothing on a slow machine. Where none can be shown, the lab asks
//! for a path in a text field.

use std::io::{self, Read};
use std::path::{Path, PathBuf};
use std::sync::mpsc;

use crate::scenario::LoadError;

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

/// Whether this machine can show a native file dialog: always on Windows and macOS; on
/// other systems, where rfd asks the desktop portal over the session bus and falls back
/// to zenity, when either is there.
pub fn native_dialog_possible() -> bool {
    if cfg!(any(target_os = "windows", target_os = "macos")) {
        return true;
    }
    let bus = std::env::var_os("DBUS_SESSION_BUS_ADDRESS").is_some()
        || std::env::var_os("XDG_RUNTIME_DIR")
            .is_some_and(|dir| Path::new(&dir).join("bus").exists());
    let services = [
        "/usr/share/dbus-1/services",
        "/usr/local/share/dbus-1/services",
    ];
    can_show_dialog(
        std::env::var_os("PATH").as_deref(),
        bus,
        &services.map(Path::new),
    )
}

/// zenity on `path`, or a session bus and a desktop portal service registered in one of
/// `services` (D-Bus service folders).
fn can_show_dialog(path: Option<&std::ffi::OsStr>, session_bus: bool, services: &[&Path]) -> bool {
    let zenity = path.is_some_and(|path| {
        std::env::split_paths(path).any(|folder| folder.join("zenity").is_file())
    });
    let portal = session_bus
        && services.iter().any(|folder| {
            folder
                .join("org.freedesktop.portal.Desktop.service")
                .is_file()
        });
    zenity || portal
}

#[derive(Default)]
pub struct Dialogs {
    pending: Option<(Purpose, mpsc::Receiver<Option<PathBuf>>)>,
    /// The typed-path fallback: its purpose and the text typed so far.
    pub typed: Option<(Purpose, String)>,
    /// Whether to show native dialogs: asked for, and possible here
    /// ([`native_dialog_possible`]). Tests and headless sessions go straight to the typed
    /// path.
    pub native: bool,
}

impl Dialogs {
    /// `native`: whether to try native dialogs where the machine can show them.
    pub fn new(native: bool) -> Self {
        Self {
            native: native && native_dialog_possible(),
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
            Ok(_) => self.pending = Some((purpose, rx)),
            Err(_) => self.typed = Some((purpose, suggested)),
        }
    }

    /// The answer of a finished dialog, if any. `None` from the dialog is the user's
    /// cancel; a dialog thread that died without answering turns into the typed path.
    pub fn poll(&mut self) -> Option<(Purpose, PathBuf)> {
        let (purpose, rx) = self.pending.as_ref()?;
        let purpose = *purpose;
        match rx.try_recv() {
            Ok(answer) => {
                self.pending = None;
                answer.map(|path| (purpose, path))
            }
            Err(mpsc::TryRecvError::Disconnected) => {
                self.pending = None;
                self.typed = Some((purpose, String::new()));
                None
            }
            Err(mpsc::TryRecvError::Empty) => None,
        }
    }
}

/// The largest scenario file the lab reads. Far above any scenario a canvas can show,
/// and small enough to read in a moment on the UI thread.
pub const MAX_SCENARIO_BYTES: u64 = 16 << 20;

/// A scenario file's text, read on the UI thread only once it is known to be quick: the
/// path must be a regular file (a named pipe or a device could block or never end) of at
/// most [`MAX_SCENARIO_BYTES`], and no more than that is read even if it grows meanwhile.
pub fn read_scenario_text(path: &Path) -> Result<String, LoadError> {
    read_bounded(path, MAX_SCENARIO_BYTES)
}

fn read_bounded(path: &Path, max_bytes: u64) -> Result<String, LoadError> {
    let file = path.display().to_string();
    let refuse = |message: String| LoadError::Io {
        file: file.clone(),
        source: io::Error::new(io::ErrorKind::InvalidInput, message),
    };
    let io_error = |source| LoadError::Io {
        file: file.clone(),
        source,
    };
    // Asked of the path before opening it: opening a named pipe waits for a writer.
    let metadata = std::fs::metadata(path).map_err(io_error)?;
    if !metadata.is_file() {
        return Err(refuse("not a regular file".into()));
    }
    let too_big = || {
        refuse(format!(
            "larger than {max_bytes} bytes: not a scenario file"
        ))
    };
    if metadata.len() > max_bytes {
        return Err(too_big());
    }
    let mut bytes = Vec::new();
    std::fs::File::open(path)
        .and_then(|f| f.take(max_bytes + 1).read_to_end(&mut bytes))
        .map_err(io_error)?;
    if bytes.len() as u64 > max_bytes {
        return Err(too_big());
    }
    crate::scenario::text_of(bytes).map_err(|problem| LoadError::Invalid {
        file: file.clone(),
        problems: vec![problem],
        more: 0,
    })
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
    fn only_regular_files_of_bounded_size_are_read() {
        let dir = std::env::temp_dir().join(format!("evlab-read-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let file = dir.join("s.ron");
        std::fs::write(&file, "(version: 1)").unwrap();
        assert_eq!(read_bounded(&file, 64).unwrap(), "(version: 1)");
        let refused = |path: &Path, max| read_bounded(path, max).unwrap_err().to_string();
        assert!(refused(&file, 4).contains("larger than 4 bytes"));
        assert!(refused(&dir, 64).contains("not a regular file"));
        assert!(refused(&dir.join("missing.ron"), 64).contains("missing.ron"));
        std::fs::write(&file, b"(\xff)").unwrap();
        assert!(refused(&file, 64).contains("not UTF-8"));
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn a_dialog_is_shown_only_where_zenity_or_a_portal_exists() {
        let root = std::env::temp_dir().join(format!("evlab-dialog-{}", std::process::id()));
        let (bin, services, empty) = (root.join("bin"), root.join("services"), root.join("empty"));
        for dir in [&bin, &services, &empty] {
            std::fs::create_dir_all(dir).unwrap();
        }
        std::fs::write(bin.join("zenity"), "").unwrap();
        std::fs::write(services.join("org.freedesktop.portal.Desktop.service"), "").unwrap();
        let path = |dirs: &[&PathBuf]| std::env::join_paths(dirs).unwrap();
        // (PATH, session bus, service folders, a dialog can be shown)
        let cases: [(Option<std::ffi::OsString>, bool, &[&Path], bool); 7] = [
            (None, false, &[], false),
            (Some(path(&[&empty])), true, &[&empty], false),
            (Some(path(&[&empty, &bin])), false, &[], true),
            (Some(path(&[&empty])), true, &[&services], true),
            (None, true, &[&empty, &services], true),
            // A portal needs the session bus to be reached.
            (Some(path(&[&empty])), false, &[&services], false),
            (None, false, &[&services], false),
        ];
        for (i, (path, bus, folders, expected)) in cases.iter().enumerate() {
            assert_eq!(
                can_show_dialog(path.as_deref(), *bus, folders),
                *expected,
                "case {i}"
            );
        }
        std::fs::remove_dir_all(&root).unwrap();
    }

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
