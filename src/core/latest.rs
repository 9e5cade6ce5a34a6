//! The latest of a stream of small records — a value and up to
//! [`MAX_BYTES`] bytes of text — replaced without a lock and read never torn:
//! an exemplar's home.
//!
//! # Protocol: a sequence lock with atomic words
//!
//! `seq` is even when the record is stable (0: never written) and odd while
//! a writer replaces it. A writer claims the cell by a compare-exchange from
//! an even `seq` to the next odd one, stores the value, the length and the
//! text words, and releases it with `seq + 2`. A writer that finds the cell
//! claimed, or loses the compare-exchange, gives up: its record was
//! concurrent with the winner's, so "the winner's is the latest" is a true
//! order. Writing is therefore wait-free (one compare-exchange, no loop).
//!
//! A reader loads `seq`, the value, the length and the words, then `seq`
//! again, and keeps the copy only when both loads of `seq` saw the same even
//! value. Every word is an atomic (so a racing copy is no data race, only a
//! copy to throw away), each data store is `Release` and each data load
//! `Acquire`: a reader that copied any word of a later writer synchronizes
//! with that writer, whose claim then happens before the second load of
//! `seq`, which therefore sees the claim (or later) and rejects the copy.
//! A reader retries a bounded number of times and then reports no record:
//! a scrape never waits on a writer, and never shows a torn record.
//! `loom-tests/tests/exemplar.rs` checks this with two writers and a reader.

use once_cell::race::OnceBox;

use crate::core::sync::{AtomicU64, Ordering};

/// The longest text a record holds: an OpenMetrics exemplar's label set at
/// its limit of 128 characters, escaped and written out, takes at most 5
/// bytes per character (a 1-character name costs `a="",` around it; a
/// value character at most 4 bytes of UTF-8).
pub(crate) const MAX_BYTES: usize = 640;

/// Text up to this many bytes (a `trace_id` and a `span_id` in hex fit)
/// lives in the cell; longer text in a block allocated on first need.
const INLINE_WORDS: usize = 12;
const INLINE_BYTES: usize = INLINE_WORDS * 8;
const BIG_WORDS: usize = MAX_BYTES / 8;

/// How often a reader retries a copy a writer raced with before it gives up.
#[cfg(not(loom))]
const READ_TRIES: usize = 16;
#[cfg(loom)]
const READ_TRIES: usize = 2;

/// One record cell: 128 bytes, plus 640 once a long record was written.
#[allow(unreachable_pub)] // named by the sealed `Visitor` trait only
pub struct Latest {
    seq: AtomicU64,
    value: AtomicU64,
    len: AtomicU64,
    inline: [AtomicU64; INLINE_WORDS],
    /// Lock-free one-time allocation: racing first writers each build a
    /// block, one wins, the others free theirs.
    big: OnceBox<[AtomicU64; BIG_WORDS]>,
}

impl Latest {
    pub(crate) fn new() -> Self {
        Latest {
            seq: AtomicU64::new(0),
            value: AtomicU64::new(0),
            len: AtomicU64::new(0),
            inline: std::array::from_fn(|_| AtomicU64::new(0)),
            big: OnceBox::new(),
        }
    }

    /// Replaces the record with `value` and the text `fill` puts into the
    /// [`Words`] it is given: at most `max_len` bytes, or [`MAX_BYTES`] when
    /// `max_len` is more (any further bytes are dropped). Returns false,
    /// writing nothing and not calling `fill`, when a concurrent writer
    /// holds the cell.
    #[inline]
    pub(crate) fn store(
        &self,
        value: f64,
        max_len: usize,
        fill: impl FnOnce(&mut Words<'_>),
    ) -> bool {
        // Relaxed: only a guess at an even value for the claim below.
        let seq = self.seq.load(Ordering::Relaxed);
        if seq & 1 == 1 {
            return false;
        }
        // Acquire: the previous writer's release of `seq` happens before
        // our stores, so ours come later in every word's modification order.
        if self
            .seq
            .compare_exchange(seq, seq + 1, Ordering::Acquire, Ordering::Relaxed)
            .is_err()
        {
            return false;
        }
        let big = max_len > INLINE_BYTES;
        let words: &[AtomicU64] = if big {
            self.big
                .get_or_init(|| Box::new(std::array::from_fn(|_| AtomicU64::new(0))))
        } else {
            &self.inline
        };
        let mut w = Words {
            words,
            at: 0,
            acc: 0,
            fill: 0,
        };
        fill(&mut w);
        let len = w.finish();
        // Release (all data stores, the words' included): a reader that
        // loads one of them with Acquire sees our claim of `seq` in its
        // second load of `seq`.
        self.value.store(value.to_bits(), Ordering::Release);
        self.len
            .store(len as u64 | u64::from(big) << 63, Ordering::Release);
        // Release: pairs with a reader's Acquire first load of `seq`, which
        // then sees every store above.
        self.seq.store(seq + 2, Ordering::Release);
        true
    }

    /// Appends the record's text to `out` and returns its value; `None`
    /// when nothing was ever stored, or when writers kept replacing the
    /// record during every try (then `out` is as it was).
    pub(crate) fn load(&self, out: &mut Vec<u8>) -> Option<f64> {
        let start = out.len();
        for _ in 0..READ_TRIES {
            // Acquire: pairs with the Release store that ended a write, so a
            // stable `seq` comes with that write's words.
            let seq = self.seq.load(Ordering::Acquire);
            if seq == 0 {
                return None;
            }
            if seq & 1 == 0 {
                // Acquire (all data loads): see the module docs.
                let value = f64::from_bits(self.value.load(Ordering::Acquire));
                // A length torn by a racing writer is clamped, and the copy
                // is thrown away below.
                let word = self.len.load(Ordering::Acquire);
                let big = word >> 63 == 1;
                let words = if big {
                    self.big.get().map(|b| &b[..])
                } else {
                    Some(&self.inline[..])
                };
                let len = (word as usize & !(1 << 63)).min(words.map_or(0, |w| w.len() * 8));
                if let Some(words) = words {
                    for w in &words[..len.div_ceil(8)] {
                        out.extend_from_slice(&w.load(Ordering::Acquire).to_le_bytes());
                    }
                    out.truncate(start + len);
                    // Relaxed: ordered after the Acquire loads above, see
                    // the module docs.
                    if self.seq.load(Ordering::Relaxed) == seq {
                        return Some(value);
                    }
                    out.truncate(start);
                }
            }
            crate::core::sync::spin_once();
        }
        None
    }
}

/// The text words of a record being written, filled a slice at a time and
/// stored as each word completes (no byte buffer in between, so no load
/// waits on a narrower store still in flight).
pub(crate) struct Words<'a> {
    words: &'a [AtomicU64],
    /// The next word to store.
    at: usize,
    /// Bytes not yet stored, little-endian: `fill` of them.
    acc: u64,
    fill: usize,
}

impl Words<'_> {
    /// Appends `bytes`; past the cell's room they are dropped.
    #[inline]
    pub(crate) fn put(&mut self, mut bytes: &[u8]) {
        while let Some((chunk, rest)) = bytes.split_first_chunk::<8>() {
            let c = u64::from_le_bytes(*chunk);
            if self.fill == 0 {
                self.emit(c);
            } else {
                let shift = 8 * self.fill as u32; // 8 to 56
                self.emit(self.acc | c << shift);
                self.acc = c >> (64 - shift);
            }
            bytes = rest;
        }
        for &b in bytes {
            self.acc |= u64::from(b) << (8 * self.fill);
            self.fill += 1;
            if self.fill == 8 {
                let acc = std::mem::take(&mut self.acc);
                self.fill = 0;
                self.emit(acc);
            }
        }
    }

    #[inline]
    fn emit(&mut self, word: u64) {
        if let Some(w) = self.words.get(self.at) {
            // Release: see `Latest::store`.
            w.store(word, Ordering::Release);
        }
        self.at += 1;
    }

    /// Stores the last partial word; returns the length put (within room).
    #[inline]
    fn finish(mut self) -> usize {
        let len = self.at * 8 + self.fill;
        if self.fill > 0 {
            let acc = self.acc;
            self.emit(acc);
        }
        len.min(self.words.len() * 8)
    }
}

#[cfg(all(test, not(loom)))]
mod tests {
    use super::*;

    fn store(cell: &Latest, value: f64, text: &[u8]) -> bool {
        cell.store(value, text.len(), |w| {
            // In uneven pieces, as a label writer puts them.
            let (a, rest) = text.split_at(text.len() / 3);
            let (b, c) = rest.split_at(rest.len().min(3));
            w.put(a);
            w.put(b);
            w.put(c);
        })
    }

    fn load(cell: &Latest) -> Option<(f64, Vec<u8>)> {
        let mut out = b"prefix".to_vec();
        let v = cell.load(&mut out)?;
        assert!(out.starts_with(b"prefix"));
        Some((v, out[6..].to_vec()))
    }

    #[test]
    fn empty_then_latest_of_any_length() {
        let cell = Latest::new();
        assert_eq!(load(&cell), None);
        for len in [0, 1, 7, 8, 9, 95, 96, 97, 200, 639, 640, 5, 96] {
            let text: Vec<u8> = (0..len).map(|i| b'a' + (i % 26) as u8).collect();
            assert!(store(&cell, len as f64, &text));
            assert_eq!(load(&cell), Some((len as f64, text)), "len {len}");
        }
    }

    #[test]
    fn racing_writers_never_tear() {
        let cell = Latest::new();
        std::thread::scope(|s| {
            for t in 0..2u8 {
                let cell = &cell;
                s.spawn(move || {
                    for i in 0..20_000u32 {
                        // Each record: its value's digit repeated, short or long.
                        let len = if i % 2 == 0 { 40 } else { 300 };
                        let byte = b'0' + ((i + u32::from(t)) % 10) as u8;
                        store(cell, f64::from(byte), &vec![byte; len]);
                    }
                });
            }
            let mut seen = 0;
            while seen < 2_000 {
                if let Some((v, text)) = load(&cell) {
                    assert!(text.len() == 40 || text.len() == 300);
                    assert!(
                        text.iter().all(|&b| f64::from(b) == v),
                        "torn: {v} {text:?}"
                    );
                    seen += 1;
                }
            }
        });
    }
}
