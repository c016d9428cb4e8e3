//! A slab of values addressed by `u32` index, with a free list.
//!
//! Messages in flight live here, so the hot loop moves 4-byte indices
//! instead of structs and reuses slots instead of allocating. The arena has
//! a capacity cap: inserting past it is an error the caller reports, which
//! keeps a runaway scenario from eating the machine's memory. It grows fallibly, so
//! memory the machine refuses is the same error, never an abort.

/// Index of a slot in an [`Arena`].
pub type Slot = u32;

pub struct Arena<T> {
    slots: Vec<T>,
    free: Vec<Slot>,
    cap: usize,
}

/// The arena is at its cap.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ArenaFull;

impl<T: Copy> Arena<T> {
    /// An arena that holds at most `cap` live values.
    pub fn with_cap(cap: usize) -> Self {
        Self {
            slots: Vec::new(),
            free: Vec::new(),
            cap: cap.min(u32::MAX as usize),
        }
    }

    #[inline]
    pub fn insert(&mut self, value: T) -> Result<Slot, ArenaFull> {
        if let Some(slot) = self.free.pop() {
            if let Some(place) = self.slots.get_mut(slot as usize) {
                *place = value;
                return Ok(slot);
            }
        }
        if self.slots.len() >= self.cap {
            return Err(ArenaFull);
        }
        if self.slots.len() == self.slots.capacity() {
            // Grow by doubling, up to the cap, and fallibly: a machine that cannot give the
            // memory makes the insert fail like a full arena, instead of aborting.
            let more = self.slots.len().max(1024).min(self.cap - self.slots.len());
            self.slots.try_reserve_exact(more).map_err(|_| ArenaFull)?;
        }
        self.slots.push(value);
        Ok((self.slots.len() - 1) as Slot)
    }

    /// Frees a slot. The caller guarantees it is live (freeing twice would
    /// hand the slot out twice; debug builds check).
    #[inline]
    pub fn remove(&mut self, slot: Slot) {
        debug_assert!((slot as usize) < self.slots.len());
        debug_assert!(
            !self.free.contains(&slot) || self.free.len() > 4096,
            "double free of slot {slot}"
        );
        self.free.push(slot);
    }

    #[inline]
    pub fn get(&self, slot: Slot) -> Option<&T> {
        self.slots.get(slot as usize)
    }

    #[inline]
    pub fn get_mut(&mut self, slot: Slot) -> Option<&mut T> {
        self.slots.get_mut(slot as usize)
    }

    /// Every live value, in slot order (O(slots): for occasional scans, not the hot loop).
    pub fn live(&self) -> impl Iterator<Item = &T> {
        let mut free = vec![false; self.slots.len()];
        for &slot in &self.free {
            if let Some(f) = free.get_mut(slot as usize) {
                *f = true;
            }
        }
        self.slots
            .iter()
            .zip(free)
            .filter_map(|(value, free)| (!free).then_some(value))
    }

    /// Live values.
    pub fn len(&self) -> usize {
        self.slots.len() - self.free.len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Most values ever live at once.
    pub fn high_water(&self) -> usize {
        self.slots.len()
    }

    pub fn cap(&self) -> usize {
        self.cap
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reuses_freed_slots_and_enforces_the_cap() {
        let mut arena = Arena::with_cap(2);
        let a = arena.insert(1u64).unwrap();
        let b = arena.insert(2).unwrap();
        assert_eq!(arena.insert(3), Err(ArenaFull));
        arena.remove(a);
        let c = arena.insert(4).unwrap();
        assert_eq!(c, a);
        assert_eq!(arena.get(c), Some(&4));
        assert_eq!(arena.get(b), Some(&2));
        assert_eq!(arena.len(), 2);
        assert_eq!(arena.high_water(), 2);
        assert_eq!(arena.live().copied().collect::<Vec<_>>(), [4, 2]);
        arena.remove(b);
        assert_eq!(arena.live().copied().collect::<Vec<_>>(), [4]);
    }
}
