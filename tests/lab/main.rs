//! The desktop lab, driven through its accessibility tree with egui_kittest, as a user
//! would: open an example, add and connect nodes, undo and redo, break a parameter,
//! run, inject a crash. Plus image snapshots of the main screens (rendered on the CPU
//! by wgpu on Mesa; `.ci/run` installs the drivers).
#![cfg(feature = "gui")]
#![allow(clippy::unwrap_used, clippy::expect_used)] // tests fail loudly by design

mod consequences;
mod editing;
mod files;
mod kafka;
mod running;
mod support;
