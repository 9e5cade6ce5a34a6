//! The families API: what registration accepts and refuses, and what the
//! text encoder writes for constant labels, collectors and families without
//! labels.

use rm_metrics::{Opts, RegisterError, Registry, TextEncoder, OVERFLOW_LABEL};

fn text(registry: &Registry) -> String {
    String::from_utf8(TextEncoder::new().encode(registry).to_vec()).unwrap()
}

#[test]
fn bad_registrations_are_errors_and_change_nothing() {
    let r = Registry::new();
    let o = |name| Opts::new(name, "h");
    assert_eq!(
        r.counter(o("9x"), []).unwrap_err(),
        RegisterError::InvalidName("9x".into())
    );
    assert_eq!(
        r.counter(o(""), []).unwrap_err(),
        RegisterError::InvalidName("".into())
    );
    assert_eq!(
        r.gauge(o("g"), ["a-b"]).unwrap_err(),
        RegisterError::InvalidLabelName("a-b".into())
    );
    assert_eq!(
        r.gauge(o("g"), ["__x"]).unwrap_err(),
        RegisterError::ReservedLabelName("__x".into())
    );
    assert_eq!(
        r.histogram(o("h"), ["le"], &[1.0]).unwrap_err(),
        RegisterError::ReservedLabelName("le".into())
    );
    assert!(r.gauge(o("le_is_fine_on_a_gauge"), ["le"]).is_ok());
    assert_eq!(
        r.gauge(o("g"), ["a", "a"]).unwrap_err(),
        RegisterError::DuplicateLabelName("a".into())
    );
    assert_eq!(
        r.gauge(o("g").const_label("a", "1"), ["a"]).unwrap_err(),
        RegisterError::DuplicateLabelName("a".into())
    );
    assert!(matches!(
        r.histogram(o("h"), [], &[1.0, 1.0]).unwrap_err(),
        RegisterError::InvalidBuckets(_)
    ));
    assert!(matches!(
        r.histogram(o("h"), [], &[f64::NAN]).unwrap_err(),
        RegisterError::InvalidBuckets(_)
    ));
    assert!(matches!(
        r.histogram(o("h"), [], &[1.0, f64::INFINITY]).unwrap_err(),
        RegisterError::InvalidBuckets(_)
    ));
    // Nothing of the above was registered.
    assert_eq!(
        text(&r),
        "# HELP le_is_fine_on_a_gauge h\n# TYPE le_is_fine_on_a_gauge gauge\n"
    );
    // Names that would collide in the exposition.
    r.histogram(o("lat"), [], &[1.0]).unwrap();
    for taken in ["lat", "lat_bucket", "lat_sum", "lat_count"] {
        assert_eq!(
            r.gauge(o(taken), []).unwrap_err(),
            RegisterError::DuplicateName(taken.into())
        );
    }
    r.counter(o("jobs"), []).unwrap();
    assert!(r.gauge(o("jobs_total"), []).is_err());
    assert!(r.counter(o("jobs"), []).is_err());
    // Every error reads as one line.
    let e = r.gauge(o("a\nb"), []).unwrap_err().to_string();
    assert!(!e.contains('\n'), "{e}");
}

#[test]
fn constant_labels_collectors_and_families_without_labels() {
    let r = Registry::new();
    let up = r
        .gauge(
            Opts::new("up", "Is up.\\ Or not.\nReally.").const_label("svc", "a\"b"),
            [],
        )
        .unwrap();
    up.set([], 1.0);
    assert!(!up.remove([]), "a family without labels keeps its series");
    up.clear();
    r.counter_fn(Opts::new("bytes", "Bytes."), ["dir"], |out| {
        out.sample(["out"], 7);
        out.sample(["in"], u64::MAX);
    })
    .unwrap();
    let h = r
        .histogram(Opts::new("empty", "No buckets."), [], &[])
        .unwrap();
    h.observe([], -2.5);
    h.observe([], f64::NAN);
    assert_eq!(
        text(&r),
        "# HELP up Is up.\\\\ Or not.\\nReally.\n\
         # TYPE up gauge\n\
         up{svc=\"a\\\"b\"} 1\n\
         # HELP bytes_total Bytes.\n\
         # TYPE bytes_total counter\n\
         bytes_total{dir=\"out\"} 7\n\
         bytes_total{dir=\"in\"} 18446744073709551615\n\
         # HELP empty No buckets.\n\
         # TYPE empty histogram\n\
         empty_bucket{le=\"+Inf\"} 2\n\
         empty_sum NaN\n\
         empty_count 2\n"
    );
}

#[test]
fn constant_and_own_labels_join_in_order_each_value_escaped() {
    let r = Registry::new();
    let reqs = r
        .counter(
            Opts::new("reqs", "Requests.")
                .const_label("svc", "a\"b")
                .const_label("zone", "eu\n1"),
            ["method", "path"],
        )
        .unwrap();
    reqs.inc(["GET", "/a\\b"]);
    let lat = r
        .histogram(
            Opts::new("lat", "Latency.").const_label("svc", "x"),
            ["route"],
            &[1.0],
        )
        .unwrap();
    lat.observe(["/r"], 0.5);
    let long = format!("{}\"{}", "v".repeat(70), "w".repeat(9));
    let g = r.gauge(Opts::new("g", "G."), ["a", "b", "c"]).unwrap();
    g.set(["", "1234567\n", &long], 2.0);
    assert_eq!(
        text(&r),
        format!(
            "# HELP reqs_total Requests.\n\
             # TYPE reqs_total counter\n\
             reqs_total{{svc=\"a\\\"b\",zone=\"eu\\n1\",method=\"GET\",path=\"/a\\\\b\"}} 1\n\
             # HELP lat Latency.\n\
             # TYPE lat histogram\n\
             lat_bucket{{svc=\"x\",route=\"/r\",le=\"1\"}} 1\n\
             lat_bucket{{svc=\"x\",route=\"/r\",le=\"+Inf\"}} 1\n\
             lat_sum{{svc=\"x\",route=\"/r\"}} 0.5\n\
             lat_count{{svc=\"x\",route=\"/r\"}} 1\n\
             # HELP g G.\n\
             # TYPE g gauge\n\
             g{{a=\"\",b=\"1234567\\n\",c=\"{}\\\"{}\"}} 2\n",
            "v".repeat(70),
            "w".repeat(9)
        )
    );
}

#[test]
fn handles_name_their_series_and_overflow_is_labelled() {
    let r = Registry::new();
    let f = r
        .counter(Opts::new("c", "C.").max_series(1), ["a", "b"])
        .unwrap();
    let h = f.with(["x", "y"]);
    assert_eq!(h.values().collect::<Vec<_>>(), ["x", "y"]);
    let o = f.with(["p", "q"]);
    assert_eq!(o.values().collect::<Vec<_>>(), [OVERFLOW_LABEL; 2]);
    o.inc();
    f.inc(["r", "s"]);
    assert_eq!(o.get(), 2);
    assert_eq!(f.len(), 2);
    assert_eq!(f.name(), "c");
    assert!(format!("{f:?} {h:?} {r:?}").contains("\"x\", \"y\""));
}

#[test]
fn fixed_label_sets_are_dense_and_never_panic() {
    use rm_metrics::FixedLabels;

    #[derive(Clone, Copy)]
    struct Kind(usize);
    impl FixedLabels<1> for Kind {
        const CARDINALITY: usize = 3;
        fn index(self) -> usize {
            self.0 // deliberately unchecked: 7 is out of range below
        }
        fn values(index: usize) -> [&'static str; 1] {
            [["a", "b", "c"][index]]
        }
    }

    let r = Registry::new();
    let f = r
        .counter(Opts::new("k", "K."), ["kind"])
        .unwrap()
        .fixed::<Kind>();
    f.get(Kind(1)).inc_by(2);
    f.get(Kind(7)).inc(); // a wrong index: the overflow series, no panic
    assert_eq!(f.get(Kind(1)).get(), 2);
    assert_eq!(f.family().with(["b"]).get(), 2, "the same series by value");
    assert_eq!(
        text(&r),
        "# HELP k_total K.\n# TYPE k_total counter\n\
         k_total{kind=\"__overflow__\"} 1\n\
         k_total{kind=\"a\"} 0\nk_total{kind=\"b\"} 2\nk_total{kind=\"c\"} 0\n"
    );
}

/// A counter family `c{k}` of `n` keys `k00000`, `k00001`, …, key `i`
/// counted `count(i)` times, and the keys.
fn counted_keys(
    registry: &Registry,
    n: usize,
    count: impl Fn(usize) -> u64,
) -> (rm_metrics::Family<rm_metrics::Counter, 1>, Vec<String>) {
    let f = registry
        .counter(Opts::new("c", "C.").max_series(20_000), ["k"])
        .unwrap();
    let keys: Vec<String> = (0..n).map(|i| format!("k{i:05}")).collect();
    for (i, k) in keys.iter().enumerate() {
        f.inc_by([k], count(i));
    }
    (f, keys)
}

/// Removals from a family large enough that its series sit in the main
/// table: each removed series leaves every scrape and lookup at once
/// (though the table keeps it, marked, until a merge), the others keep
/// their counts through the merges the removals make, and a removed tuple
/// used again starts from zero.
#[test]
fn removals_from_the_main_table_are_exact_through_their_merges() {
    let registry = Registry::new();
    let (f, keys) = counted_keys(&registry, 5_000, |i| i as u64 + 1);
    let removed = |i: usize| i % 3 == 0;
    for (i, k) in keys.iter().enumerate().filter(|&(i, _)| removed(i)) {
        assert!(f.remove([k]), "{k}");
        assert!(!f.remove([k]), "{k} removed twice");
        // The next key still counts; the removed one is not found.
        if let Some(next) = keys.get(i + 1) {
            assert_eq!(f.with([next]).get(), i as u64 + 2, "{next}");
        }
    }
    let left = keys.len() - keys.len().div_ceil(3);
    assert_eq!(f.len(), left);
    let mut seen = Vec::new();
    f.for_each(|s| seen.push((s.values().next().unwrap().to_owned(), s.get())));
    let want: Vec<(String, u64)> = keys
        .iter()
        .enumerate()
        .filter(|&(i, _)| !removed(i))
        .map(|(i, k)| (k.clone(), i as u64 + 1))
        .collect();
    let first_difference = seen.iter().zip(&want).find(|(a, b)| a != b);
    assert!(
        seen == want,
        "{} series listed, {} expected; first difference: {first_difference:?}",
        seen.len(),
        want.len()
    );
    assert_eq!(
        text(&registry)
            .lines()
            .filter(|l| !l.starts_with('#'))
            .count(),
        left
    );
    // Used again, a removed tuple is a new series from zero.
    for k in keys.iter().step_by(3).take(100) {
        f.inc([k]);
        assert_eq!(f.with([k]).get(), 1, "{k}");
    }
    assert_eq!(f.len(), left + 100);
    f.clear();
    assert_eq!(f.len(), 0);
    assert_eq!(f.with(["k00001"]).get(), 0);
    assert_eq!(f.len(), 1);
}

/// Random counts, removals, re-adds and now and then a `retain` sweep over
/// 2,000 tuples, checked against a map after every hundred operations
/// (every count, and the scrape): the
/// tables' merges, on adds and on removals, and tuples removed while the
/// main table still holds them marked, then added again, never lose or
/// revive a count.
#[test]
fn random_counts_and_removals_match_a_map() {
    use std::collections::BTreeMap;
    let registry = Registry::new();
    let f = registry
        .counter(Opts::new("c", "C.").max_series(5_000), ["k", "v"])
        .unwrap();
    let mut model: BTreeMap<(String, String), u64> = BTreeMap::new();
    let mut x = 0x9e37_79b9_7f4a_7c15_u64;
    let mut next = move || {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        x
    };
    for op in 0..40_000 {
        let r = next();
        let key = (format!("k{}", r % 40), format!("v{}", (r >> 8) % 50));
        let values = [key.0.as_str(), key.1.as_str()];
        if (r >> 20) % 1024 == 0 {
            // A sweep: the counts divisible by 3 go.
            let removed = f.retain(|s| s.get() % 3 != 0);
            let before = model.len();
            model.retain(|_, n| *n % 3 != 0);
            assert_eq!(removed, before - model.len(), "after {op} operations");
        } else if (r >> 20) % 4 == 0 {
            assert_eq!(f.remove(values), model.remove(&key).is_some(), "{key:?}");
        } else {
            let n = (r >> 24) % 5 + 1;
            f.inc_by(values, n);
            *model.entry(key).or_default() += n;
        }
        if op % 100 == 99 {
            assert_eq!(f.len(), model.len(), "after {op} operations");
            let mut seen = Vec::new();
            f.for_each(|s| {
                let mut v = s.values().map(str::to_owned);
                seen.push(((v.next().unwrap(), v.next().unwrap()), s.get()));
            });
            let want: Vec<_> = model.iter().map(|(k, &n)| (k.clone(), n)).collect();
            assert!(seen == want, "after {op} operations");
        }
    }
}

/// `retain` removes exactly the series its closure refuses, in one change;
/// the closure may use the family (no lock is held), and a series it
/// removes itself, or that a clear took, is not counted twice.
#[test]
fn retain_removes_what_it_refuses_and_only_that() {
    let registry = Registry::new();
    let (f, keys) = counted_keys(&registry, 3_000, |i| i as u64);
    // Refuse the odd counts; add a series from inside the closure, and
    // remove one itself before refusing it.
    let mut calls = 0;
    let removed = f.retain(|s| {
        calls += 1;
        if calls == 1 {
            f.inc(["added-during-retain"]);
        }
        if s.get() == 7 {
            assert!(f.remove(["k00007"]));
        }
        s.get() % 2 == 0
    });
    assert_eq!(calls, 3_000, "the series of one state, the added one not");
    assert_eq!(removed, 1_500 - 1, "k00007 was removed by the closure");
    assert_eq!(f.len(), 1_500 + 1);
    let mut seen = Vec::new();
    f.for_each(|s| seen.push((s.values().collect::<String>(), s.get())));
    let mut want: Vec<(String, u64)> = keys
        .iter()
        .enumerate()
        .filter(|&(i, _)| i % 2 == 0)
        .map(|(i, k)| (k.clone(), i as u64))
        .collect();
    want.insert(0, ("added-during-retain".to_owned(), 1));
    assert!(
        seen == want,
        "{} series listed, {} expected",
        seen.len(),
        want.len()
    );
    // A clear between the closure and the removal: nothing left to remove.
    let removed = f.retain(|_| {
        f.clear();
        false
    });
    assert_eq!((removed, f.len()), (0, 0));
    // Without labels: nothing.
    let g = registry.counter(Opts::new("g", "G."), []).unwrap();
    assert_eq!(g.retain(|_| false), 0);
    assert_eq!(g.len(), 1);
}

/// Label tuples of every shape a series stores (values in the series
/// itself, in a buffer of their own, and past six labels or 64 KiB with
/// their ends in another): each is found again, written whole and in
/// order, removed, and counted from zero when added again.
#[test]
fn long_and_many_label_values_are_exact() {
    let registry = Registry::new();
    let seven = registry
        .counter(
            Opts::new("seven", "Seven labels."),
            ["a", "b", "c", "d", "e", "f", "g"],
        )
        .unwrap();
    let two = registry
        .counter(Opts::new("two", "Two labels."), ["x", "y"])
        .unwrap();
    let long = "é".repeat(40_000);
    let tuples: Vec<[String; 2]> = vec![
        ["a".into(), "b".into()],
        ["x".repeat(26), "y".repeat(26)],
        ["x".repeat(26), "y".repeat(27)],
        ["/api/v1/products/:id/purchase".repeat(3), "ok".into()],
        [long.clone(), "tail".into()],
    ];
    for (i, t) in tuples.iter().enumerate() {
        two.inc_by([&t[0], &t[1]], i as u64 + 1);
    }
    let letters = ["1", "22", "333", "4444", "55555", "666666", "7777777"];
    seven.inc_by(letters, 9);
    for round in 0..2 {
        for (i, t) in tuples.iter().enumerate() {
            assert_eq!(two.with([&t[0], &t[1]]).get(), i as u64 + 1, "{round} {i}");
        }
        assert_eq!(seven.with(letters).get(), 9);
        let out = text(&registry);
        for (i, t) in tuples.iter().enumerate() {
            let line = format!("two_total{{x=\"{}\",y=\"{}\"}} {}\n", t[0], t[1], i + 1);
            assert!(out.contains(&line), "{i}");
        }
        assert!(out.contains(
            "seven_total{a=\"1\",b=\"22\",c=\"333\",d=\"4444\",e=\"55555\",f=\"666666\",g=\"7777777\"} 9\n"
        ));
        // A value one byte off, or the same bytes split elsewhere, is
        // another series (added here, at zero).
        let moved = (format!("{}y", tuples[1][0]), "y".repeat(25));
        assert_eq!(two.with([&tuples[4][0], "tai"]).get(), 0);
        assert_eq!(two.with([&moved.0, &moved.1]).get(), 0);
        assert!(two.remove([&tuples[4][0], "tai"]));
        assert!(two.remove([&moved.0, &moved.1]));
    }
    for t in &tuples {
        assert!(two.remove([&t[0], &t[1]]));
        assert!(!two.remove([&t[0], &t[1]]));
    }
    assert!(seven.remove(letters));
    assert!(!text(&registry).contains("_total{"));
    two.inc([&long, "tail"]);
    assert_eq!(two.with([&long, "tail"]).get(), 1);
}
