//! The ids a subscription has processed, kept exactly but only while some copy of
//! them can still come back: bits over a window of ids, or the ids in order.

use std::collections::VecDeque;

/// A set of message ids, one bit each, over a window of ids: ids below `base_word * 64`
/// have been forgotten ([`IdSet::forget_below`]), because no copy of them can come back.
/// It grows fallibly: an id it found no memory for is not kept, and
/// [`IdSet::out_of_memory`] says so (the run then stops).
#[derive(Default, Clone)]
pub struct IdSet {
    /// Bits of ids from `base_word * 64` on.
    words: Vec<u64>,
    base_word: u64,
    out_of_memory: bool,
}

impl IdSet {
    /// Index into `words` of `id`'s word (`None` below the window).
    #[inline]
    fn word_of(&self, id: u64) -> Option<usize> {
        usize::try_from((id / 64).checked_sub(self.base_word)?).ok()
    }

    #[inline]
    pub fn contains(&self, id: u64) -> bool {
        self.word_of(id)
            .and_then(|word| self.words.get(word))
            .is_some_and(|w| w & (1 << (id % 64)) != 0)
    }

    /// Makes room for word `word`, with `spare` words more; false if the memory was refused.
    #[cold]
    fn grow(&mut self, word: usize, spare: usize) -> bool {
        let len = word.saturating_add(1).saturating_add(spare);
        if self
            .words
            .try_reserve(len.saturating_sub(self.words.len()))
            .is_err()
        {
            self.out_of_memory = true;
            return false;
        }
        self.words.resize(len, 0);
        true
    }

    /// Whether an id could not be kept for want of memory.
    pub fn out_of_memory(&self) -> bool {
        self.out_of_memory
    }

    #[inline]
    pub fn insert(&mut self, id: u64) {
        let Some(word) = self.word_of(id) else {
            return;
        };
        if word >= self.words.len() && !self.grow(word, 0) {
            return;
        }
        if let Some(w) = self.words.get_mut(word) {
            *w |= 1 << (id % 64);
        }
    }

    /// Inserts `id`; returns whether it was there already.
    #[inline]
    pub fn test_and_set(&mut self, id: u64) -> bool {
        let Some(word) = self.word_of(id) else {
            return false;
        };
        if word >= self.words.len() && !self.grow(word, word / 8) {
            return false;
        }
        let bit = 1 << (id % 64);
        match self.words.get_mut(word) {
            Some(w) => {
                let seen = *w & bit != 0;
                *w |= bit;
                seen
            }
            None => false,
        }
    }

    #[inline]
    pub fn remove(&mut self, id: u64) {
        if let Some(w) = self.word_of(id).and_then(|word| self.words.get_mut(word)) {
            *w &= !(1 << (id % 64));
        }
    }

    /// Forgets every id below `low` (whole words of them): the caller guarantees that no
    /// copy of those messages can reach this set again.
    pub fn forget_below(&mut self, low: u64) {
        let word = low / 64;
        let Some(drop) = word.checked_sub(self.base_word).filter(|&d| d > 0) else {
            return;
        };
        let drop = usize::try_from(drop).unwrap_or(usize::MAX);
        if drop >= self.words.len() {
            self.words.clear();
        } else {
            self.words.drain(..drop);
        }
        self.base_word = word;
        // Give back what a burst left behind.
        if self.words.capacity() > 4 * self.words.len().max(16) {
            self.words.shrink_to(2 * self.words.len());
        }
    }

    /// Memory the bits take.
    pub fn bytes(&self) -> usize {
        self.words.capacity() * 8
    }

    /// An empty set whose window starts at `low`'s word.
    fn starting_at(low: u64) -> IdSet {
        IdSet {
            base_word: low / 64,
            ..IdSet::default()
        }
    }

    /// How many of its ids are `from` or above.
    fn count_from(&self, from: u64) -> u64 {
        let first = self.word_of(from).unwrap_or(0);
        let mask = if self.word_of(from).is_some() {
            u64::MAX << (from % 64)
        } else {
            u64::MAX
        };
        let mut words = self.words.iter().skip(first);
        let head = words
            .next()
            .map_or(0, |w| u64::from((w & mask).count_ones()));
        head + words.map(|w| u64::from(w.count_ones())).sum::<u64>()
    }

    /// How many ids it holds.
    fn len(&self) -> u64 {
        self.words.iter().map(|w| u64::from(w.count_ones())).sum()
    }

    /// The ids it holds, in order: each word's set bits, lowest first (a word's cost is
    /// its ids, not its 64 bits).
    fn ids(&self) -> impl Iterator<Item = u64> + '_ {
        self.words.iter().enumerate().flat_map(move |(i, &word)| {
            let base = (self.base_word + i as u64) * 64;
            let mut rest = word;
            std::iter::from_fn(move || {
                if rest == 0 {
                    return None;
                }
                let bit = u64::from(rest.trailing_zeros());
                rest &= rest - 1;
                Some(base + bit)
            })
        })
    }
}

/// The ids a subscription has processed, over the ids some copy can still bring back: a
/// bit per id while the subscription sees a dense share of all ids (one pipeline, a
/// fanout), the ids themselves in order while it sees a sparse share (one queue among
/// thousands), where bits would be mostly zeros and every one a cache miss. The form is chosen each
/// time ids are forgotten, from the ids held and the span of ids they come from.
#[derive(Default)]
pub(super) struct Processed {
    form: Form,
    /// The next id at the last forgetting.
    next_then: u64,
}

enum Form {
    Bits(IdSet),
    Sparse { ids: SortedIds, out_of_memory: bool },
}

/// Ids in ascending order. Ids are mostly processed in the order they were made, so an
/// insert is nearly always a push at the back and forgetting a drain at the front: both
/// touch memory in order, where a hash set's every insert lands anywhere. An id out of
/// order (a redelivery, a parallel consumer) goes in by binary search, a shift of the
/// few ids processed after it.
#[derive(Default)]
struct SortedIds {
    ids: VecDeque<u64>,
}

impl SortedIds {
    /// Where `id` is or would go.
    #[inline]
    fn find(&self, id: u64) -> Result<usize, usize> {
        match self.ids.back() {
            None => Err(0),
            Some(&last) if last < id => Err(self.ids.len()),
            _ => self.ids.binary_search(&id),
        }
    }

    /// Inserts `id`; returns whether it was there already, or `None` when there was no
    /// memory for it. Kept out of line so that the bits' path inlines into the caller.
    #[inline(never)]
    fn test_and_set(&mut self, id: u64) -> Option<bool> {
        let Err(at) = self.find(id) else {
            return Some(true);
        };
        if self.ids.len() == self.ids.capacity() && self.ids.try_reserve(1).is_err() {
            return None;
        }
        if at == self.ids.len() {
            self.ids.push_back(id);
        } else {
            self.ids.insert(at, id);
        }
        Some(false)
    }

    fn remove(&mut self, id: u64) {
        if let Ok(at) = self.find(id) {
            self.ids.remove(at);
        }
    }

    fn contains(&self, id: u64) -> bool {
        self.find(id).is_ok()
    }

    fn len(&self) -> u64 {
        self.ids.len() as u64
    }

    fn count_from(&self, from: u64) -> u64 {
        (self.ids.len() - self.ids.partition_point(|&id| id < from)) as u64
    }

    fn forget_below(&mut self, low: u64) {
        let below = self.ids.partition_point(|&id| id < low);
        self.ids.drain(..below);
    }

    fn bytes(&self) -> usize {
        self.ids.capacity() * std::mem::size_of::<u64>()
    }

    fn iter(&self) -> impl Iterator<Item = u64> + '_ {
        self.ids.iter().copied()
    }
}

impl Default for Form {
    fn default() -> Self {
        Form::Bits(IdSet::default())
    }
}

impl Processed {
    /// Inserts `id`; returns whether it was there already.
    #[inline]
    pub(super) fn test_and_set(&mut self, id: u64) -> bool {
        self.form.test_and_set(id)
    }

    pub(super) fn remove(&mut self, id: u64) {
        self.form.remove(id);
    }

    pub(super) fn contains(&self, id: u64) -> bool {
        self.form.contains(id)
    }

    pub(super) fn out_of_memory(&self) -> bool {
        self.form.out_of_memory()
    }

    pub(super) fn bytes(&self) -> usize {
        self.form.bytes()
    }

    /// Forgets the ids below `low` (the ids to come start at `next`), then takes the form
    /// that will be smaller until the next forgetting, if ids keep coming as they did since
    /// the last one (as many as it holds of the ids made since): bits over the span of
    /// ids, or about 16 bytes an id held. A switch needs a 4x gain one way and any gain
    /// back, so the form does not flap.
    pub(super) fn forget_below(&mut self, low: u64, next: u64) {
        // Counted before forgetting: most ids made since the last time are forgotten now.
        let recent = self.form.count_from(self.next_then);
        let held = self.form.forget_below(low);
        let period = next.saturating_sub(self.next_then);
        let bits_bytes = (next.saturating_sub(low) + period) / 8;
        let sparse_bytes = (held + recent).saturating_mul(16);
        self.next_then = next;
        match &mut self.form {
            Form::Bits(bits) if sparse_bytes.saturating_mul(4) < bits_bytes => {
                let mut ids = SortedIds::default();
                if ids.ids.try_reserve(held as usize * 2).is_ok() {
                    // Set bits come in ascending order.
                    ids.ids.extend(bits.ids());
                    self.form = Form::Sparse {
                        ids,
                        out_of_memory: false,
                    };
                }
            }
            Form::Sparse { ids, .. } if sparse_bytes > bits_bytes => {
                let mut bits = IdSet::starting_at(low);
                for id in ids.iter() {
                    bits.insert(id);
                }
                self.form = Form::Bits(bits);
            }
            _ => {}
        }
    }
}

impl Form {
    #[inline(always)]
    fn test_and_set(&mut self, id: u64) -> bool {
        match self {
            Form::Bits(bits) => bits.test_and_set(id),
            Form::Sparse { ids, out_of_memory } => ids.test_and_set(id).unwrap_or_else(|| {
                *out_of_memory = true;
                ids.contains(id)
            }),
        }
    }

    fn remove(&mut self, id: u64) {
        match self {
            Form::Bits(bits) => bits.remove(id),
            Form::Sparse { ids, .. } => ids.remove(id),
        }
    }

    fn contains(&self, id: u64) -> bool {
        match self {
            Form::Bits(bits) => bits.contains(id),
            Form::Sparse { ids, .. } => ids.contains(id),
        }
    }

    fn out_of_memory(&self) -> bool {
        match self {
            Form::Bits(bits) => bits.out_of_memory(),
            Form::Sparse { out_of_memory, .. } => *out_of_memory,
        }
    }

    fn bytes(&self) -> usize {
        match self {
            Form::Bits(bits) => bits.bytes(),
            Form::Sparse { ids, .. } => ids.bytes(),
        }
    }

    /// How many of its ids are `from` or above.
    fn count_from(&self, from: u64) -> u64 {
        match self {
            Form::Bits(bits) => bits.count_from(from),
            Form::Sparse { ids, .. } => ids.count_from(from),
        }
    }

    /// Forgets the ids below `low`; returns how many it still holds.
    fn forget_below(&mut self, low: u64) -> u64 {
        match self {
            Form::Bits(bits) => {
                bits.forget_below(low);
                bits.len()
            }
            Form::Sparse { ids, .. } => {
                ids.forget_below(low);
                ids.len()
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    #[test]
    fn an_id_sets_ids_are_its_set_bits_in_order() {
        // (ids inserted, the window's start): ids on word edges, full and empty words.
        let cases: [(Vec<u64>, u64); 5] = [
            (vec![], 0),
            (vec![0, 1, 63, 64, 127, 128], 0),
            ((0..256).collect(), 0),
            (vec![640, 700, 703, 767, 1_000_000], 640),
            ((64..128).chain([191]).collect(), 70),
        ];
        for (ids, low) in cases {
            let mut set = IdSet::starting_at(low);
            for &id in &ids {
                set.insert(id);
            }
            let kept: Vec<u64> = ids
                .iter()
                .copied()
                .filter(|&id| id >= low / 64 * 64)
                .collect();
            assert_eq!(set.ids().collect::<Vec<_>>(), kept, "from {low}");
            assert_eq!(set.len(), kept.len() as u64);
        }
    }

    #[test]
    fn sorted_ids_answer_as_a_set_does_in_and_out_of_order() {
        use std::collections::BTreeSet;
        // (ids inserted in this order, ids removed, forgotten below): in order, backwards,
        // repeats, out of order near the back and at the front.
        let cases: [(Vec<u64>, Vec<u64>, u64); 5] = [
            (vec![1, 2, 3, 10, 20], vec![], 0),
            (vec![9, 7, 5, 3, 1], vec![5], 4),
            (vec![4, 4, 8, 4, 8, 6], vec![8, 100], 5),
            (vec![100, 200, 150, 300, 250, 50], vec![50, 150], 120),
            ((0..500).rev().step_by(3).collect(), vec![0, 3, 300], 250),
        ];
        for (inserted, removed, low) in cases {
            let (mut ids, mut model) = (SortedIds::default(), BTreeSet::new());
            for &id in &inserted {
                assert_eq!(ids.test_and_set(id), Some(!model.insert(id)), "{id}");
            }
            for &id in &removed {
                ids.remove(id);
                model.remove(&id);
            }
            assert_eq!(
                ids.iter().collect::<Vec<_>>(),
                Vec::from_iter(model.iter().copied())
            );
            assert_eq!(ids.count_from(low), model.range(low..).count() as u64);
            ids.forget_below(low);
            model.retain(|&id| id >= low);
            assert_eq!(
                ids.iter().collect::<Vec<_>>(),
                Vec::from_iter(model.iter().copied())
            );
            for probe in 0..510 {
                assert_eq!(ids.contains(probe), model.contains(&probe), "{probe}");
            }
        }
    }

    #[test]
    fn processed_ids_keep_their_answers_through_forgetting_in_either_form() {
        // (ids seen every how many ids, forgotten below which of 100,000, the form then). With
        // few in flight (99,990) a dense set stays bits: the regression
        // a_dense_subscription_with_few_in_flight_stays_bits.
        let cases = [
            (1, 50_000, true),
            (3, 50_000, true),
            (1, 99_990, true),
            (1000, 50_000, false),
            (1000, 99_990, false),
        ];
        for (every, low, dense) in cases {
            let mut processed = Processed::default();
            let seen: Vec<u64> = (0..100_000).step_by(every).collect();
            for &id in &seen {
                assert!(!processed.test_and_set(id));
            }
            processed.forget_below(low, 100_000);
            let bits = matches!(processed.form, Form::Bits(_));
            assert_eq!(bits, dense, "every {every}, below {low}");
            for &id in seen.iter().filter(|&&id| id >= low) {
                assert!(processed.contains(id), "every {every}: {id}");
                assert!(processed.test_and_set(id), "every {every}: {id}");
            }
            let from = low + 3;
            let above = seen.iter().filter(|&&id| id >= from).count() as u64;
            assert_eq!(processed.form.count_from(from), above, "every {every}");
            assert!(!processed.test_and_set(100_001));
            processed.remove(100_001);
            assert!(!processed.contains(100_001));
            // Dense again: back to bits, the same ids held.
            for id in 100_000..110_000 {
                processed.test_and_set(id);
            }
            processed.forget_below(99_000, 110_000);
            assert!(matches!(processed.form, Form::Bits(_)), "every {every}");
            assert!(processed.contains(105_000) && processed.contains(100_001));
            assert!(!processed.contains(110_500));
        }
    }
}
