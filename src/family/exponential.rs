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

/// A positive schema's bounds within an octave, and a lookup by the
/// fraction's top mantissa bits.
#[derive(Debug)]
struct Table {
    /// The `2^s` bounds within `[0.5, 1)` of a value's binary fraction:
    /// `fracs[j] = 2^(j·2^-s - 1)`.
    fracs: Box<[f64]>,
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
            // How many of the octave's bounds lie below the fraction: those
            // below its cell, and the one in the cell if it is below too.
            // Fractions in [0.5, 1) share an exponent, so their mantissas
            // order them.
            let mantissa = mantissa(frac);
            let cell = t.cells[(mantissa >> LOW_BITS) as usize];
            let within = (cell >> LOW_BITS) as i32 + i32::from(mantissa & LOW > cell & LOW);
            within + (exp - 1) * t.fracs.len() as i32
        } else {
            // An exact power of two is the top of the bucket below.
            let key = exp - i32::from(frac == 0.5);
            let shift = -self.schema;
            (key + (1 << shift) - 1) >> shift
        };
        key + inf
    }
}

/// The table of a positive schema (8 KiB), made once per process on its
/// first use.
fn table(schema: i8) -> &'static Table {
    static TABLES: [OnceLock<Table>; MAX_SCHEMA as usize] =
        [const { OnceLock::new() }; MAX_SCHEMA as usize];
    TABLES[schema as usize - 1].get_or_init(|| {
        let fracs = fracs(schema);
        let cells = std::array::from_fn(|c| {
            let c = c as u64;
            let below = fracs.iter().filter(|&&b| mantissa(b) >> LOW_BITS < c);
            let inside = fracs.iter().find(|&&b| mantissa(b) >> LOW_BITS == c);
            (below.count() as u64) << LOW_BITS | inside.map_or(LOW, |&b| mantissa(b) & LOW)
        });
        Table { fracs, cells }
    })
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
    v.to_bits() & ((1 << 52) - 1)
}

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
        for schema in 1..=MAX_SCHEMA {
            let ladder = Ladder::new(schema);
            let t = ladder.table.unwrap();
            let scan = |frac: f64| t.fracs.iter().filter(|&&b| b < frac).count() as i32;
            let mut fracs: Vec<f64> = Vec::new();
            for &b in t.fracs.iter() {
                fracs.extend([
                    b,
                    f64::from_bits(b.to_bits() + 1),
                    f64::from_bits(b.to_bits() - 1),
                ]);
            }
            fracs.extend((0..10_000).map(|i| 0.5 + f64::from(i) / 20_000.0));
            fracs.push(f64::from_bits(1.0f64.to_bits() - 1));
            for frac in fracs.into_iter().filter(|f| (0.5..1.0).contains(f)) {
                // `frac · 2` is `frac · 2^1`: its key is the count alone.
                let v = frac * 2.0;
                assert_eq!(ladder.key(v), scan(frac), "{frac} at schema {schema}");
            }
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
