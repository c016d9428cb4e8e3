//! Kafka's default partitioner hash: 32-bit MurmurHash2 exactly as the Java client computes it.
//!
//! A keyed Kafka record goes to `toPositive(murmur2(key)) % partitions`
//! (`BuiltInPartitioner.partitionForKey` / the legacy `DefaultPartitioner`). To place keyed
//! messages on the same partitions a real cluster would, the simulator needs the hash bit for
//! bit, so this is a literal port of `org.apache.kafka.common.utils.Utils.murmur2` (apache/kafka,
//! `clients/src/main/java/org/apache/kafka/common/utils/Utils.java`). Java's `int` arithmetic
//! wraps, so everything below is done on `u32` with wrapping multiplication; Java's `>>>`
//! (logical shift) is the plain `>>` on `u32`.

/// Seed Kafka passes to MurmurHash2.
const SEED: u32 = 0x9747_b28c;
/// MurmurHash2 mixing constant.
const M: u32 = 0x5bd1_e995;
/// MurmurHash2 mixing shift.
const R: u32 = 24;

/// Kafka's `Utils.murmur2` (32-bit MurmurHash2, seed 0x9747b28c) over the key bytes, as an i32 like Java.
pub fn murmur2(data: &[u8]) -> i32 {
    // Java: `int h = seed ^ length;` with `length` an int. Keys longer than i32::MAX bytes
    // cannot exist in Java; truncating the length keeps the same wrapping behaviour.
    let mut h = SEED ^ (data.len() as u32);

    let mut chunks = data.chunks_exact(4);
    for chunk in &mut chunks {
        let mut k = match *chunk {
            [b0, b1, b2, b3] => u32::from_le_bytes([b0, b1, b2, b3]),
            _ => 0, // unreachable: chunks_exact yields exactly 4 bytes
        };
        k = k.wrapping_mul(M);
        k ^= k >> R; // Java `k >>> r`
        k = k.wrapping_mul(M);
        h = h.wrapping_mul(M);
        h ^= k;
    }

    // Java's `switch (length % 4)` with fall-through from case 3 to 2 to 1; the final
    // `h *= m` only runs when there is a tail at all.
    match *chunks.remainder() {
        [a, b, c] => {
            h ^= u32::from(c) << 16;
            h ^= u32::from(b) << 8;
            h ^= u32::from(a);
            h = h.wrapping_mul(M);
        }
        [a, b] => {
            h ^= u32::from(b) << 8;
            h ^= u32::from(a);
            h = h.wrapping_mul(M);
        }
        [a] => {
            h ^= u32::from(a);
            h = h.wrapping_mul(M);
        }
        _ => {}
    }

    h ^= h >> 13; // Java `h >>> 13`
    h = h.wrapping_mul(M);
    h ^= h >> 15; // Java `h >>> 15`

    // Reinterpret the bits as Java's signed int.
    h as i32
}

/// Kafka's `Utils.toPositive`: `n & 0x7fffffff`.
///
/// Not `abs`: `Math.abs(Integer.MIN_VALUE)` is still negative, masking the sign bit never is.
pub fn to_positive(n: i32) -> i32 {
    n & 0x7fff_ffff
}

/// The partition Kafka's default partitioner picks for a keyed record: toPositive(murmur2(key)) % partitions.
/// `partitions` must be >= 1 (return 0 for 0 rather than panicking).
pub fn partition_for_key(key: &[u8], partitions: u32) -> u32 {
    if partitions == 0 {
        return 0;
    }
    // `to_positive` clears the sign bit, so the value is in 0..=i32::MAX and converts losslessly.
    let positive = to_positive(murmur2(key)) as u32;
    positive % partitions
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    /// Vectors from Kafka's own `UtilsTest.testMurmur2`
    /// (apache/kafka, `clients/src/test/java/org/apache/kafka/common/utils/UtilsTest.java`).
    const KAFKA_VECTORS: &[(&[u8], i32)] = &[
        (b"21", -973_932_308),
        (b"foobar", -790_332_482),
        (b"a-little-bit-long-string", -985_981_536),
        (b"a-little-bit-longer-string", -1_486_304_829),
        (
            b"lkjh234lh9fiuh90y23oiuhsafujhadof229phr9h19h89h8",
            -58_897_971,
        ),
        // Kafka writes this one as `new byte[] {'a', 'b', 'c'}`.
        (b"abc", 479_470_107),
    ];

    /// A second, deliberately literal transcription of the Java method: signed `i32`
    /// arithmetic, `>>>` emulated through `u32`, the index arithmetic (`length & ~3`) and the
    /// switch fall-through spelled out as Java has them.
    fn java_literal(data: &[i8]) -> i32 {
        fn ushr(x: i32, n: u32) -> i32 {
            ((x as u32) >> n) as i32
        }
        let length = data.len() as i32;
        let seed: i32 = 0x9747_b28c_u32 as i32;
        let m: i32 = 0x5bd1_e995;
        let r: u32 = 24;
        let mut h: i32 = seed ^ length;
        let length4 = length / 4;
        for i in 0..length4 {
            let i4 = (i * 4) as usize;
            let mut k: i32 = (i32::from(data[i4]) & 0xff)
                .wrapping_add((i32::from(data[i4 + 1]) & 0xff) << 8)
                .wrapping_add((i32::from(data[i4 + 2]) & 0xff) << 16)
                .wrapping_add((i32::from(data[i4 + 3]) & 0xff) << 24);
            k = k.wrapping_mul(m);
            k ^= ushr(k, r);
            k = k.wrapping_mul(m);
            h = h.wrapping_mul(m);
            h ^= k;
        }
        let base = (length & !3) as usize;
        let case = length % 4;
        if case == 3 {
            h ^= (i32::from(data[base + 2]) & 0xff) << 16;
        }
        if case >= 2 {
            h ^= (i32::from(data[base + 1]) & 0xff) << 8;
        }
        if case >= 1 {
            h ^= i32::from(data[base]) & 0xff;
            h = h.wrapping_mul(m);
        }
        h ^= ushr(h, 13);
        h = h.wrapping_mul(m);
        h ^= ushr(h, 15);
        h
    }

    fn as_java_bytes(data: &[u8]) -> Vec<i8> {
        data.iter().map(|&b| b as i8).collect()
    }

    #[test]
    fn matches_kafka_utils_test_vectors() {
        for &(input, expected) in KAFKA_VECTORS {
            assert_eq!(
                murmur2(input),
                expected,
                "murmur2({:?})",
                String::from_utf8_lossy(input)
            );
        }
    }

    #[test]
    fn literal_java_transcription_agrees_with_kafka_vectors() {
        for &(input, expected) in KAFKA_VECTORS {
            assert_eq!(java_literal(&as_java_bytes(input)), expected);
        }
    }

    #[test]
    fn every_tail_length_and_high_bytes_agree_with_literal_java() {
        // High bytes exercise Java's sign extension of `byte` (masked with 0xff).
        let data: Vec<u8> = (0u8..=255).rev().collect();
        for len in 0..=data.len() {
            let slice = &data[..len];
            assert_eq!(
                murmur2(slice),
                java_literal(&as_java_bytes(slice)),
                "len {len}"
            );
        }
    }

    #[test]
    fn empty_key() {
        // Only seed ^ 0 and the final avalanche; value cross-checked with the literal port.
        assert_eq!(murmur2(b""), 275_646_681);
        assert_eq!(java_literal(&[]), 275_646_681);
    }

    #[test]
    fn to_positive_masks_the_sign_bit() {
        assert_eq!(to_positive(0), 0);
        assert_eq!(to_positive(5), 5);
        assert_eq!(to_positive(-1), i32::MAX);
        assert_eq!(to_positive(i32::MIN), 0);
        assert_eq!(to_positive(i32::MAX), i32::MAX);
        assert_eq!(to_positive(-790_332_482), 1_357_151_166);
    }

    #[test]
    fn partition_for_key_follows_kafka() {
        // toPositive(-790332482) = 1357151166; 1357151166 % 50 = 16.
        assert_eq!(partition_for_key(b"foobar", 50), 16);
        // toPositive(-973932308) = 1173551340.
        assert_eq!(partition_for_key(b"21", 7), 1_173_551_340 % 7);
        assert_eq!(partition_for_key(b"abc", 1), 0);
        assert_eq!(partition_for_key(b"abc", 0), 0);
        assert_eq!(partition_for_key(b"abc", u32::MAX), 479_470_107);
    }

    proptest! {
        #[test]
        fn agrees_with_literal_java(data in proptest::collection::vec(any::<u8>(), 0..64)) {
            prop_assert_eq!(murmur2(&data), java_literal(&as_java_bytes(&data)));
        }

        #[test]
        fn partition_is_in_range(
            data in proptest::collection::vec(any::<u8>(), 0..32),
            partitions in 1u32..1000,
        ) {
            let p = partition_for_key(&data, partitions);
            prop_assert!(p < partitions);
            prop_assert_eq!(i64::from(p), i64::from(to_positive(java_literal(&as_java_bytes(&data)))) % i64::from(partitions));
        }
    }
}
