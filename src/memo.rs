//! A per-thread memo from `(kind, status)` to its series, in front of the
//! label index: two small tables only this thread reads and writes, one by
//! the addresses of the label strings, one by their values. Entries are
//! always confirmed by value. See [`docs::lookup`](crate::docs::lookup) for
//! the design and why it never changes an answer.

use std::cell::RefCell;

use crate::index::Series;
use crate::sync::{thread_local, Arc};

/// Entries in a thread's memo: room for the pairs a thread keeps
/// observing, small enough to stay in L1.
const SLOTS: usize = 32;
/// Slots probed from a key's home slot before giving up.
const PROBES: usize = 4;

/// A label value's length and two words of its bytes.
#[derive(Clone, Copy, PartialEq, Eq)]
pub(crate) struct Key {
    len: usize,
    head: u64,
    tail: u64,
}

impl Key {
    /// Longest value whose key determines it.
    const EXACT: usize = 16;

    #[inline]
    pub(crate) fn of(value: &str) -> Key {
        let b = value.as_bytes();
        let len = b.len();
        let word = |at: usize| u64::from_le_bytes(b[at..at + 8].try_into().unwrap());
        let half = |at: usize| u64::from(u32::from_le_bytes(b[at..at + 4].try_into().unwrap()));
        // The two reads overlap or touch, so together they cover every byte
        // of a value of up to 16 bytes.
        let (head, tail) = match len {
            8.. => (word(0), word(len - 8)),
            4..=7 => (half(0), half(len - 4)),
            1..=3 => (
                u64::from(b[0]) | u64::from(b[len / 2]) << 8 | u64::from(b[len - 1]) << 16,
                0,
            ),
            0 => (0, 0),
        };
        Key { len, head, tail }
    }

    #[inline]
    pub(crate) fn is_exact(&self) -> bool {
        self.len <= Self::EXACT
    }

    #[inline]
    pub(crate) fn mix(&self) -> u64 {
        self.head ^ self.tail.rotate_left(29) ^ (self.len as u64).rotate_left(52)
    }
}

/// A cache line each, so an entry never straddles two.
#[repr(align(64))]
struct Entry {
    kind: Key,
    status: Key,
    series: Arc<Series>,
}

impl Entry {
    #[inline]
    fn is(&self, kind: &Key, status: &Key, kind_str: &str, status_str: &str) -> bool {
        self.kind == *kind
            && self.status == *status
            && ((kind.is_exact() && status.is_exact())
                || (*self.series.kind == *kind_str && *self.series.status == *status_str))
    }
}

/// One thread's memo.
pub(crate) struct Memo {
    /// Id of the index whose series the entries hold.
    index: u64,
    /// Direct-mapped by the addresses of the label strings. Callers mostly
    /// pass the same literals or `&'static str` every time, and hashing two
    /// addresses does not wait for the strings' bytes to load.
    by_address: [Option<Entry>; SLOTS],
    /// Open-addressed by the label values: what any caller's strings find.
    by_value: [Option<Entry>; SLOTS],
}

thread_local! {
    static MEMO: RefCell<Memo> = RefCell::new(Memo {
        index: u64::MAX,
        by_address: [const { None }; SLOTS],
        by_value: [const { None }; SLOTS],
    });
}

/// The addresses of a pair's strings, folded into one word: equal for the
/// same two addresses, and almost never for others (an entry that matches
/// by accident is still checked by key).
#[inline]
fn addresses(kind: &str, status: &str) -> u64 {
    kind.as_ptr() as u64 ^ (status.as_ptr() as u64).rotate_left(32)
}

/// Home of a pair in `by_value`.
#[inline]
fn home(kind: &Key, status: &Key) -> usize {
    spread(kind.mix() ^ status.mix().rotate_left(32))
}

#[inline]
fn spread(h: u64) -> usize {
    (h.wrapping_mul(0x9E37_79B9_7F4A_7C15) >> (64 - SLOTS.trailing_zeros())) as usize
}

impl Memo {
    /// Slot of the pair in `by_value`, or where its probe stopped.
    #[inline]
    fn find(&self, k: &Key, s: &Key, kind: &str, status: &str) -> Result<usize, Option<usize>> {
        let at = home(k, s);
        for i in 0..PROBES {
            let j = (at + i) % SLOTS;
            match &self.by_value[j] {
                Some(e) if e.is(k, s, kind, status) => return Ok(j),
                Some(_) => {}
                None => return Err(Some(j)),
            }
        }
        Err(None)
    }
}

/// Runs `f` on the series this thread remembers for the pair in index
/// `index`; `None` if it remembers none (or thread-locals are gone).
#[inline]
pub(crate) fn with<R>(
    index: u64,
    kind: &str,
    status: &str,
    f: impl FnOnce(&Series) -> R,
) -> Option<R> {
    let (k, s) = (Key::of(kind), Key::of(status));
    MEMO.try_with(|memo| {
        let mut memo = memo.try_borrow_mut().ok()?;
        if memo.index != index {
            return None;
        }
        let by_address = spread(addresses(kind, status));
        if let Some(e) = &memo.by_address[by_address] {
            if e.is(&k, &s, kind, status) {
                return Some(f(&e.series));
            }
        }
        let slot = memo.find(&k, &s, kind, status).ok()?;
        let found = memo.by_value[slot].as_ref()?;
        let r = f(&found.series);
        // Learn these addresses if their slot is free. Never evict here:
        // strings at ever new addresses would then cost two reference-count
        // updates per observation; this way each slot is filled once.
        if memo.by_address[by_address].is_none() {
            let series = Arc::clone(&found.series);
            memo.by_address[by_address] = Some(Entry {
                kind: k,
                status: s,
                series,
            });
        }
        Some(r)
    })
    .ok()
    .flatten()
}

/// Remembers `series` for the pair in index `index`. A series whose labels
/// are not the pair (the overflow series) is remembered only for exact
/// keys, since longer keys are confirmed against the series' labels.
pub(crate) fn remember(index: u64, kind: &str, status: &str, series: &Arc<Series>) {
    // Under loom the memo stays empty, so the models check the index path on
    // every observation (see `docs::loom` for why and what that leaves out).
    if cfg!(loom) {
        return;
    }
    let (k, s) = (Key::of(kind), Key::of(status));
    if !(k.is_exact() && s.is_exact()) && (*series.kind != *kind || *series.status != *status) {
        return;
    }
    let _ = MEMO.try_with(|memo| {
        let Ok(mut memo) = memo.try_borrow_mut() else {
            return;
        };
        if memo.index != index {
            memo.by_address = [const { None }; SLOTS];
            memo.by_value = [const { None }; SLOTS];
            memo.index = index;
        }
        let slot = match memo.find(&k, &s, kind, status) {
            Ok(slot) | Err(Some(slot)) => slot,
            // The probe window is full: take the home slot.
            Err(None) => home(&k, &s),
        };
        let entry = |series: &Arc<Series>| Entry {
            kind: k,
            status: s,
            series: Arc::clone(series),
        };
        memo.by_value[slot] = Some(entry(series));
        memo.by_address[spread(addresses(kind, status))] = Some(entry(series));
    });
}

#[cfg(all(test, not(loom)))]
mod tests {
    use super::*;

    #[test]
    fn short_keys_determine_their_value() {
        // Every string over {a, b} of each length up to 12, and 4096 of each
        // longer length up to 16: distinct values of one length never share
        // a key.
        for len in 0..=Key::EXACT {
            let mut seen = std::collections::HashSet::new();
            let count = 1u32 << len.min(12);
            for n in 0..count {
                let v: String = (0..len)
                    .map(|i| if (n >> (i % 12)) & 1 == 1 { 'b' } else { 'a' })
                    .collect();
                let k = Key::of(&v);
                assert!(seen.insert((k.len, k.head, k.tail)), "{v:?} shares a key");
            }
            assert_eq!(seen.len(), count as usize);
        }
    }

    /// Keeps `docs::lookup` true: one cache line per entry, about 4 KiB.
    #[test]
    #[cfg(target_pointer_width = "64")]
    fn memo_is_as_documented() {
        assert_eq!(std::mem::size_of::<Option<Entry>>(), 64);
        assert_eq!(std::mem::size_of::<Memo>(), 64 + 2 * SLOTS * 64);
    }

    #[test]
    fn keys_differ_at_every_byte_of_short_values() {
        let base = "abcdefghijklmnop";
        for len in 1..=16 {
            let v = &base[..len];
            for at in 0..len {
                let mut w = v.as_bytes().to_vec();
                w[at] = b'Z';
                let w = String::from_utf8(w).unwrap();
                assert!(Key::of(v) != Key::of(&w), "{v:?} vs {w:?}");
            }
        }
    }
}
