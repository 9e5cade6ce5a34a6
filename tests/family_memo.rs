//! The per-thread memo in front of a family's index never changes an
//! answer: values are found by value (whatever their address), a removed
//! series is never found again, long values and more than two labels are
//! compared in full, and families never share entries. Nor do the copies
//! of each family's index a thread keeps for the lookups the memo misses:
//! they follow adds and removals made by other threads.

use rm_metrics::{Counter, Family, Opts, Registry};

#[test]
fn a_buffer_rewritten_in_place_lands_by_value() {
    let registry = Registry::new();
    let family = registry.counter(Opts::new("c", "C."), ["a", "b"]).unwrap();
    let mut buf = String::from("aaaaaaaaaaaaaaaaaaaa"); // 20 bytes: compared in full
    let mut short = String::from("xxxx");
    let mut want = std::collections::BTreeMap::new();
    for round in 0..3 {
        for i in 0..buf.len() {
            // Replace one ASCII byte, keeping the buffer (and its address).
            let mut bytes = std::mem::take(&mut buf).into_bytes();
            bytes[i] = b'a' + ((i + round) % 26) as u8;
            buf = String::from_utf8(bytes).unwrap();
            if i % 7 == 0 {
                let mut s = std::mem::take(&mut short).into_bytes();
                s[i % 4] = b'0' + (i % 10) as u8;
                short = String::from_utf8(s).unwrap();
            }
            family.inc([&buf, &short]);
            *want.entry((buf.clone(), short.clone())).or_insert(0u64) += 1;
        }
    }
    for ((a, b), n) in &want {
        assert_eq!(family.with([a, b]).get(), *n, "{a} {b}");
    }
    assert_eq!(family.len(), want.len());
}

#[test]
fn a_removed_series_is_never_found_again() {
    let registry = Registry::new();
    let family = registry.counter(Opts::new("c", "C."), ["route"]).unwrap();
    for _ in 0..3 {
        family.inc(["/a"]); // remembered by this thread
    }
    assert!(family.remove(["/a"]));
    family.inc(["/a"]);
    assert_eq!(family.with(["/a"]).get(), 1, "the removed series came back");
    family.inc(["/b"]);
    family.clear();
    family.inc(["/b"]);
    assert_eq!(family.with(["/b"]).get(), 1, "a cleared series came back");
}

#[test]
fn room_made_by_a_removal_is_used() {
    let registry = Registry::new();
    let family = registry
        .counter(Opts::new("c", "C.").max_series(1), ["k"])
        .unwrap();
    family.inc(["one"]);
    family.inc(["two"]); // overflow
    family.inc(["two"]); // overflow again (through the memo or not)
    assert_eq!(family.with(["__overflow__"]).get(), 2);
    assert!(family.remove(["one"]));
    family.inc(["two"]);
    assert_eq!(family.with(["two"]).get(), 1, "a freed slot went unused");
}

#[test]
fn many_labels_and_many_families_stay_apart() {
    let registry = Registry::new();
    let three = registry
        .counter(Opts::new("three", "3."), ["a", "b", "c"])
        .unwrap();
    let other = registry
        .counter(Opts::new("other", "O."), ["a", "b", "c"])
        .unwrap();
    // Same first two values, different third: only the full compare tells.
    for i in 0..100u64 {
        let c = format!("c{}", i % 10);
        three.inc_by(["x", "y", &c], i);
        other.inc(["x", "y", &c]);
    }
    for j in 0..10u64 {
        let c = format!("c{j}");
        let want: u64 = (0..100).filter(|i| i % 10 == j).sum();
        assert_eq!(three.with(["x", "y", &c]).get(), want);
        assert_eq!(other.with(["x", "y", &c]).get(), 10);
    }
}

#[test]
fn more_tuples_than_the_memo_holds() {
    let registry = Registry::new();
    let family = registry
        .counter(Opts::new("c", "C.").max_series(5000), ["k", "s"])
        .unwrap();
    let keys: Vec<(String, String)> = (0..3000)
        .map(|i| (format!("kind-{}", i % 60), format!("status-{}", i / 60)))
        .collect();
    for _ in 0..3 {
        for (k, s) in &keys {
            family.inc([k, s]);
        }
    }
    for (k, s) in &keys {
        assert_eq!(family.with([k, s]).get(), 3);
    }
}

#[test]
fn a_memo_sampled_while_it_missed_still_answers_by_value() {
    let registry = Registry::new();
    let family = registry
        .counter(Opts::new("c", "C.").max_series(5000), ["route"])
        .unwrap();
    let keys: Vec<String> = (0..3000).map(|i| format!("/route/{i}")).collect();
    // 3,000 tuples in turn: most lookups miss the memo, which is then
    // consulted on one lookup in 16 (and learns only then).
    for _ in 0..3 {
        for k in &keys {
            family.inc([k]);
        }
    }
    // Removals while it is sampled: entries it learned are stale now.
    for k in &keys[..100] {
        assert!(family.remove([k]));
    }
    // A small working set: hits again, so every lookup consults it.
    for _ in 0..2000 {
        for k in &keys[..8] {
            family.inc([k]);
        }
    }
    for k in &keys[..8] {
        assert_eq!(
            family.with([k]).get(),
            2000,
            "{k}: a removed series came back"
        );
    }
    for k in &keys[100..] {
        assert_eq!(family.with([k]).get(), 3, "{k}");
    }
    assert_eq!(family.len(), 3000 - 100 + 8);
}

/// `n` routes: taken in turn, 3,000 of them make the memo sampled, so most
/// lookups read this thread's copy of the index.
fn routes(n: usize) -> Vec<String> {
    (0..n).map(|i| format!("/route/{i}")).collect()
}

/// A counter family `name` by route, with room for 5,000 series.
fn route_counter(registry: &Registry, name: &str) -> Family<Counter, 1> {
    registry
        .counter(Opts::new(name, "C.").max_series(5000), ["route"])
        .unwrap()
}

fn inc_each(family: &Family<Counter, 1>, keys: &[String]) {
    for k in keys {
        family.inc([k]);
    }
}

#[test]
fn a_threads_copy_of_the_index_follows_removals_made_elsewhere() {
    let registry = Registry::new();
    let family = route_counter(&registry, "c");
    let keys = routes(3000);
    // Every series exists before this thread's first lookup, so its copy
    // holds them all.
    for k in &keys {
        drop(family.with([k]));
    }
    for _ in 0..3 {
        inc_each(&family, &keys);
    }
    // Another thread removes 100 series.
    std::thread::scope(|s| {
        s.spawn(|| {
            for k in &keys[..100] {
                assert!(family.remove([k]));
            }
        });
    });
    inc_each(&family, &keys);
    for k in &keys[..100] {
        assert_eq!(family.with([k]).get(), 1, "{k}: a removed series came back");
    }
    for k in &keys[100..] {
        assert_eq!(family.with([k]).get(), 4, "{k}");
    }
    // A clear elsewhere: every series starts again from zero here.
    std::thread::scope(|s| {
        s.spawn(|| family.clear());
    });
    inc_each(&family, &keys);
    for k in &keys {
        assert_eq!(family.with([k]).get(), 1, "{k}: a cleared series came back");
    }
    assert_eq!(family.len(), 3000);
}

#[test]
fn series_added_elsewhere_are_found_through_an_older_copy() {
    let registry = Registry::new();
    let family = route_counter(&registry, "c");
    let keys = routes(3000);
    // This thread's copy is of the index with the first half only.
    inc_each(&family, &keys[..1500]);
    std::thread::scope(|s| {
        s.spawn(|| inc_each(&family, &keys[1500..]));
    });
    inc_each(&family, &keys);
    for k in &keys {
        assert_eq!(family.with([k]).get(), 2, "{k}: two series for one tuple");
    }
    assert_eq!(family.len(), 3000);
}

#[test]
fn more_families_than_a_thread_keeps_copies_of() {
    // 20 families of one kind share a thread's 8 places for index copies:
    // each lookup may evict another family's copy.
    let registry = Registry::new();
    let names: Vec<String> = (0..20).map(|f| format!("c{f}")).collect();
    let families: Vec<_> = names.iter().map(|n| route_counter(&registry, n)).collect();
    let keys = routes(1000);
    for round in 0..3u64 {
        for (i, k) in keys.iter().enumerate() {
            for (f, family) in families.iter().enumerate() {
                if (i + f) % 3 != 0 {
                    family.inc_by([k], round + 1);
                }
            }
        }
        // A removal in every other family between rounds (of a series it
        // has, unless the key is one it never sees).
        let r = round as usize;
        for (f, family) in families.iter().enumerate().step_by(2) {
            assert_eq!(family.remove([&keys[r]]), (r + f) % 3 != 0);
        }
    }
    for (f, family) in families.iter().enumerate() {
        for (i, k) in keys.iter().enumerate() {
            let removed_at = (i < 3 && f % 2 == 0).then_some(i as u64);
            let want: u64 = match ((i + f) % 3 != 0, removed_at) {
                (false, _) => 0,
                // Rounds after the removal in round `r` only.
                (true, Some(r)) => (r + 2..=3).sum(),
                (true, None) => 1 + 2 + 3,
            };
            assert_eq!(family.with([k]).get(), want, "family {f}, {k}");
        }
    }
}
