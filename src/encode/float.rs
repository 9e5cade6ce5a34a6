//! Floats the way Go's `%g` writes a `float64`: ryu's shortest round-trip
//! digits, laid out as plain decimal when the decimal exponent is in
//! `-4..=5`, else as `d.ddde±XX` (at least two exponent digits).

/// Appends `v` to `out` in Go's `%g` layout. Allocates only if `out` must grow.
#[inline]
pub(crate) fn write_go_g(out: &mut Vec<u8>, v: f64) {
    // Whole numbers of magnitude below 10^6 (decimal exponent at most 5:
    // plain digits, no point), the most common gauge values, sums and
    // exemplar values, need no shortest-digits search: their digits are
    // their integer's. (-0 keeps its sign on the general path.)
    if v.abs() < 1e6 && v == v.trunc() && !(v == 0.0 && v.is_sign_negative()) {
        let mut digits = itoa::Buffer::new();
        out.extend_from_slice(digits.format(v as i32).as_bytes());
        return;
    }
    // Other values of magnitude in [10^-4, 10^6) (a decimal exponent in
    // `-4..=5`, plain decimal in Go's layout): ryu writes their shortest
    // digits in the same layout, so its text is the answer (sums and
    // quantiles of seconds; the test `plain_decimals_as_the_general_path`
    // checks it against the layout of `write_shortest`).
    if (1e-4..1e6).contains(&v.abs()) {
        out.extend_from_slice(ryu::Buffer::new().format_finite(v).as_bytes());
        return;
    }
    write_shortest(out, v);
}

/// [`write_go_g`] for any value: ryu's shortest digits, laid out.
fn write_shortest(out: &mut Vec<u8>, v: f64) {
    if !v.is_finite() {
        out.extend_from_slice(if v.is_nan() {
            b"NaN"
        } else if v > 0.0 {
            b"+Inf"
        } else {
            b"-Inf"
        });
        return;
    }
    let mut ryu_buf = ryu::Buffer::new();
    let text = ryu_buf.format_finite(v).as_bytes();

    // Decompose ryu's text ("-12.5", "1e-7", "1.2345e20", "0.0") into the
    // significant digits and the exponent `e` of the first digit: v = d.ddd × 10^e.
    let (negative, text) = match text.split_first() {
        Some((b'-', rest)) => (true, rest),
        _ => (false, text),
    };
    let (mantissa, exp_part) = match text.iter().position(|&c| c == b'e') {
        Some(i) => (&text[..i], parse_exp(&text[i + 1..])),
        None => (text, 0),
    };
    let mut digits = [0u8; 24];
    let mut n = 0usize;
    // Digits before the decimal point, counted while no significant digit
    // has been seen yet, to place the point.
    let mut point: i32 = 0;
    let mut seen_point = false;
    for &c in mantissa {
        if c == b'.' {
            seen_point = true;
            continue;
        }
        if n == 0 && c == b'0' {
            // Leading zero: shifts the point left once past the decimal point.
            if seen_point {
                point -= 1;
            }
            continue;
        }
        if !seen_point {
            point += 1;
        }
        digits[n] = c;
        n += 1;
    }
    while n > 0 && digits[n - 1] == b'0' {
        n -= 1;
    }
    if n == 0 {
        out.extend_from_slice(if negative { b"-0" } else { b"0" });
        return;
    }
    let digits = &digits[..n];
    let exp = point + exp_part - 1;

    if negative {
        out.push(b'-');
    }
    if (-4..6).contains(&exp) {
        if exp < 0 {
            out.extend_from_slice(b"0.");
            out.extend(std::iter::repeat_n(b'0', (-exp - 1) as usize));
            out.extend_from_slice(digits);
        } else {
            let int_len = exp as usize + 1;
            if digits.len() <= int_len {
                out.extend_from_slice(digits);
                out.extend(std::iter::repeat_n(b'0', int_len - digits.len()));
            } else {
                out.extend_from_slice(&digits[..int_len]);
                out.push(b'.');
                out.extend_from_slice(&digits[int_len..]);
            }
        }
    } else {
        out.push(digits[0]);
        if digits.len() > 1 {
            out.push(b'.');
            out.extend_from_slice(&digits[1..]);
        }
        out.push(b'e');
        out.push(if exp < 0 { b'-' } else { b'+' });
        let mut ibuf = itoa::Buffer::new();
        let e = ibuf.format(exp.unsigned_abs());
        if e.len() < 2 {
            out.push(b'0');
        }
        out.extend_from_slice(e.as_bytes());
    }
}

fn parse_exp(s: &[u8]) -> i32 {
    let (sign, s) = match s.split_first() {
        Some((b'-', rest)) => (-1, rest),
        _ => (1, s),
    };
    sign * s
        .iter()
        .fold(0i32, |acc, &c| acc * 10 + i32::from(c - b'0'))
}

#[cfg(test)]
mod tests {
    use super::write_go_g;

    fn g(v: f64) -> String {
        let mut out = Vec::new();
        write_go_g(&mut out, v);
        String::from_utf8(out).unwrap()
    }

    /// The whole-number path writes what the general one does.
    #[test]
    fn whole_numbers_as_the_general_path() {
        let mut values: Vec<f64> = (-3000..=3000).map(f64::from).collect();
        values.extend([
            999_999.0,
            -999_999.0,
            1e6,
            -1e6,
            1e6 - 0.5,
            0.0,
            -0.0,
            0.5,
            -0.5,
        ]);
        values.extend((0..20).map(|k| 2f64.powi(k)));
        values.extend((1..=6).map(|k| 10f64.powi(k)));
        let mut x = 0x9e37_79b9_7f4a_7c15u64;
        for _ in 0..10_000 {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            values.push((x % 2_000_000) as f64 - 1e6);
        }
        for v in values {
            let (mut fast, mut general) = (Vec::new(), Vec::new());
            write_go_g(&mut fast, v);
            super::write_shortest(&mut general, v);
            assert_eq!(fast, general, "{v:?}");
        }
    }

    /// Non-whole values in the plain-decimal range: ryu's text is what the
    /// general path lays out, across the range and at both of its ends
    /// (and values just outside it take the general path).
    #[test]
    fn plain_decimals_as_the_general_path() {
        let mut values = vec![
            1e-4,
            -1e-4,
            f64::from_bits(1e-4f64.to_bits() + 1),
            f64::from_bits(1e-4f64.to_bits() - 1),
            f64::from_bits(1e6f64.to_bits() - 1),
            1e6 - 1e-10,
            999_999.5,
            0.1,
            0.5,
            1.5,
            123.456,
            0.000_123_456_789_012_345_67,
            1.0 / 3.0,
            -2.0 / 3.0,
            // Just outside: the general path's exponent layout.
            9.999e-5,
            -5e-5,
            1.5e-5,
            1e6 + 0.5,
            1.5e7,
            1.5e16,
        ];
        values.extend((-4..6).map(|k| 1.5 * 10f64.powi(k)));
        // Random bit patterns, kept if in range: the binary exponents of
        // the range, with random mantissas.
        let mut x = 0x2545_f491_4f6c_dd1du64;
        while values.len() < 200_000 {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            let v = f64::from_bits(x);
            if (1e-4..1e6).contains(&v.abs()) {
                values.push(v);
            }
            // And values of few digits, as measured sums are.
            values.push((x % 100_000_000) as f64 / 1e3 - 5e4);
        }
        for v in values {
            let (mut fast, mut general) = (Vec::new(), Vec::new());
            write_go_g(&mut fast, v);
            super::write_shortest(&mut general, v);
            assert_eq!(fast, general, "{v:?}");
        }
    }

    #[test]
    fn matches_go_percent_g() {
        // Pairs as Go 1.19's fmt.Sprintf("%g", v) prints them.
        let cases: &[(f64, &str)] = &[
            (0.0, "0"),
            (1.0, "1"),
            (43.5, "43.5"),
            (90000.0, "90000"),
            (1.08e6, "1.08e+06"),
            (1.23456789, "1.23456789"),
            (4.5e-8, "4.5e-08"),
            (4.499999999999999e-08, "4.499999999999999e-08"),
            (0.0001234, "0.0001234"),
            (0.00001234, "1.234e-05"),
            (999999.0, "999999"),
            (123456.5, "123456.5"),
            (1e6, "1e+06"),
            (1.234567e6, "1.234567e+06"),
            (9.223372036854776e9, "9.223372036854776e+09"),
            (1e-9, "1e-09"),
            (1e21, "1e+21"),
            (1.5e300, "1.5e+300"),
            (5e-324, "5e-324"),
            (0.1, "0.1"),
            (100.0, "100"),
            (-2.5, "-2.5"),
            (f64::INFINITY, "+Inf"),
        ];
        for &(v, want) in cases {
            assert_eq!(g(v), want, "{v:e}");
        }
    }
}
