//! One frame of the desktop lab, headless: a 300-node topology on the canvas with
//! its simulation running flat out on the engine thread. The budget is 8 ms a frame
//! (60 fps with room to spare); `cargo bench --bench frame` prints the median.

#![allow(clippy::expect_used)] // a benchmark of a built-in topology may stop loudly

use criterion::{Criterion, criterion_group, criterion_main};
use eframe::egui;
use evlab::gui::{Lab, big_topology};

fn frame(c: &mut Criterion) {
    let ctx = egui::Context::default();
    let mut lab = Lab::new(ctx.clone(), false).expect("the lab starts");
    // Long enough that flat out does not finish it while the benchmark measures: a
    // finished run draws less, and the check below would stop the benchmark.
    let mut raw = big_topology(50);
    raw.duration = evlab::scenario::units::Duration {
        nanos: 24 * 3600 * 1_000_000_000,
    };
    lab.open_scenario(raw, "300 nodes".into());
    lab.flat_out = true;
    lab.play();
    let input = || egui::RawInput {
        screen_rect: Some(egui::Rect::from_min_size(
            egui::Pos2::ZERO,
            egui::vec2(1440.0, 900.0),
        )),
        ..Default::default()
    };
    // Warm up: layout caches, the first snapshots and plot points.
    for _ in 0..30 {
        let _ = ctx.run_ui(input(), |ui| lab.ui(ui));
        std::thread::sleep(std::time::Duration::from_millis(5));
    }
    assert_eq!(lab.doc.raw.nodes.len(), 300);
    assert!(
        lab.snapshot.playing,
        "the simulation runs during the benchmark"
    );
    c.bench_function("lab_frame_300_nodes_running", |b| {
        b.iter(|| ctx.run_ui(input(), |ui| lab.ui(ui)))
    });
}

criterion_group!(benches, frame);
criterion_main!(benches);
