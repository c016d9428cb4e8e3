//! Edits and their consequences: the one place the scenario changes, undo and
//! redo, the checker's problems, and what a change means for a running simulation.

use super::Lab;
use super::document::Edit;
use super::layout;
use super::runner::RunCommand;
use crate::scenario::Scenario;
use crate::scenario::check::check;
use crate::scenario::raw::RawNode;

impl Lab {
    /// Applies an edit: the one place where the scenario changes.
    pub fn apply(&mut self, edit: Edit) {
        let structural = edit.is_structural();
        let problems_current = self.problems_for == Some(self.doc.generation);
        let applied = self.doc.apply(edit);
        if !structural && problems_current {
            // The checker does not look at canvas positions: a move leaves the problems as
            // they were, so a drag does not re-check the whole scenario every frame.
            self.problems_for = Some(self.doc.generation);
        }
        if !applied.added.is_empty() {
            self.canvas.reveal(&self.doc, &applied.added);
            self.canvas.selection.clear();
            self.canvas.selection.nodes.extend(applied.added);
        }
        if structural {
            self.after_structural_change();
        }
    }

    pub(super) fn after_structural_change(&mut self) {
        self.refresh_problems();
        let started = self.snapshot.events > 0 || self.snapshot.playing;
        if !started {
            self.sync_run();
        } else if let Some(scenario) = self.retuned() {
            // Only rates, processing times, failure rates or retry policies changed: the
            // running simulation takes them from its next message on.
            self.runner
                .send(RunCommand::Retune(Box::new(scenario.clone())));
            self.loaded = Some((self.doc.generation, scenario));
            self.loaded_raw = Some(self.doc.raw.clone());
            self.status = Some((
                "Applied to the running simulation from now on.".into(),
                false,
            ));
        } else {
            self.stale_run = true;
        }
        self.canvas.pending = self.pending_nodes();
    }

    /// The nodes the canvas shows otherwise than the running simulation has them (new
    /// ones included; where they are drawn aside): empty unless the run is stale.
    fn pending_nodes(&self) -> std::collections::BTreeSet<String> {
        let Some(running) = self.loaded_raw.as_ref().filter(|_| self.stale_run) else {
            return Default::default();
        };
        self.doc
            .raw
            .nodes
            .iter()
            .filter(|node| {
                running
                    .nodes
                    .iter()
                    .find(|r| r.id() == node.id())
                    .is_none_or(|r| {
                        let mut r = r.clone();
                        *r.pos_mut() = node.pos();
                        r != **node
                    })
            })
            .map(|node| node.id().to_string())
            .collect()
    }

    /// The scenario as edited, if it differs from the running one only in parameters a
    /// running simulation can take: producers' arrivals, consumers' processing times,
    /// failure and poison rates and retry policies (and positions on the canvas).
    pub(super) fn retuned(&self) -> Option<Scenario> {
        if self.stale_run {
            return None;
        }
        let running = self.loaded_raw.as_ref()?;
        let edited = &self.doc.raw;
        if running.nodes.len() != edited.nodes.len() {
            return None;
        }
        let mut tuned = running.clone();
        for (node, new) in tuned.nodes.iter_mut().zip(&edited.nodes) {
            *node.pos_mut() = new.pos();
            match (node, new) {
                (RawNode::Producer(p), RawNode::Producer(n)) => p.arrival = n.arrival.clone(),
                (RawNode::Consumer(c), RawNode::Consumer(n)) => {
                    c.service = n.service.clone();
                    c.failure_probability = n.failure_probability;
                    c.poison_fraction = n.poison_fraction;
                    c.retry = n.retry;
                }
                _ => {}
            }
        }
        if tuned != *edited {
            return None;
        }
        check(edited).ok()
    }

    pub fn undo(&mut self) {
        if self.doc.undo() {
            self.after_structural_change();
        }
    }

    pub fn redo(&mut self) {
        if self.doc.redo() {
            self.after_structural_change();
        }
    }

    pub(super) fn refresh_problems(&mut self) {
        if self.problems_for == Some(self.doc.generation) {
            return;
        }
        self.problems = match check(&self.doc.raw) {
            Ok(_) => Vec::new(),
            Err(problems) => problems.list,
        };
        self.problems_for = Some(self.doc.generation);
    }

    pub(super) fn paste(&mut self) {
        if let Some(edit) = self.canvas.paste_edit() {
            self.apply(edit);
        }
    }

    pub(super) fn delete_selection(&mut self) {
        for edit in self.canvas.delete_edits() {
            self.apply(edit);
        }
    }

    pub fn auto_layout(&mut self) {
        let positions = layout::arrange(&self.doc.raw);
        let moves = self
            .doc
            .raw
            .nodes
            .iter()
            .zip(positions)
            .map(|(n, p)| (n.id().to_string(), p))
            .collect();
        self.doc.seal();
        self.apply(Edit::MoveNodes {
            moves,
            drag: u64::MAX,
        });
        self.doc.seal();
        self.canvas.request_fit();
    }
}
