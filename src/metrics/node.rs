//! A node's latency distribution (a queue's wait, a sink's or a service's
//! latency), in the layout of an HDR histogram with 2 significant digits and
//! 1 µs resolution, but with its counts allocated one octave at a time, on
//! first use.
//!
//! A full HDR histogram of that precision is a 14.8 KB array; a node whose
//! values span a few octaves touches a few 512-byte blocks of it. So a
//! scenario of thousands of nodes starts small and stays in cache, and the
//! quantiles are exactly those of the full histogram: the index of a value,
//! the clamping of values past the top, and the walk that finds a quantile
//! are HDR's (hdrhistogram 7.6), which the tests check value for value.

use super::{HISTOGRAM_MAX_NANOS, LatencyHistogram, LatencySummary};

/// log2 of the lowest discernible value (1 µs = 1000 ns, rounded down to 512).
const UNIT_MAGNITUDE: u32 = 9;
/// 2 significant digits need 200 distinct values per bucket: 256.
const SUB_BUCKET_COUNT_MAGNITUDE: u32 = 8;
const SUB_BUCKET_HALF_COUNT_MAGNITUDE: u32 = SUB_BUCKET_COUNT_MAGNITUDE - 1;
const SUB_BUCKET_HALF_COUNT: usize = 1 << SUB_BUCKET_HALF_COUNT_MAGNITUDE;
const SUB_BUCKET_MASK: u64 = ((1 << SUB_BUCKET_COUNT_MAGNITUDE) - 1) << UNIT_MAGNITUDE;
const LEADING_ZERO_COUNT_BASE: u32 = 64 - UNIT_MAGNITUDE - SUB_BUCKET_COUNT_MAGNITUDE;
/// One block per octave: the top half of a bucket (the whole of the first bucket is two).
const BLOCK: usize = SUB_BUCKET_HALF_COUNT;
/// Blocks of the counts array that covers `HISTOGRAM_MAX_NANOS` (HDR's `counts.len() / BLOCK`).
const BLOCKS: usize = buckets_to_cover(HISTOGRAM_MAX_NANOS) + 1;

/// Octaves the memory estimate counts per node: in a scenario of many nodes most see
/// little traffic (no block at all while idle); a busy one takes a few 512-byte blocks more.
const TYPICAL_OCTAVES: usize = 1;

/// How many buckets cover `value` (HDR's `buckets_to_cover`).
const fn buckets_to_cover(value: u64) -> usize {
    let mut smallest_untrackable = (1u64 << SUB_BUCKET_COUNT_MAGNITUDE) << UNIT_MAGNITUDE;
    let mut buckets = 1;
    while smallest_untrackable <= value {
        if smallest_untrackable > u64::MAX / 2 {
            return buckets + 1;
        }
        smallest_untrackable <<= 1;
        buckets += 1;
    }
    buckets
}

/// HDR's bucket of `value`.
#[inline]
fn bucket_for(value: u64) -> u32 {
    LEADING_ZERO_COUNT_BASE - (value | SUB_BUCKET_MASK).leading_zeros()
}

/// HDR's counts index of `value` (past the end for values beyond the top).
#[inline]
fn index_for(value: u64) -> usize {
    let bucket = bucket_for(value);
    let sub_bucket = (value >> (bucket + UNIT_MAGNITUDE)) as usize;
    ((bucket as usize + 1) << SUB_BUCKET_HALF_COUNT_MAGNITUDE) + sub_bucket - SUB_BUCKET_HALF_COUNT
}

/// The lowest value counted at `index` (HDR's `value_for`).
fn value_for(index: usize) -> u64 {
    let mut bucket = (index >> SUB_BUCKET_HALF_COUNT_MAGNITUDE) as i64 - 1;
    let mut sub_bucket = (index & (SUB_BUCKET_HALF_COUNT - 1)) + SUB_BUCKET_HALF_COUNT;
    if bucket < 0 {
        sub_bucket -= SUB_BUCKET_HALF_COUNT;
        bucket = 0;
    }
    (sub_bucket as u64) << (bucket as u32 + UNIT_MAGNITUDE)
}

/// A counts index, or the top's for an index past it (HDR's clamping).
#[inline]
fn clamped(index: usize) -> usize {
    if index < BLOCKS * BLOCK {
        index
    } else {
        index_for(HISTOGRAM_MAX_NANOS)
    }
}

/// The lowest and the highest value counted together with `value`.
fn lowest_equivalent(value: u64) -> u64 {
    let bucket = bucket_for(value);
    (value >> (bucket + UNIT_MAGNITUDE)) << (bucket + UNIT_MAGNITUDE)
}

fn highest_equivalent(value: u64) -> u64 {
    let range = 1u64 << (UNIT_MAGNITUDE + bucket_for(value));
    lowest_equivalent(value).saturating_add(range) - 1
}

/// Values a histogram holds back before adding them to its counts: one cache line.
const PENDING: usize = 32;

/// Quantiles to 2 significant digits (within 1%); the mean and the maximum exact.
///
/// Recording writes the value's counts index into `pending`, next to the node's
/// other figures, and adds the indices to the counts `PENDING` at a time. In a scenario
/// of many nodes the counts are rarely in cache: adding one at each record costs two
/// dependent cache misses, adding thirty-two together lets the processor overlap them.
/// Every reading counts `pending` too, so when the counts are added never shows.
#[derive(Clone, Default)]
pub struct NodeHistogram {
    /// Counts by HDR index, `BLOCK` at a time; `None` until a value falls there.
    blocks: Vec<Option<Box<[u32; BLOCK]>>>,
    count: u64,
    sum_nanos: u128,
    max_nanos: u64,
    /// Counts indices recorded but not yet added to `blocks`: the first `pending_len`.
    pending: [u16; PENDING],
    pending_len: u8,
}

impl NodeHistogram {
    /// `run`'s distribution at a node's precision: the same quantiles as if its values
    /// had been recorded here (the finer buckets nest in the coarser ones), the exact mean
    /// and maximum kept.
    pub fn from_run(run: &LatencyHistogram) -> NodeHistogram {
        let mut node = NodeHistogram::default();
        for value in run.hdr.iter_recorded() {
            node.add_at(index_for(value.value_iterated_to()), value.count_at_value());
        }
        node.count = run.count;
        node.sum_nanos = run.sum_nanos;
        node.max_nanos = run.max_nanos;
        node
    }

    #[inline]
    pub fn record(&mut self, nanos: u64) {
        let len = usize::from(self.pending_len);
        if let Some(place) = self.pending.get_mut(len) {
            // Below BLOCKS * BLOCK (3,584), so it fits.
            *place = clamped(index_for(nanos)) as u16;
            self.pending_len += 1;
        }
        if usize::from(self.pending_len) == PENDING {
            self.add_pending();
        }
        self.count += 1;
        self.sum_nanos += u128::from(nanos);
        self.max_nanos = self.max_nanos.max(nanos);
    }

    /// Adds the pending indices to the counts.
    #[inline(never)]
    fn add_pending(&mut self) {
        let pending = self.pending;
        for &index in pending.iter().take(usize::from(self.pending_len)) {
            self.add_at(usize::from(index), 1);
        }
        self.pending_len = 0;
    }

    /// The pending indices, in increasing order.
    fn pending_sorted(&self) -> ([u16; PENDING], usize) {
        let len = usize::from(self.pending_len);
        let mut sorted = self.pending;
        if let Some(part) = sorted.get_mut(..len) {
            part.sort_unstable();
        }
        (sorted, len)
    }

    /// Adds `n` at counts index `index`; past the top, at the top's (HDR's clamping).
    #[inline]
    fn add_at(&mut self, index: usize, n: u32) {
        let index = clamped(index);
        let (block, at) = (index / BLOCK, index % BLOCK);
        if let Some(Some(counts)) = self.blocks.get_mut(block) {
            counts[at] = counts[at].saturating_add(n);
        } else {
            self.add_to_new_block(block, at, n);
        }
    }

    #[cold]
    fn add_to_new_block(&mut self, block: usize, at: usize, n: u32) {
        if self.blocks.len() <= block {
            if self.blocks.try_reserve_exact(BLOCKS).is_err() {
                return;
            }
            self.blocks.resize(BLOCKS, None);
        }
        // Fallibly: without the memory, the value counts in the mean and the maximum only.
        let mut counts = Vec::new();
        if counts.try_reserve_exact(BLOCK).is_err() {
            return;
        }
        counts.resize(BLOCK, 0u32);
        if let (Some(slot), Ok(mut counts)) = (
            self.blocks.get_mut(block),
            Box::<[u32; BLOCK]>::try_from(counts.into_boxed_slice()),
        ) {
            counts[at] = n;
            *slot = Some(counts);
        }
    }

    pub fn count(&self) -> u64 {
        self.count
    }

    /// Most memory its counts can take (every octave in use).
    pub fn max_bytes() -> u64 {
        (BLOCKS * (BLOCK * std::mem::size_of::<u32>() + std::mem::size_of::<usize>())) as u64
    }

    /// What the memory estimate counts a node's histogram as: its table of blocks and
    /// `TYPICAL_OCTAVES` blocks.
    pub fn typical_bytes() -> u64 {
        (BLOCKS * std::mem::size_of::<usize>()
            + TYPICAL_OCTAVES * BLOCK * std::mem::size_of::<u32>()) as u64
    }

    /// Memory its counts take now.
    pub fn bytes(&self) -> u64 {
        let blocks = self.blocks.iter().flatten().count();
        (self.blocks.capacity() * std::mem::size_of::<usize>()
            + blocks * BLOCK * std::mem::size_of::<u32>()) as u64
    }

    pub fn mean_nanos(&self) -> f64 {
        if self.count == 0 {
            0.0
        } else {
            self.sum_nanos as f64 / self.count as f64
        }
    }

    /// HDR's `value_at_quantile`, capped at the exact maximum.
    pub fn quantile_nanos(&self, q: f64) -> u64 {
        if self.count == 0 {
            return 0;
        }
        let q = q.min(1.0);
        let target = ((q * self.count as f64).ceil() as u64).max(1);
        let (pending, len) = self.pending_sorted();
        let mut pending = pending.iter().take(len).map(|&i| usize::from(i)).peekable();
        let mut total = 0u64;
        for block in 0..BLOCKS {
            let counts = self.blocks.get(block).and_then(Option::as_ref);
            let first = block * BLOCK;
            if counts.is_none() && pending.peek().is_none_or(|&i| i >= first + BLOCK) {
                continue;
            }
            for at in 0..BLOCK {
                let index = first + at;
                let mut n = counts.and_then(|c| c.get(at)).map_or(0, |&n| u64::from(n));
                while pending.next_if_eq(&index).is_some() {
                    n += 1;
                }
                total += n;
                if total >= target {
                    let value = value_for(index);
                    let value = if q == 0.0 {
                        lowest_equivalent(value)
                    } else {
                        highest_equivalent(value)
                    };
                    return value.min(self.max_nanos);
                }
            }
        }
        0
    }

    pub fn max_nanos(&self) -> u64 {
        self.max_nanos
    }

    /// Forgets every value; the blocks in use stay, zeroed.
    pub fn reset(&mut self) {
        for counts in self.blocks.iter_mut().flatten() {
            counts.fill(0);
        }
        self.pending_len = 0;
        self.count = 0;
        self.sum_nanos = 0;
        self.max_nanos = 0;
    }

    pub fn summary_ms(&self) -> LatencySummary {
        LatencySummary::of(self.count, self.mean_nanos(), self.max_nanos, |q| {
            self.quantile_nanos(q)
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use hdrhistogram::Histogram;

    /// Values from nanoseconds to beyond the top, spread over every octave.
    fn spread(n: usize, seed: u64) -> Vec<u64> {
        let mut x = seed;
        (0..n)
            .map(|_| {
                x = x
                    .wrapping_mul(6364136223846793005)
                    .wrapping_add(1442695040888963407);
                let octave = (x >> 58) as u32 % 46;
                (x >> 20) % (1u64 << octave).max(2)
            })
            .collect()
    }

    #[test]
    fn its_layout_is_hdrs_at_two_digits() {
        let hdr = Histogram::<u32>::new_with_bounds(1_000, HISTOGRAM_MAX_NANOS, 2).unwrap();
        assert_eq!(BLOCKS * BLOCK, hdr.distinct_values());
        for value in spread(20_000, 7) {
            assert_eq!(
                lowest_equivalent(value),
                hdr.lowest_equivalent(value),
                "{value}"
            );
            assert_eq!(
                highest_equivalent(value),
                hdr.highest_equivalent(value),
                "{value}"
            );
            if index_for(value) < BLOCKS * BLOCK {
                assert_eq!(value_for(index_for(value)), hdr.lowest_equivalent(value));
            }
        }
    }

    #[test]
    fn quantiles_equal_a_full_hdr_histograms() {
        let quantiles = [0.0, 0.001, 0.25, 0.5, 0.9, 0.95, 0.99, 0.999, 1.0];
        for (seed, n) in [(1, 1), (2, 7), (3, 1_000), (4, 50_000)] {
            let (mut full, mut node) = (
                LatencyHistogram::with_precision(2),
                NodeHistogram::default(),
            );
            for value in spread(n, seed) {
                full.record(value);
                node.record(value);
            }
            for q in quantiles {
                assert_eq!(
                    node.quantile_nanos(q),
                    full.quantile_nanos(q),
                    "n {n}, q {q}"
                );
            }
            assert_eq!(node.summary_ms(), full.summary_ms());
            node.reset();
            full.reset();
            assert_eq!(node.summary_ms(), full.summary_ms());
        }
    }

    #[test]
    fn readings_count_the_values_not_yet_added_to_the_counts() {
        // Before, at and after the first and second addition of the pending values.
        let (mut full, mut node) = (
            LatencyHistogram::with_precision(2),
            NodeHistogram::default(),
        );
        for (i, value) in spread(3 * PENDING + 5, 5).into_iter().enumerate() {
            full.record(value);
            node.record(value);
            for q in [0.0, 0.3, 0.5, 0.99, 1.0] {
                assert_eq!(
                    node.quantile_nanos(q),
                    full.quantile_nanos(q),
                    "after {} values, q {q}",
                    i + 1
                );
            }
        }
        node.reset();
        assert_eq!(node.quantile_nanos(0.5), 0);
        node.record(5_000);
        assert_eq!(node.quantile_nanos(1.0), 5_000);
        assert_eq!(node.count(), 1);
    }

    #[test]
    fn a_run_histogram_at_node_precision_equals_recording_at_node_precision() {
        let (mut run, mut node) = (LatencyHistogram::default(), NodeHistogram::default());
        for value in spread(50_000, 11) {
            run.record(value);
            node.record(value);
        }
        assert_eq!(
            NodeHistogram::from_run(&run).summary_ms(),
            node.summary_ms()
        );
    }

    #[test]
    fn it_starts_empty_and_grows_by_the_octaves_it_sees() {
        let mut node = NodeHistogram::default();
        assert_eq!(node.bytes(), 0);
        for value in 2_200_000..2_300_000 {
            node.record(value);
        }
        // 2.2 to 2.3 ms lie in one octave (2^21 to 2^22 ns): a table of blocks and one block.
        assert!(
            node.bytes() <= (BLOCKS * 8 + BLOCK * 4) as u64,
            "{}",
            node.bytes()
        );
        assert!(NodeHistogram::max_bytes() < 16 * 1024);
    }
}
