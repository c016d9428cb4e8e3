//! The lab's scale on a big screen: when the system does not scale the window itself
//! (one pixel per point) and the screen is as large as a 2560x1440 monitor or a
//! projector's 4K, the whole UI (text, panels, canvas) is zoomed so it reads at the size
//! it has on a laptop, and the window grows to keep the room it had. egui renders at
//! the screen's own pixels, so it stays crisp. The View menu's zoom commands, or egui's
//! Ctrl +/-, hand the scale to the user for good.

use eframe::egui;

/// The zoom for a screen of `size` physical pixels (its size in points at zoom 1 and one
/// pixel per point): 1.5 from 2400x1300, 2 from 3400x1900, 1 below.
pub fn zoom_for(size: egui::Vec2) -> f32 {
    const STEPS: [(f32, f32, f32); 2] = [(3400.0, 1900.0, 2.0), (2400.0, 1300.0, 1.5)];
    STEPS
        .iter()
        .find(|(w, h, _)| size.x >= *w && size.y >= *h)
        .map_or(1.0, |(_, _, zoom)| *zoom)
}

/// Whether the lab may still choose the zoom, and the one it chose.
#[derive(Debug, Default)]
pub struct AutoZoom {
    /// The user zoomed: their choice stands.
    off: bool,
    set: Option<f32>,
    /// The window's size in points before the zoom grew: it is asked to keep it (more
    /// pixels, the same room), within the screen.
    keep: Option<egui::Vec2>,
}

impl AutoZoom {
    /// The user chose a zoom: stop choosing one.
    pub fn hand_over(&mut self) {
        self.off = true;
    }

    /// Once a frame: on the first frame that knows the screen, zooms to suit it, as a
    /// system's own scaling would, unless the system scales already; the next frame asks
    /// the window to keep the room it had. The screen is the monitor the window is on
    /// (its size in points is only read at zoom 1: the platform reports it a frame late,
    /// in the previous frame's points), or where the platform does not say, the window.
    pub fn apply(&mut self, ctx: &egui::Context) {
        if let Some(keep) = self.keep.take() {
            let screen = ctx.input(|i| i.viewport().monitor_size);
            if let Some(screen) = screen {
                let room = screen * ctx.zoom_factor() / self.set.unwrap_or(1.0);
                let size = keep.min(room * 0.95);
                ctx.send_viewport_cmd(egui::ViewportCommand::InnerSize(size));
            }
        }
        if self.off || self.set.is_some() {
            return;
        }
        let zoom = ctx.zoom_factor();
        if zoom != 1.0 || ctx.native_pixels_per_point().unwrap_or(1.0) != 1.0 {
            // Zoomed already, or scaled by the system: leave it be.
            self.off = true;
            return;
        }
        let monitor = ctx.input(|i| i.viewport().monitor_size);
        let screen = monitor.unwrap_or_else(|| ctx.content_rect().size());
        let wanted = zoom_for(screen);
        self.set = Some(wanted);
        if wanted != 1.0 {
            ctx.set_zoom_factor(wanted);
            if monitor.is_some() {
                self.keep = Some(ctx.content_rect().size());
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_big_window_gets_a_bigger_zoom() {
        let cases = [
            (1024.0, 700.0, 1.0),
            (1920.0, 1080.0, 1.0),
            (2560.0, 1440.0, 1.5),
            (2560.0, 1000.0, 1.0),
            (3840.0, 2160.0, 2.0),
        ];
        for (w, h, zoom) in cases {
            assert_eq!(zoom_for(egui::vec2(w, h)), zoom, "{w}x{h}");
        }
    }
}
