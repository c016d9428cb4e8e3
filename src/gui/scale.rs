//! The lab's scale on a big screen: when the system does not scale the window itself
//! (one pixel per point) and the screen is as large as a 2560x1440 monitor or a
//! projector's 4K, the whole UI (text, panels, canvas) is zoomed so it reads at the size
//! it has on a laptop, and the window grows to keep the room it had. egui renders at
//! the screen's own pixels, so it stays crisp. It is chosen once, at start: any later
//! zoom is the user's.

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

/// Whether the lab has chosen its zoom (once, on the first frame), and the room the
/// window is to keep once the zoom has taken effect.
#[derive(Debug, Default)]
pub struct AutoZoom {
    chosen: bool,
    /// The window's size in points before the zoom grew: it is asked to keep it (more
    /// pixels, the same room), within the screen.
    keep: Option<egui::Vec2>,
}

impl AutoZoom {
    /// Once a frame: on the first frame, zooms to suit the screen, as a system's own
    /// scaling would, unless the system scales or a zoom is set already; the next frame
    /// asks the window to keep the room it had. The screen is the monitor the window is
    /// on (read at zoom 1 only: the platform reports it a frame late, in the previous
    /// frame's points), or where the platform does not say, the window. Choosing once
    /// leaves every later zoom (the View menu, egui's Ctrl +/-) to the user.
    pub fn apply(&mut self, ctx: &egui::Context) {
        let monitor = ctx.input(|i| i.viewport().monitor_size);
        if let (Some(keep), Some(screen)) = (self.keep.take(), monitor) {
            let size = keep.min(screen * 0.95);
            ctx.send_viewport_cmd(egui::ViewportCommand::InnerSize(size));
        }
        if std::mem::replace(&mut self.chosen, true) {
            return;
        }
        if ctx.zoom_factor() != 1.0 || ctx.native_pixels_per_point().unwrap_or(1.0) != 1.0 {
            return;
        }
        let wanted = zoom_for(monitor.unwrap_or_else(|| ctx.content_rect().size()));
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
