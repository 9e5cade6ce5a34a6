//! Models 2–4: the copy-and-swap label index under concurrent inserts.
#![cfg(loom)]

use std::sync::Arc;
use std::time::Duration;

use loom_tests::{assert_self_consistent, model};
use rm_metrics::{JobRegistry, Renderer, Snapshot, OVERFLOW_LABEL};

fn series(registry: &JobRegistry) -> Vec<(String, String, u64)> {
    let mut out = Vec::new();
    registry.for_each_series(|k, s, snap| {
        assert_self_consistent(snap);
        out.push((k.to_owned(), s.to_owned(), snap.count()));
    });
    out
}

/// Model 2: two threads add the same new pair at once. Invariant: exactly one
/// series exists for it afterwards and it holds both observations.
///
/// The main thread takes the one loom shard slot first, so both inserters
/// write the shared shard. (With a spawned slot owner that exits while the
/// other thread is inside the insert, loom 0.7.3's scheduler spins without
/// finishing even at preemption bound 2; slot hand-over is proven on its own
/// in `slot_hand_over`.)
#[test]
fn concurrent_inserts_of_one_pair() {
    model("concurrent_inserts_of_one_pair", 3, || {
        let registry = Arc::new(JobRegistry::with_max_series(16));
        registry.observe("main", "holds-the-slot", Duration::from_secs(1));
        let threads: Vec<_> = (0..2)
            .map(|_| {
                let r = Arc::clone(&registry);
                loom::thread::spawn(move || r.observe("backup", "failed", Duration::from_secs(1)))
            })
            .collect();
        for t in threads {
            t.join().unwrap();
        }
        assert_eq!(
            series(&registry),
            [
                ("backup".into(), "failed".into(), 2),
                ("main".into(), "holds-the-slot".into(), 1)
            ]
        );
    });
}

/// Model 3: one thread adds a new pair while another observes an existing
/// pair and the main thread renders. Invariant: every render lists the
/// existing series and either none or all of the new one (never a torn
/// index), each self-consistent; afterwards nothing is lost.
#[test]
fn insert_observe_and_render() {
    model("insert_observe_and_render", 3, || {
        let registry = Arc::new(JobRegistry::with_max_series(16));
        registry.observe("a", "x", Duration::from_secs(1));
        let inserter = {
            let r = Arc::clone(&registry);
            loom::thread::spawn(move || r.observe("b", "y", Duration::from_secs(2)))
        };
        let observer = {
            let r = Arc::clone(&registry);
            loom::thread::spawn(move || r.observe("a", "x", Duration::from_secs(3)))
        };

        loom::thread::yield_now();
        let mut renderer = Renderer::new();
        let text =
            String::from_utf8(renderer.render(&registry, &Snapshot::default()).to_vec()).unwrap();
        let counts: Vec<&str> = text
            .lines()
            .filter(|l| l.starts_with("rm_job_duration_seconds_count"))
            .collect();
        assert!(counts[0].starts_with("rm_job_duration_seconds_count{kind=\"a\",status=\"x\"} "));
        assert!(
            counts.len() == 1
                || counts[1].starts_with("rm_job_duration_seconds_count{kind=\"b\",status=\"y\"} ")
        );
        let buckets = text
            .lines()
            .filter(|l| l.starts_with("rm_job_duration_seconds_bucket"))
            .count();
        assert_eq!(buckets, 10 * counts.len(), "torn series");

        inserter.join().unwrap();
        observer.join().unwrap();
        assert_eq!(
            series(&registry),
            [("a".into(), "x".into(), 2), ("b".into(), "y".into(), 1)]
        );
    });
}

/// Model 4: at the series limit, two threads add two different new pairs.
/// Invariant: both land in the one overflow series; the existing series and
/// the limit are untouched.
#[test]
fn overflow_under_concurrent_inserts() {
    model("overflow_under_concurrent_inserts", 3, || {
        let registry = Arc::new(JobRegistry::with_max_series(1));
        registry.observe("a", "x", Duration::from_secs(1));
        let threads: Vec<_> = ["p", "q"]
            .into_iter()
            .map(|kind| {
                let r = Arc::clone(&registry);
                loom::thread::spawn(move || r.observe(kind, "new", Duration::from_secs(5)))
            })
            .collect();
        for t in threads {
            t.join().unwrap();
        }
        let o = OVERFLOW_LABEL.to_owned();
        assert_eq!(
            series(&registry),
            [(o.clone(), o, 2), ("a".into(), "x".into(), 1)]
        );
    });
}
