//! The per-thread memo in front of the label index (`src/core/memo.rs`), seen through `JobRegistry`, must
//! never change an answer: whatever address, length or history a label
//! string has, an observation lands in the series of its *value*.

use std::collections::BTreeMap;
use std::time::Duration;

use rm_metrics::{JobRegistry, OVERFLOW_LABEL};

fn counts(registry: &JobRegistry) -> BTreeMap<(String, String), u64> {
    let mut out = BTreeMap::new();
    registry.for_each_series(|k, s, snap| {
        assert!(out
            .insert((k.to_owned(), s.to_owned()), snap.count())
            .is_none());
    });
    out
}

fn pair(k: &str, s: &str) -> (String, String) {
    (k.to_owned(), s.to_owned())
}

/// Values of every length class the memo keys differently, and values that
/// agree in length, first and last eight bytes but differ in the middle.
const VALUES: [&str; 16] = [
    "",
    "a",
    "ab",
    "abc",
    "abcd",
    "backup",
    "backuP",
    "abcdefg",
    "abcdefgh",
    "abcdefghi",
    "abcdefghijklmnop",
    "abcdefghijklmnoZ",
    "abcdefghijklmnopq",
    "0123456789-middle-A-9876543210",
    "0123456789-middle-B-9876543210",
    "0123456789-middle-AB9876543210",
];

#[test]
fn one_buffer_rewritten_in_place_is_looked_up_by_its_value() {
    let registry = JobRegistry::new();
    // Same two addresses every time, different contents.
    let mut kind = String::with_capacity(64);
    let mut status = String::with_capacity(64);
    let mut want = BTreeMap::new();
    for round in 0..20 {
        for (i, k) in VALUES.iter().enumerate() {
            let s = VALUES[(i * 5 + round) % VALUES.len()];
            kind.clear();
            kind.push_str(k);
            status.clear();
            status.push_str(s);
            registry.observe(&kind, &status, Duration::from_secs(1));
            *want.entry(pair(k, s)).or_insert(0) += 1;
        }
    }
    assert_eq!(counts(&registry), want);
}

#[test]
fn a_changed_byte_at_the_same_address_is_another_series() {
    let mut buf = String::with_capacity(64);
    for v in VALUES.iter().filter(|v| !v.is_empty()) {
        for at in 0..v.len() {
            let mut w = v.as_bytes().to_vec();
            w[at] = if w[at] == b'#' { b'%' } else { b'#' };
            let w = String::from_utf8(w).unwrap();
            let registry = JobRegistry::new();
            for value in [v, w.as_str(), v, w.as_str()] {
                buf.clear();
                buf.push_str(value);
                registry.observe(&buf, &buf, Duration::ZERO);
            }
            let want = BTreeMap::from([(pair(v, v), 2), (pair(&w, &w), 2)]);
            assert_eq!(counts(&registry), want, "{v:?} vs {w:?}");
        }
    }
}

#[test]
fn equal_values_at_other_addresses_share_one_series() {
    let registry = JobRegistry::new();
    for v in VALUES {
        // The literal, a heap copy, and a slice out of a longer string.
        let (copy, ok): (String, String) = (v.into(), "ok".into());
        let padded = format!("<{v}>");
        registry.observe(v, "ok", Duration::ZERO);
        registry.observe(&copy, "ok", Duration::ZERO);
        registry.observe(&padded[1..padded.len() - 1], &ok, Duration::ZERO);
    }
    let got = counts(&registry);
    assert_eq!(got.len(), VALUES.len());
    for v in VALUES {
        assert_eq!(got[&pair(v, "ok")], 3, "{v:?}");
    }
}

#[test]
fn more_pairs_than_the_memo_holds() {
    let registry = JobRegistry::new();
    let kinds: Vec<String> = (0..40).map(|i| format!("kind-{i}")).collect();
    let statuses: Vec<String> = (0..20).map(|i| format!("status-number-{i:03}")).collect();
    for round in 0..3 {
        for k in &kinds {
            for s in &statuses {
                registry.observe(k, s, Duration::from_secs(round));
            }
        }
    }
    let got = counts(&registry);
    assert_eq!(got.len(), 800);
    assert!(got.values().all(|&n| n == 3));
}

#[test]
fn alternating_registries_keep_their_own_counts() {
    let (a, b) = (JobRegistry::new(), JobRegistry::new());
    for i in 0..1000 {
        let r = if i % 3 == 0 { &a } else { &b };
        r.observe(VALUES[i % 5], "done", Duration::from_secs(2));
    }
    let total = |r: &JobRegistry| counts(r).values().sum::<u64>();
    assert_eq!((total(&a), total(&b)), (334, 666));

    // A registry dropped and a new one made (perhaps at the same address):
    // the new one starts empty and counts only its own observations.
    drop(a);
    let c = JobRegistry::new();
    c.observe(VALUES[0], "done", Duration::ZERO);
    assert_eq!(counts(&c), BTreeMap::from([(pair(VALUES[0], "done"), 1)]));
}

#[test]
fn past_the_limit_short_and_long_values_all_reach_the_overflow_series() {
    let registry = JobRegistry::with_max_series(2);
    registry.observe("kept", "ok", Duration::ZERO);
    registry.observe("0123456789-long-kept-label", "ok", Duration::ZERO);
    for _ in 0..50 {
        for v in VALUES {
            registry.observe(v, "late", Duration::ZERO);
        }
        registry.observe("kept", "ok", Duration::ZERO);
        registry.observe("0123456789-long-kept-label", "ok", Duration::ZERO);
    }
    let got = counts(&registry);
    assert_eq!(got.len(), 3);
    assert_eq!(got[&pair("kept", "ok")], 51);
    assert_eq!(got[&pair("0123456789-long-kept-label", "ok")], 51);
    assert_eq!(
        got[&pair(OVERFLOW_LABEL, OVERFLOW_LABEL)],
        50 * VALUES.len() as u64
    );
}

#[test]
fn threads_each_with_a_memo_count_exactly() {
    let registry = JobRegistry::new();
    std::thread::scope(|scope| {
        for t in 0..4usize {
            let registry = &registry;
            scope.spawn(move || {
                let mut kind = String::with_capacity(64);
                for i in 0..5000 {
                    kind.clear();
                    kind.push_str(VALUES[(i + t) % VALUES.len()]);
                    registry.observe(&kind, VALUES[i % 3], Duration::from_millis(i as u64));
                }
            });
        }
    });
    assert_eq!(counts(&registry).values().sum::<u64>(), 20_000);
}
