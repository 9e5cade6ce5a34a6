//! Model 1: observers and a concurrent snapshot.
//!
//! Two threads observe into one series while the main thread snapshots it.
//! Invariant in every execution: the snapshot is self-consistent, its `_sum`
//! is exactly the sum of a *subset of the counted* observations (never an
//! uncounted one; the lag is at most one in-flight observation per observer,
//! here at most both), and after the joins each observation is counted once
//! and the sum is exact.
#![cfg(loom)]

use std::sync::Arc;
use std::time::Duration;

use loom_tests::{assert_self_consistent, model};
use rm_metrics::{Registry, MAX_OBSERVATION_NANOS};

/// `a` and `b` land in different buckets, so the counts say which of them a
/// snapshot counted; their sums are distinct, so `_sum` says which it summed.
fn observers_and_a_snapshot(shards: usize, a: Duration, b: Duration) {
    let registry = Arc::new(Registry::with_shards_for_loom(16, shards));
    let handle = registry.handle("backup", "succeeded");
    let threads: Vec<_> = [a, b]
        .into_iter()
        .map(|d| {
            let h = handle.clone();
            loom::thread::spawn(move || h.observe(d))
        })
        .collect();

    let snap = handle.snapshot();
    assert_self_consistent(&snap);
    let (na, nb) = (a.as_nanos(), b.as_nanos());
    let bucket_of = |d: Duration| {
        rm_metrics::BUCKET_BOUNDS_SECONDS
            .iter()
            .position(|&s| d.as_secs_f64() <= s)
            .unwrap_or(9)
    };
    let per_bucket =
        |i: usize| snap.cumulative()[i] - if i == 0 { 0 } else { snap.cumulative()[i - 1] };
    let (counted_a, counted_b) = (per_bucket(bucket_of(a)) == 1, per_bucket(bucket_of(b)) == 1);
    let sum = snap.sum_nanos();
    let summed = [
        (0, false, false),
        (na, true, false),
        (nb, false, true),
        (na + nb, true, true),
    ]
    .into_iter()
    .find(|&(s, _, _)| s == sum)
    .unwrap_or_else(|| panic!("sum {sum} is no subset of the observations"));
    assert!(!summed.1 || counted_a, "sum includes a before a is counted");
    assert!(!summed.2 || counted_b, "sum includes b before b is counted");

    for t in threads {
        t.join().unwrap();
    }
    let done = handle.snapshot();
    assert_self_consistent(&done);
    assert_eq!(done.count(), 2);
    assert_eq!(done.sum_nanos(), na + nb);
}

#[test]
fn observers_and_a_snapshot_on_one_shard() {
    model("observers_and_a_snapshot (1 shard)", 8, || {
        observers_and_a_snapshot(1, Duration::from_secs(2), Duration::from_secs(40))
    });
}

#[test]
fn observers_and_a_snapshot_on_two_shards() {
    model("observers_and_a_snapshot (2 shards)", 8, || {
        observers_and_a_snapshot(2, Duration::from_secs(2), Duration::from_secs(40))
    });
}

/// The 128-bit sum's carry under a concurrent reader: two observations of
/// (2^63 - 1) ns and one of 1 ns on one shard flip bit 63 of the low word
/// while a snapshot reads it; the reader's parity fix-up must still see an
/// exact subset sum.
#[test]
fn sum_carry_with_a_concurrent_reader() {
    model("sum_carry_with_a_concurrent_reader", 8, || {
        let registry = Arc::new(Registry::with_shards_for_loom(16, 1));
        let handle = registry.handle("k", "s");
        handle.observe_nanos(MAX_OBSERVATION_NANOS as i64); // already in, before the race
        let max = u128::from(MAX_OBSERVATION_NANOS);
        let t = {
            let h = handle.clone();
            loom::thread::spawn(move || h.observe_nanos(MAX_OBSERVATION_NANOS as i64))
        };
        let snap = handle.snapshot();
        assert_self_consistent(&snap);
        assert!(
            snap.sum_nanos() == max || snap.sum_nanos() == 2 * max,
            "torn sum {}",
            snap.sum_nanos()
        );
        if snap.sum_nanos() == 2 * max {
            assert_eq!(snap.count(), 2, "summed but not counted");
        }
        t.join().unwrap();
        assert_eq!(handle.snapshot().sum_nanos(), 2 * max);
    });
}
