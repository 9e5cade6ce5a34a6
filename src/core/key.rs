//! A label value's key: its length and two words of its bytes, read
//! without a pass over the value. For values of up to 16 bytes the words
//! cover every byte, so equal keys mean equal values; the memo confirms
//! longer ones in full.

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

    /// The key of `""`.
    pub(crate) const EMPTY: Key = Key {
        len: 0,
        head: 0,
        tail: 0,
    };

    #[inline]
    pub(crate) fn of(value: &str) -> Key {
        Key::of_bytes(value.as_bytes())
    }

    #[inline]
    fn of_bytes(b: &[u8]) -> Key {
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

/// Whether two byte strings of one length are equal: up to 64 bytes by
/// two or four overlapping 16-byte words (or the key's narrower reads),
/// without a call to `memcmp`; longer ones by `==`.
#[inline]
pub(crate) fn same_bytes(a: &[u8], b: &[u8]) -> bool {
    let len = a.len();
    if len != b.len() {
        return false;
    }
    let wide = |s: &[u8], at: usize| u128::from_le_bytes(s[at..at + 16].try_into().unwrap());
    match len {
        // The two reads overlap or touch, so they cover every byte.
        16..=32 => wide(a, 0) == wide(b, 0) && wide(a, len - 16) == wide(b, len - 16),
        // Four reads: two from the start, two up to the end, covering it.
        33..=64 => [0, 16, len - 32, len - 16]
            .into_iter()
            .all(|at| wide(a, at) == wide(b, at)),
        0..16 => {
            let (ka, kb) = (Key::of_bytes(a), Key::of_bytes(b));
            ka.head == kb.head && ka.tail == kb.tail
        }
        _ => a == b,
    }
}

#[cfg(test)]
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

    #[test]
    fn same_bytes_is_equality_at_every_length_and_byte() {
        let base: Vec<u8> = (0..80u8).map(|i| b'a' + i % 26).collect();
        for len in 0..base.len() {
            let v = &base[..len];
            let copy = v.to_vec();
            assert!(same_bytes(v, &copy));
            assert!(!same_bytes(v, &base[..len + 1]), "lengths differ");
            for at in 0..len {
                let mut w = v.to_vec();
                w[at] ^= 0x20;
                assert!(!same_bytes(v, &w), "len {len}, byte {at}");
            }
        }
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
