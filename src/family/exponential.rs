//! The exponential buckets of Prometheus' native histograms: at schema `s`
//! bucket `k` holds the values in `(2^((k-1)·2^-s), 2^(k·2^-s)]`, so each
//! power of two is split into `2^s` buckets (`s` from -4 to 8) and every
//! bucket is about `2^(2^-s) - 1` wide relatively (9.05 % at schema 3).
//! Going one schema down merges buckets `2k-1` and `2k` into bucket `k`.

use crate::core::sync::OnceLock;

/// The lowest and highest schemas the exposition allows.
pub(crate) const MIN_SCHEMA: i8 = -4;
pub(crate) const MAX_SCHEMA: i8 = 8;

/// A schema's bucket function.
#[derive(Clone, Debug)]
pub(crate) struct Ladder {
    schema: i8,
    /// For a positive schema, its table.
    table: Option<&'static Table>,
}

/// A schema's bounds within an octave, and a lookup by the fraction's top
/// mantissa bits.
#[derive(Debug)]
struct Table {
    /// The key of a value `frac · 2^exp` is `offset` plus the count of
    /// the octave's bounds below `frac` plus `(exp - 1) · 2^s`: 0 for a
    /// table in seconds.
    offset: i32,
    /// The schema `s`, from 0.
    schema: u32,
    /// One word per cell, the fractions whose top `CELL_BITS` mantissa bits
    /// are `c`: how many bounds lie below the cell (the top bits), and the
    /// low mantissa bits of the bound inside it (`LOW` when none is). A
    /// cell is narrower than any bucket up to schema 8, so at most one
    /// bound lies inside it: one integer comparison, in the same word,
    /// finishes the count.
    cells: [u64; 1 << CELL_BITS],
}

const CELL_BITS: u32 = 10;
/// The mantissa bits below a cell's.
const LOW_BITS: u32 = 52 - CELL_BITS;
const LOW: u64 = (1 << LOW_BITS) - 1;

impl Ladder {
    pub(crate) fn new(schema: i8) -> Self {
        let schema = schema.clamp(MIN_SCHEMA, MAX_SCHEMA);
        Ladder {
            schema,
            table: (schema > 0).then(|| table(schema)),
        }
    }

    pub(crate) fn schema(&self) -> i8 {
        self.schema
    }

    /// The bucket of a positive `v` (`+Inf` is one past the bucket of
    /// `f64::MAX`, as client_golang has it).
    #[inline]
    pub(crate) fn key(&self, v: f64) -> i32 {
        let (v, inf) = if v > f64::MAX { (f64::MAX, 1) } else { (v, 0) };
        let (frac, exp) = frexp(v);
        let key = if let Some(t) = self.table {
            // A table in seconds has no offset.
            t.within(mantissa(frac)) + ((exp - 1) << t.schema)
        } else {
            // An exact power of two is the top of the bucket below.
            let key = exp - i32::from(frac == 0.5);
            let shift = -self.schema;
            (key + (1 << shift) - 1) >> shift
        };
        key + inf
    }
}

/// The bucket function of a schema for values given in integer
/// nanoseconds: the key of `n` nanoseconds is the key of `n / 10⁹`
/// seconds, found with no division.
///
/// Bucket bounds scale by two every `2^s` buckets, in nanoseconds as in
/// seconds, so the bounds in nanoseconds also fall on `2^s` fixed
/// fractions of every octave: the same table lookup as [`Ladder`]'s, with
/// the bounds `2^(k·2^-s) · 10⁹` and a constant offset. Below 2⁵³ ns (104
/// days) `n` is exact in 53 bits, so it is compared with each bound as
/// rounded once to `f64` (the seconds path rounds twice: the quotient, then
/// the bound); above, `n` is truncated to 53 bits first. A negative schema
/// takes schema 0's key, `2^-s` of them to a bucket.
#[derive(Clone, Debug)]
pub(crate) struct NanosLadder {
    /// `-s` for a negative schema, else 0.
    shift: u32,
    /// The table's offset, plus `63 · 2^s` (the octave term
    /// `(exp - 1) · 2^s` is `(63 - zeros) · 2^s` for `n` with `zeros`
    /// leading zero bits), plus `2^shift - 1` to round up.
    bias: i32,
    table: &'static Table,
}

impl NanosLadder {
    pub(crate) fn new(schema: i8) -> Self {
        let schema = schema.clamp(MIN_SCHEMA, MAX_SCHEMA);
        let shift = u32::from(schema.min(0).unsigned_abs());
        let table = nanos_table(schema.max(0));
        NanosLadder {
            shift,
            bias: table.offset + (63 << table.schema) + (1 << shift) - 1,
            table,
        }
    }

    /// The bucket of `n` nanoseconds, `n` at least 1.
    #[inline]
    pub(crate) fn key(&self, n: u64) -> i32 {
        // `n = frac · 2^exp`, `frac` in [0.5, 1) and `exp = 64 - zeros`, in
        // integers: the leading one shifted to the top, and the 52 bits
        // after it as the `f64` mantissa of `frac` (truncated above 2⁵³ ns).
        // A negative schema's shift makes `2^shift` keys of schema 0 one,
        // rounding up (`bias` holds the `2^shift - 1`).
        let zeros = n.leading_zeros();
        let mantissa = (n << zeros >> 11) & MANTISSA;
        let t = self.table;
        (t.within(mantissa) - ((zeros as i32) << t.schema) + self.bias) >> self.shift
    }
}

impl Table {
    /// How many of the octave's bounds lie below the fraction of `mantissa`:
    /// those below its cell, and the one in the cell if it is below too.
    /// Fractions in [0.5, 1) share an exponent, so their mantissas order
    /// them.
    #[inline]
    fn within(&self, mantissa: u64) -> i32 {
        let cell = self.cells[(mantissa >> LOW_BITS) as usize];
        (cell >> LOW_BITS) as i32 + i32::from(mantissa & LOW > cell & LOW)
    }

    /// The table of the `2^s` bounds within `[0.5, 1)` of a value's binary
    /// fraction, in increasing order (in seconds, `2^(j·2^-s - 1)`).
    fn new(fracs: &[f64], offset: i32) -> Self {
        let cells = std::array::from_fn(|c| {
            let c = c as u64;
            let below = fracs.iter().filter(|&&b| mantissa(b) >> LOW_BITS < c);
            let inside = fracs.iter().find(|&&b| mantissa(b) >> LOW_BITS == c);
            (below.count() as u64) << LOW_BITS | inside.map_or(LOW, |&b| mantissa(b) & LOW)
        });
        Table {
            schema: fracs.len().trailing_zeros(),
            offset,
            cells,
        }
    }
}

/// The table of a positive schema (8 KiB), made once per process on its
/// first use.
fn table(schema: i8) -> &'static Table {
    static TABLES: [OnceLock<Table>; MAX_SCHEMA as usize] =
        [const { OnceLock::new() }; MAX_SCHEMA as usize];
    TABLES[schema as usize - 1].get_or_init(|| Table::new(&fracs(schema), 0))
}

/// The table of a schema from 0 to 8 in nanoseconds (8 KiB), made once per
/// process on its first use.
fn nanos_table(schema: i8) -> &'static Table {
    static TABLES: [OnceLock<Table>; MAX_SCHEMA as usize + 1] =
        [const { OnceLock::new() }; MAX_SCHEMA as usize + 1];
    TABLES[schema as usize].get_or_init(|| {
        let (fracs, offset) = nanos_fracs(schema);
        Table::new(&fracs, offset)
    })
}

/// The bounds of a schema from 0 to 8 in nanoseconds, as fractions of an
/// octave in increasing order, and the key offset that goes with them.
fn nanos_fracs(schema: i8) -> (Box<[f64]>, i32) {
    let n = 1u32 << schema;
    // Bound `k` in nanoseconds, each from its own exponent: exact for
    // whole powers of two seconds, as 10⁹ is exact.
    let bound = |k: u32| (f64::from(k) / f64::from(n)).exp2() * 1e9;
    let mut fracs: Vec<(f64, i32)> = (0..n).map(|k| frexp(bound(k))).collect();
    // Bound 0 (one second) is key 0; it and those above it in its
    // octave come after the ones that reached the next octave.
    let (one, exp) = fracs[0];
    let wrapped = fracs.iter().filter(|(_, e)| *e > exp).count() as i32;
    fracs.sort_by(|a, b| a.0.total_cmp(&b.0));
    debug_assert_eq!(fracs[wrapped as usize].0, one);
    let offset = -wrapped - (exp - 1) * n as i32;
    (fracs.into_iter().map(|(f, _)| f).collect(), offset)
}

/// `2^(j·2^-s - 1)` for `j` in `0..2^s`, each from its own exponent (no
/// error carried from entry to entry). client_golang's table, built by
/// multiplying neighbours, differs from these by at most one unit in the
/// last place, so a value within that of a bound may land one bucket apart.
fn fracs(schema: i8) -> Box<[f64]> {
    let n = 1u32 << schema;
    (0..n)
        .map(|j| (f64::from(j) / f64::from(n) - 1.0).exp2())
        .collect()
}

/// The 52 mantissa bits of `v`.
#[inline]
fn mantissa(v: f64) -> u64 {
    v.to_bits() & MANTISSA
}

const MANTISSA: u64 = (1 << 52) - 1;

/// `v = frac · 2^exp`, `frac` in `[0.5, 1)`, for a positive finite `v`
/// (Go's `math.Frexp`).
#[inline]
fn frexp(v: f64) -> (f64, i32) {
    const EXP_MASK: u64 = 0x7ff << 52;
    let bits = v.to_bits();
    let biased = ((bits & EXP_MASK) >> 52) as i32;
    if biased == 0 {
        // Subnormal: scale into the normal range first.
        let (frac, exp) = frexp(v * f64::from_bits((1023 + 64) << 52));
        return (frac, exp - 64);
    }
    let frac = f64::from_bits((bits & !EXP_MASK) | (1022 << 52));
    (frac, biased - 1022)
}

/// The bucket at one schema lower that holds bucket `key`.
#[inline]
pub(crate) fn coarser(key: i32) -> i32 {
    // ceil(key / 2): Rust's division truncates toward zero.
    if key > 0 {
        (key + 1) / 2
    } else {
        key / 2
    }
}

/// The upper bound of bucket `key` at `schema`.
#[cfg(test)]
pub(crate) fn upper_bound(schema: i8, key: i32) -> f64 {
    2f64.powf(f64::from(key) * 2f64.powi(-i32::from(schema)))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Values client_golang's table has (`nativeHistogramBounds`): equal
    /// or one unit in the last place apart.
    #[test]
    fn bounds_match_client_golang() {
        let go: [f64; 8] = [
            0.5,
            0.5452538663326288,
            0.5946035575013605,
            0.6484197773255048,
            0.7071067811865475,
            0.7711054127039704,
            0.8408964152537144,
            0.9170040432046711,
        ];
        for (ours, go) in fracs(3).iter().zip(go) {
            assert!(ours.to_bits().abs_diff(go.to_bits()) <= 1, "{ours} vs {go}");
        }
        assert_eq!(fracs(3).len(), 8);
        assert_eq!(fracs(8).len(), 256);
        // Strictly increasing, within [0.5, 1).
        let t = fracs(8);
        assert!(t.windows(2).all(|w| w[0] < w[1]) && t[255] < 1.0);
    }

    #[test]
    fn keys_at_bounds_and_between() {
        for schema in MIN_SCHEMA..=MAX_SCHEMA {
            let ladder = Ladder::new(schema);
            // 1 is the top of bucket 0 at every schema; just above is bucket 1.
            assert_eq!(ladder.key(1.0), 0, "schema {schema}");
            assert_eq!(ladder.key(1.0 + f64::EPSILON), 1, "schema {schema}");
            // 2^e is in bucket ceil(e·2^s), the top of it when e·2^s is whole.
            for e in [-32, -20, -3, 1, 7, 16, 40] {
                let key = ladder.key(2f64.powi(e));
                let at = f64::from(e) * 2f64.powi(i32::from(schema));
                assert_eq!(f64::from(key), at.ceil(), "2^{e} s{schema}");
                let above = ladder.key(2f64.powi(e) * (1.0 + 1e-12));
                let top = at.fract() == 0.0;
                assert_eq!(above, key + i32::from(top), "above 2^{e} s{schema}");
            }
        }
    }

    #[test]
    fn keys_agree_with_logarithms_away_from_bounds() {
        let mut rng = 0x9e3779b97f4a7c15u64;
        for _ in 0..100_000 {
            rng ^= rng << 13;
            rng ^= rng >> 7;
            rng ^= rng << 17;
            let v = 2f64.powf((rng % 20_000) as f64 / 100.0 - 100.0);
            for schema in [-4i8, -1, 0, 3, 8] {
                let exact = v.log2() * 2f64.powi(i32::from(schema));
                // Skip values within rounding of a bound.
                if (exact - exact.round()).abs() < 1e-9 {
                    continue;
                }
                assert_eq!(
                    Ladder::new(schema).key(v),
                    exact.ceil() as i32,
                    "{v} s{schema}"
                );
            }
        }
    }

    /// The cell lookup counts exactly what a scan of the bounds does: at
    /// every bound, one unit in the last place either side, and between.
    #[test]
    fn cell_lookup_equals_a_scan() {
        let seconds = (1..=MAX_SCHEMA).map(|s| (table(s), fracs(s)));
        let nanos = (0..=MAX_SCHEMA).map(|s| (nanos_table(s), nanos_fracs(s).0));
        for (t, bounds) in seconds.chain(nanos) {
            let scan = |frac: f64| bounds.iter().filter(|&&b| b < frac).count() as i32;
            let mut fracs: Vec<f64> = Vec::new();
            for &b in bounds.iter() {
                fracs.extend([
                    b,
                    f64::from_bits(b.to_bits() + 1),
                    f64::from_bits(b.to_bits() - 1),
                ]);
            }
            fracs.extend((0..10_000).map(|i| 0.5 + f64::from(i) / 20_000.0));
            fracs.push(f64::from_bits(1.0f64.to_bits() - 1));
            for frac in fracs.into_iter().filter(|f| (0.5..1.0).contains(f)) {
                assert_eq!(t.within(mantissa(frac)), scan(frac), "{frac} in {t:?}");
            }
        }
    }

    /// The key of `n` nanoseconds is the key of `n / 10⁹` seconds, but
    /// where the quotient's rounding puts it within a few units in the last
    /// place of a bound.
    #[test]
    fn nanos_keys_are_the_seconds_keys() {
        let mut rng = 0x2545_f491_4f6c_dd1du64;
        for schema in MIN_SCHEMA..=MAX_SCHEMA {
            let (nanos, seconds) = (NanosLadder::new(schema), Ladder::new(schema));
            for _ in 0..20_000 {
                rng ^= rng << 13;
                rng ^= rng >> 7;
                rng ^= rng << 17;
                // Log-uniform from 1 ns to 2^62 ns.
                let n = (rng >> 2) >> (rng % 62);
                let n = n.max(1);
                let v = n as f64 / 1e9;
                let key = seconds.key(v);
                if seconds.key(v * (1.0 - 4.0 * f64::EPSILON))
                    != seconds.key(v * (1.0 + 4.0 * f64::EPSILON))
                {
                    continue; // within rounding of a bound
                }
                assert_eq!(nanos.key(n), key, "{n} ns at schema {schema}");
            }
        }
    }

    /// Whole powers of two seconds are exact in nanoseconds from 2^-9 s
    /// on: each is the top of its bucket at every schema, and one
    /// nanosecond more is the next bucket when the power is a bound (below
    /// 2^53 ns).
    #[test]
    fn nanos_keys_at_powers_of_two_seconds() {
        for schema in MIN_SCHEMA..=MAX_SCHEMA {
            let ladder = NanosLadder::new(schema);
            for e in -9..=33 {
                let n = (1e9 * 2f64.powi(e)) as u64;
                let at = f64::from(e) * 2f64.powi(i32::from(schema));
                assert_eq!(
                    f64::from(ladder.key(n)),
                    at.ceil(),
                    "2^{e} s, schema {schema}"
                );
                // One nanosecond is below the resolution from 2^53 ns on.
                let top = at.fract() == 0.0 && n < 1 << 53;
                assert_eq!(
                    ladder.key(n + 1),
                    ladder.key(n) + i32::from(top),
                    "2^{e} s + 1 ns"
                );
            }
            assert_eq!(
                ladder.key(i64::MAX as u64),
                Ladder::new(schema).key(i64::MAX as f64 / 1e9)
            );
        }
    }

    #[test]
    fn extremes() {
        let ladder = Ladder::new(3);
        assert_eq!(ladder.key(f64::INFINITY), ladder.key(f64::MAX) + 1);
        assert_eq!(ladder.key(f64::MIN_POSITIVE / 4.0), -1024 * 8);
        assert_eq!(frexp(f64::MIN_POSITIVE / 4.0), (0.5, -1023));
    }

    #[test]
    fn coarser_merges_pairs() {
        // Buckets 2k-1 and 2k become k.
        for k in -10..10 {
            assert_eq!(coarser(2 * k - 1), k);
            assert_eq!(coarser(2 * k), k);
        }
        // And the merged bucket's bounds hold both.
        for k in -10..10 {
            assert_eq!(
                upper_bound(2, coarser(k)),
                upper_bound(3, if k % 2 == 0 { k } else { k + 1 })
            );
        }
    }
}
