//! Cache-line blocks of counter words.
//!
//! A histogram of the families API has as many buckets as its caller asks
//! for, so its shards cannot be fixed-size structs. Each shard is instead a
//! run of [`Line`]s: 16 words in one `CachePadded` block (128 bytes on
//! x86_64 and aarch64, where `CachePadded` covers the adjacent-line
//! prefetcher; 16 × 8 = 128). Shards start on a line of their own, so two
//! threads writing two shards never write one cache line.

use crossbeam_utils::CachePadded;

use crate::core::sync::AtomicU64;

/// Words per line.
pub(crate) const WORDS: usize = 16;

/// One padded block of counter words.
pub(crate) type Line = CachePadded<[AtomicU64; WORDS]>;

/// `count` blocks of `stride` lines each, all zero.
pub(crate) fn zeroed(count: usize, stride: usize) -> Box<[Line]> {
    (0..count * stride)
        .map(|_| CachePadded::new(std::array::from_fn(|_| AtomicU64::new(0))))
        .collect()
}

/// Lines needed for `words` words.
pub(crate) fn lines_for(words: usize) -> usize {
    words.div_ceil(WORDS)
}

/// Word `i` of a run of lines.
#[inline]
pub(crate) fn word(lines: &[Line], i: usize) -> &AtomicU64 {
    &lines[i / WORDS][i % WORDS]
}
