//! Model 1 and its variants: observers and concurrent snapshots.
//!
//! Under loom the process has one owned shard slot plus the shared shard, so
//! of two observer threads one may own slot 0 (plain loads and stores, read
//! by a count check) while the other shares (`fetch_add` into the hot half),
//! or the second may take the slot over after the first exits, or an owner
//! may be sent to the shared shard while a snapshot reads its own; loom
//! explores all of these.
//!
//! Invariant in every execution: each snapshot is **exactly consistent** (its
//! `_sum` is the sum of exactly the observations its counts hold), every
//! observation that returned before the snapshot began is in it, a later
//! snapshot never has less than an earlier one, and after the joins each
//! observation is counted once and the sum is exact.
//!
//! Each model yields before its snapshot: loom does not, by itself, preempt a
//! thread's atomic loads to run another thread's later plain stores, so
//! without the yield the owner-path models only ever saw the initial state
//! (checked by planting a Relaxed sum store, which they then missed).
#![cfg(loom)]

use std::sync::atomic::Ordering::{Acquire, Release};
use std::sync::Arc;
use std::time::Duration;

use loom::sync::atomic::{AtomicBool, AtomicUsize};

use loom_tests::{assert_exact, assert_self_consistent, model};
use rm_metrics::{JobRegistry, MAX_OBSERVATION_NANOS};

/// `a` and `b` land in different buckets, so the counts say which of them a
/// snapshot counted; their sums are distinct, so `_sum` says which it summed.
fn observe_two_and_snapshot(a: Duration, b: Duration) {
    let registry = Arc::new(JobRegistry::with_max_series(16));
    let handle = registry.handle("backup", "succeeded");
    // `returned[i]`: observer i's `observe` call has returned.
    let returned = Arc::new([AtomicBool::new(false), AtomicBool::new(false)]);
    let threads: Vec<_> = [a, b]
        .into_iter()
        .enumerate()
        .map(|(i, d)| {
            let (h, returned) = (handle.clone(), Arc::clone(&returned));
            loom::thread::spawn(move || {
                h.observe(d);
                returned[i].store(true, Release);
            })
        })
        .collect();

    // Let the observers run first too: without a yield, loom never preempts
    // this thread's loads for the observers' plain stores.
    loom::thread::yield_now();
    let before = [returned[0].load(Acquire), returned[1].load(Acquire)];
    let snap = handle.get();
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
    let want = if counted_a { na } else { 0 } + if counted_b { nb } else { 0 };
    assert_eq!(sum, want, "sum is not exactly the counted observations");
    assert!(
        !before[0] || counted_a,
        "a returned before the snapshot but is missing"
    );
    assert!(
        !before[1] || counted_b,
        "b returned before the snapshot but is missing"
    );
    // A second read is exact too, and never has less.
    let again = handle.get();
    assert_self_consistent(&again);
    let c = again.cumulative();
    let per = |i: usize| c[i] - if i == 0 { 0 } else { c[i - 1] };
    let want_again = u128::from(per(bucket_of(a))) * na + u128::from(per(bucket_of(b))) * nb;
    assert_eq!(again.sum_nanos(), want_again, "second read not exact");
    assert!(again.count() >= snap.count() && again.sum_nanos() >= sum);

    for t in threads {
        t.join().unwrap();
    }
    let done = handle.get();
    assert_self_consistent(&done);
    assert_eq!(done.count(), 2);
    assert_eq!(done.sum_nanos(), na + nb);
}

#[test]
fn observers_and_a_snapshot() {
    model("observers_and_a_snapshot", 5, || {
        observe_two_and_snapshot(Duration::from_secs(2), Duration::from_secs(40))
    });
}

/// The owner of slot 0 observes and exits; a second thread, started after,
/// takes the slot over and observes while the main thread snapshots. The new
/// owner must continue from the old owner's counts (plain load+store), and
/// the snapshot must stay self-consistent.
#[test]
fn slot_hand_over() {
    model("slot_hand_over", 6, || {
        let registry = Arc::new(JobRegistry::with_max_series(16));
        let handle = registry.handle("k", "s");
        let first = {
            let h = handle.clone();
            loom::thread::spawn(move || {
                h.observe(Duration::from_secs(2));
                h.observe(Duration::from_secs(2));
            })
        };
        first.join().unwrap();
        let second = {
            let h = handle.clone();
            loom::thread::spawn(move || h.observe(Duration::from_secs(40)))
        };
        loom::thread::yield_now();
        let snap = handle.get();
        assert_self_consistent(&snap);
        let want = [(2, 4_000_000_000), (3, 44_000_000_000)];
        let got = (snap.count(), snap.sum_nanos());
        assert!(
            got == want[0] || got == want[1] || got == (3, 4_000_000_000),
            "snapshot {got:?}"
        );
        second.join().unwrap();
        assert_eq!((handle.get().count(), handle.get().sum_nanos()), want[1]);
    });
}

/// The 128-bit sum's carry under a concurrent reader, on the owned path. A
/// first thread adds (2^63 - 1) ns and exits; a second takes its slot over
/// and adds (2^63 - 1) ns twice, the second add carrying out of the low word
/// (3 × (2^63 - 1) > 2^64), while the main thread snapshots twice: each read
/// is exact (never half a carry), the second never has less.
#[test]
fn sum_carry_owned_with_a_concurrent_reader() {
    model("sum_carry_owned_with_a_concurrent_reader", 5, || {
        let registry = Arc::new(JobRegistry::with_max_series(16));
        let handle = registry.handle("k", "s");
        let max = u128::from(MAX_OBSERVATION_NANOS);
        let first = {
            let h = handle.clone();
            loom::thread::spawn(move || h.observe_nanos(MAX_OBSERVATION_NANOS as i64))
        };
        first.join().unwrap();
        let returned = Arc::new(AtomicUsize::new(0));
        let t = {
            let (h, returned) = (handle.clone(), Arc::clone(&returned));
            loom::thread::spawn(move || {
                h.observe_nanos(MAX_OBSERVATION_NANOS as i64);
                returned.fetch_add(1, Release);
                h.observe_nanos(MAX_OBSERVATION_NANOS as i64);
                returned.fetch_add(1, Release);
            })
        };
        loom::thread::yield_now();
        let done = returned.load(Acquire) as u128;
        let snap = handle.get();
        assert_exact(&snap, 0, max);
        let count = u128::from(snap.count());
        assert!(1 + done <= count, "returned {done}, counted {count}");
        let again = handle.get();
        assert_exact(&again, 0, max);
        assert!(again.sum_nanos() >= snap.sum_nanos(), "the sum went down");
        t.join().unwrap();
        let end = handle.get();
        assert_exact(&end, 0, max);
        assert_eq!(end.count(), 3);
    });
}

/// The same on the shared shard, the 2⁶⁴ case: the main thread takes slot 0
/// first, so every other thread writes the shared shard with `fetch_add`s. A
/// first one adds (2^63 - 1) ns and exits; then two threads add (2^63 - 1) ns
/// each, one of them carrying out of the low word, while the main thread
/// snapshots twice: each read exact, the second never less.
#[test]
fn sum_carry_shared_with_a_concurrent_reader() {
    model("sum_carry_shared_with_a_concurrent_reader", 4, || {
        let registry = Arc::new(JobRegistry::with_max_series(16));
        let handle = registry.handle("k", "s");
        handle.observe_nanos(1); // the main thread owns slot 0 from here on
        let max = u128::from(MAX_OBSERVATION_NANOS);
        let first = {
            let h = handle.clone();
            loom::thread::spawn(move || h.observe_nanos(MAX_OBSERVATION_NANOS as i64))
        };
        first.join().unwrap();
        let returned = Arc::new(AtomicUsize::new(0));
        let threads: Vec<_> = (0..2)
            .map(|_| {
                let (h, returned) = (handle.clone(), Arc::clone(&returned));
                loom::thread::spawn(move || {
                    h.observe_nanos(MAX_OBSERVATION_NANOS as i64);
                    returned.fetch_add(1, Release);
                })
            })
            .collect();
        loom::thread::yield_now();
        let done = returned.load(Acquire) as u128;
        let snap = handle.get();
        assert_exact(&snap, 1, max);
        let counted = u128::from(snap.count()) - 1;
        assert!(1 + done <= counted, "returned {done}, counted {counted}");
        let again = handle.get();
        assert_exact(&again, 1, max);
        assert!(again.sum_nanos() >= snap.sum_nanos(), "the sum went down");
        for t in threads {
            t.join().unwrap();
        }
        let end = handle.get();
        assert_exact(&end, 1, max);
        assert_eq!(end.count(), 4);
    });
}

/// An owner observes three times while the main thread snapshots twice. A
/// snapshot that finds the owner mid-write (a count of at least 1: a shard
/// whose count is 0 reads as empty at once) raises the reader hint, and the
/// owner's next observation goes to the shared shard: three observations
/// are needed for that to happen. Every read is exact, the second never has
/// less, and after the join all three are counted once.
#[test]
fn owner_sent_to_the_shared_shard_during_a_read() {
    model("owner_sent_to_the_shared_shard_during_a_read", 5, || {
        let registry = Arc::new(JobRegistry::with_max_series(16));
        let handle = registry.handle("k", "s");
        let t = {
            let h = handle.clone();
            loom::thread::spawn(move || {
                h.observe(Duration::from_secs(2));
                h.observe(Duration::from_secs(40));
                h.observe(Duration::from_secs(2));
            })
        };
        loom::thread::yield_now();
        let first = handle.get();
        let second = handle.get();
        for snap in [&first, &second] {
            assert_self_consistent(snap);
            let c = snap.cumulative();
            let want = u128::from(c[1]) * 2_000_000_000 + u128::from(c[3] - c[2]) * 40_000_000_000;
            assert_eq!(snap.sum_nanos(), want, "not exact: {c:?}");
        }
        assert!(second.count() >= first.count());
        t.join().unwrap();
        let done = handle.get();
        assert_eq!((done.count(), done.sum_nanos()), (3, 44_000_000_000));
    });
}

/// One sharer and two readers: the main thread owns slot 0, a spawned thread
/// writes the shared shard, and a spawned reader and the main thread race to
/// flip it. Readers serialize on its lock; each read is exact.
#[test]
fn two_readers_of_the_shared_shard() {
    model("two_readers_of_the_shared_shard", 4, || {
        let registry = Arc::new(JobRegistry::with_max_series(16));
        let handle = registry.handle("k", "s");
        handle.observe_nanos(1); // the main thread owns slot 0 from here on
        let writer = {
            let h = handle.clone();
            loom::thread::spawn(move || h.observe(Duration::from_secs(40)))
        };
        let reader = {
            let h = handle.clone();
            loom::thread::spawn(move || {
                let s = h.get();
                assert_exact(&s, 1, 40_000_000_000);
                s.count()
            })
        };
        loom::thread::yield_now();
        let mine = handle.get();
        assert_exact(&mine, 1, 40_000_000_000);
        writer.join().unwrap();
        let theirs = reader.join().unwrap();
        assert!(theirs <= 2 && mine.count() <= 2);
        let done = handle.get();
        assert_eq!((done.count(), done.sum_nanos()), (2, 40_000_000_001));
    });
}
