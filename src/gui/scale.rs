//! The lab's scale on a big screen: when the system does not scale the window itself
//! (one pixel per point) and the screen is as large as a 2560x1440 monitor or a
//! projector's 4K, the whole UI (text, panels, canvas) is zoomed so it reads at the size
//! it has on a laptop. egui renders at the screen's own pixels, so it stays crisp. The
//! View menu's zoom commands, or egui's Ctrl +/-, hand the scale to the user for good.

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

/// Whether the lab still chooses the zoom, and the one it chose last.
#[derive(Debug, Default)]
pub struct AutoZoom {
    /// The user zoomed: their choice stands.
    off: bool,
    set: Option<f32>,
}

impl AutoZoom {
    /// The user chose a zoom: stop choosing one.
    pub fn hand_over(&mut self) {
        self.off = true;
    }

    /// Once a frame: zooms to suit the screen, as a system's own scaling would, unless the
    /// user zoomed or the system scales already. The screen is the monitor the window is
    /// on; where the platform does not say, the window's first size, chosen for once.
    pub fn apply(&mut self, ctx: &egui::Context) {
        if self.off {
            return;
        }
        let zoom = ctx.zoom_factor();
        if self.set.is_some_and(|set| set != zoom) {
            // Changed by egui's own keyboard zoom.
            self.off = true;
            return;
        }
        if ctx.native_pixels_per_point().unwrap_or(1.0) != 1.0 {
            return;
        }
        let monitor = ctx.input(|i| i.viewport().monitor_size);
        if monitor.is_none() && self.set.is_some() {
            return;
        }
        // Sizes in points shrink as the zoom grows; times the zoom, they are pixels.
        let screen = monitor.unwrap_or_else(|| ctx.content_rect().size());
        let wanted = zoom_for(screen * zoom);
        if wanted != zoom {
            ctx.set_zoom_factor(wanted);
        }
        self.set = Some(wanted);
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
