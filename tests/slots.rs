//! The process' shard slot count, set to the 64-slot cap on this machine
//! (the count of a machine with 16 cores or more): the setting's contract,
//! exact counts with more threads than slots, and what a series costs in
//! memory there, counted by the allocator (`docs::families` quotes these
//! numbers).
//!
//! This file is a process of its own, so its first setting is the one
//! that holds; every test sets the same count first.

use std::alloc::System;
use std::sync::{Barrier, Mutex, MutexGuard};
use std::time::Duration;

use rm_metrics::{set_shard_slots, shard_slots, Opts, Registry, SlotsError, BUCKET_BOUNDS_SECONDS};
use stats_alloc::{Region, StatsAlloc, INSTRUMENTED_SYSTEM};

#[global_allocator]
static GLOBAL: &StatsAlloc<System> = &INSTRUMENTED_SYSTEM;

const SLOTS: usize = 64;

/// Sets the cap (every test asks first; the first sets it), and holds a
/// lock while the test runs: the allocator's counts are process-wide, and
/// one test's threads must not hold slots another test counts on.
fn sixty_four_slots() -> MutexGuard<'static, ()> {
    static SERIAL: Mutex<()> = Mutex::new(());
    let guard = SERIAL.lock().unwrap_or_else(|p| p.into_inner());
    assert_eq!(set_shard_slots(SLOTS), Ok(()));
    guard
}

/// Net heap bytes (allocated less freed) while `f` runs.
fn net_bytes(f: impl FnOnce()) -> i64 {
    let region = Region::new(GLOBAL);
    f();
    let change = region.change();
    // A `realloc` counts its growth as allocated, its shrinking as freed.
    change.bytes_allocated as i64 - change.bytes_deallocated as i64
}

/// Runs `work(t)` on `n` threads and joins each: a joined thread has run
/// its thread-local destructors, so its slot is free again (the implicit
/// join at the end of a `thread::scope` does not wait for them:
/// rust-lang/rust#116179).
fn joined<F: FnOnce() + Send>(n: usize, work: impl Fn(usize) -> F) {
    std::thread::scope(|s| {
        let threads: Vec<_> = (0..n).map(|t| s.spawn(work(t))).collect();
        for thread in threads {
            thread.join().unwrap();
        }
    });
}

/// Net heap bytes a series costs that `add` makes, written by this thread
/// only: the first of `values` outside the count (it makes this thread's
/// memo and copy of the index), each of the others a new series in it.
fn bytes_per_new_series(values: &[[String; 2]], add: impl Fn([&str; 2])) -> i64 {
    add(as_strs(&values[0]));
    net_bytes(|| values[1..].iter().for_each(|v| add(as_strs(v)))) / (values.len() as i64 - 1)
}

fn as_strs(v: &[String; 2]) -> [&str; 2] {
    [v[0].as_str(), v[1].as_str()]
}

/// Two values of six bytes, distinct for each `i` below 1,000,000.
fn pair(i: usize) -> [String; 2] {
    [format!("k{:05}", i / 1000), format!("s{:05}", i % 1000)]
}

#[test]
fn the_count_is_fixed_once_and_bad_counts_are_refused() {
    let _serial = sixty_four_slots();
    assert_eq!(shard_slots(), SLOTS);
    assert_eq!(set_shard_slots(SLOTS), Ok(()), "the same count again");
    assert_eq!(set_shard_slots(0), Err(SlotsError::OutOfRange(0)));
    assert_eq!(set_shard_slots(65), Err(SlotsError::OutOfRange(65)));
    assert_eq!(set_shard_slots(8), Err(SlotsError::AlreadyFixed(SLOTS)));
    assert_eq!(shard_slots(), SLOTS, "a refused setting changes nothing");
    assert_eq!(
        SlotsError::OutOfRange(65).to_string(),
        "shard slots must be 1 to 64, not 65"
    );
    assert_eq!(
        SlotsError::AlreadyFixed(8).to_string(),
        "shard slots already fixed at 8: set them before the first counter or histogram series"
    );
}

/// 70 threads alive at once, so at least 6 without a slot (the shared
/// word and shard), the others each in a slot of its own: no count lost,
/// the histograms' sums exact.
#[test]
fn more_threads_than_slots_lose_no_count() {
    let _serial = sixty_four_slots();
    threads_lose_no_count(70);
}

/// Counts that are not a power of two, and a single slot, in a process of
/// their own each: this test binary again, running only
/// [`child_with_slots_from_env`].
#[test]
fn any_count_from_one_to_sixty_four_loses_no_count() {
    for slots in ["1", "3"] {
        let out = std::process::Command::new(std::env::current_exe().unwrap())
            .args(["--exact", "child_with_slots_from_env", "--ignored"])
            .env(CHILD_SLOTS, slots)
            .output()
            .unwrap();
        let stdout = String::from_utf8_lossy(&out.stdout);
        assert!(
            out.status.success() && stdout.contains("1 passed"),
            "{slots} slots: {stdout}{}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
}

const CHILD_SLOTS: &str = "RM_METRICS_TEST_SLOTS";

/// Run by [`any_count_from_one_to_sixty_four_loses_no_count`] only, in a
/// process of its own (ignored in this binary's own run, whose count is
/// 64).
#[test]
#[ignore = "a child process of any_count_from_one_to_sixty_four_loses_no_count"]
fn child_with_slots_from_env() {
    let slots: usize = std::env::var(CHILD_SLOTS).unwrap().parse().unwrap();
    assert_eq!(set_shard_slots(slots), Ok(()));
    assert_eq!(shard_slots(), slots);
    threads_lose_no_count(slots + 7);
}

/// `threads` threads alive at once, each counting, observing a histogram
/// and a duration 1,000 times into one series of each: no count lost.
fn threads_lose_no_count(threads: usize) {
    const EACH: u64 = 1000;
    let registry = Registry::new();
    let counter = registry.counter(Opts::new("c", "C."), ["k"]).unwrap();
    let histogram = registry
        .histogram(Opts::new("h", "H."), ["k"], &[0.5, 1.5])
        .unwrap();
    let durations = registry
        .duration_histogram(Opts::new("d", "D."), ["k"], &BUCKET_BOUNDS_SECONDS)
        .unwrap();
    let all_alive = Barrier::new(threads);
    joined(threads, |t| {
        {
            let (counter, histogram, durations, all_alive) =
                (&counter, &histogram, &durations, &all_alive);
            move || {
                // Every thread claims its slot (or finds none) while all
                // are alive, so owners and sharers write at once.
                all_alive.wait();
                for i in 0..EACH {
                    counter.inc(["x"]);
                    histogram.observe(["x"], (t % 2) as f64 + 1.0);
                    durations.observe(["x"], Duration::from_nanos(i));
                }
                all_alive.wait();
            }
        }
    });
    let n = threads as u64 * EACH;
    let odd = (threads / 2) as u64 * EACH;
    assert_eq!(counter.with(["x"]).get(), n);
    let read = histogram.with(["x"]).get();
    assert_eq!(read.cumulative(), [0, n - odd, n]);
    assert_eq!(read.sum(), (n - odd) as f64 + odd as f64 * 2.0);
    let read = durations.with(["x"]).get();
    assert_eq!(read.count(), n);
    assert_eq!(
        read.sum_nanos(),
        threads as u128 * u128::from(EACH * (EACH - 1) / 2)
    );
}

/// What a series costs with 64 slots, as `docs::families` states it.
#[test]
fn memory_per_series_at_sixty_four_slots() {
    let _serial = sixty_four_slots();
    const SERIES: usize = 4000;
    let values: Vec<[String; 2]> = (0..SERIES).map(pair).collect();
    let registry = Registry::new();

    // Counters: a word for each of the first 32 slots and the shared one,
    // 33 words, packed sixteen counters to a block of 33 lines.
    let counters = registry
        .counter(Opts::new("c", "C.").max_series(SERIES), ["k", "s"])
        .unwrap();
    let counter = bytes_per_new_series(&values, |v| counters.inc(v));

    // Histograms of 9 bounds: one writer each, then a second writer each
    // (its shard, and the table of the 64 slots' places).
    let histograms = registry
        .histogram(
            Opts::new("h", "H.").max_series(SERIES),
            ["k", "s"],
            &BUCKET_BOUNDS_SECONDS,
        )
        .unwrap();
    let one_writer = bytes_per_new_series(&values, |v| histograms.observe(v, 1.0));
    let handles: Vec<_> = values.iter().map(|v| histograms.with(as_strs(v))).collect();
    let second_writer = net_bytes(|| {
        joined(1, |_| || handles.iter().for_each(|h| h.observe(2.0)));
    }) / SERIES as i64;
    for h in &handles {
        assert_eq!(h.get().count(), 2, "no count lost");
    }
    drop(handles);

    // Duration histograms (the restic-manager job series): one writer
    // each, then, for 100 of them, 64 threads, each in a slot of its own:
    // the most a series takes before a thread without a slot writes it.
    const WRITTEN: usize = 100;
    let durations = registry
        .duration_histogram(
            Opts::new("d", "D.").max_series(SERIES),
            ["k", "s"],
            &BUCKET_BOUNDS_SECONDS,
        )
        .unwrap();
    let second = Duration::from_secs(1);
    let duration_one_writer = bytes_per_new_series(&values, |v| durations.observe(v, second));
    // This thread wrote each series' first shard (made with the series,
    // so outside the count below); 63 more threads, alive at once, each
    // make a shard of their own, and the first of them the table of places.
    let handles: Vec<_> = values[..WRITTEN]
        .iter()
        .map(|v| durations.with(as_strs(v)))
        .collect();
    let all_alive = Barrier::new(SLOTS - 1);
    let every_slot = net_bytes(|| {
        joined(SLOTS - 1, |_| {
            || {
                all_alive.wait();
                handles.iter().for_each(|h| h.observe(second));
                // No thread leaves (freeing its slot for another)
                // before all have recorded.
                all_alive.wait();
            }
        });
    }) as f64
        / WRITTEN as f64;
    for h in &handles {
        assert_eq!(h.get().count(), SLOTS as u64, "no count lost");
        assert_eq!(h.get().sum_nanos(), SLOTS as u128 * 1_000_000_000);
    }

    eprintln!(
        "64 slots, bytes a series: counter {counter}, histogram one writer {one_writer}, \
         a second writer {second_writer}, duration histogram one writer \
         {duration_one_writer}, all 64 slots' shards and table {every_slot:.0}"
    );
    // Words: 33 lines of 128 bytes for 16 counters = 264 bytes; the
    // header, values and index ≈ 170 (209 in all with 4 + 1 words).
    assert!((380..=480).contains(&counter), "counter: {counter} bytes");
    // The first shard is made with the series, one line, on any number
    // of slots: as on 2 cores' 8 slots (374 counted there).
    assert!(
        (340..=420).contains(&one_writer),
        "histogram: {one_writer} bytes"
    );
    // The duration histogram's header is 232 bytes, not the histogram's
    // 224, and its shard the same line.
    assert!(
        (350..=430).contains(&duration_one_writer),
        "duration histogram: {duration_one_writer} bytes"
    );
    // A shard (128) and 64 places of 24 bytes: 1,664.
    assert!(
        (1664..=1720).contains(&second_writer),
        "second writer: {second_writer} bytes"
    );
    // 63 more shards and the table: 63 × 128 + 64 × 24 = 9,600 a series,
    // and the 63 threads' own start-up, a few percent of it.
    let expected = 63.0 * 128.0 + 64.0 * 24.0;
    assert!(
        (expected..=expected * 1.05).contains(&every_slot),
        "every slot: {every_slot} bytes, expected {expected}"
    );
}
