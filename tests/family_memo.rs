//! The per-thread memo in front of a family's index never changes an
//! answer: values are found by value (whatever their address), a removed
//! series is never found again, long values and more than two labels are
//! compared in full, and families never share entries.

use rm_metrics::{Opts, Registry};

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
