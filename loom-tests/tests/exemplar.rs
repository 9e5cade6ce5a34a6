//! Models of exemplar replacement: what a scrape may see while writers
//! replace a counter's exemplar.
#![cfg(loom)]

use loom_tests::model;
use rm_metrics::{Exemplar, OpenMetricsEncoder, Opts, Registry};

/// The exemplar part of a counter's OpenMetrics sample line, if any.
fn exemplar_of(registry: &Registry) -> Option<String> {
    let body = String::from_utf8(OpenMetricsEncoder::new().encode(registry).to_vec()).unwrap();
    let line = body.lines().find(|l| l.starts_with("c_total "))?.to_owned();
    line.split_once(" # ").map(|(_, e)| e.to_owned())
}

/// Two writers replace the exemplar of one counter, with texts of
/// different lengths (one word and three words), while the main thread
/// scrapes twice. Invariant: each scrape shows no exemplar or exactly one
/// that a writer stored (its labels with its own value), never a mix; once
/// both writers are joined, a scrape shows one of them.
#[test]
fn exemplar_is_never_torn() {
    model("exemplar_is_never_torn", 3, || {
        let registry = Registry::new();
        let counter = registry.counter(Opts::new("c", "C."), []).unwrap().with([]);
        const WRITTEN: [(u64, &str); 2] = [(1, "a"), (2, "bbbbbbbbbbbbbbbbbbbb")];
        let expected: Vec<String> = WRITTEN
            .iter()
            .map(|(n, v)| format!("{{t=\"{v}\"}} {n}"))
            .collect();
        let threads: Vec<_> = WRITTEN
            .iter()
            .map(|&(n, v)| {
                let c = counter.clone();
                loom::thread::spawn(move || {
                    let labels = [("t", v)];
                    c.inc_by_with_exemplar(n, &Exemplar::new(&labels).unwrap());
                })
            })
            .collect();
        for _ in 0..2 {
            if let Some(seen) = exemplar_of(&registry) {
                assert!(expected.contains(&seen), "torn exemplar: {seen}");
            }
        }
        for t in threads {
            t.join().unwrap();
        }
        let last = exemplar_of(&registry).expect("no exemplar after both writers");
        assert!(expected.contains(&last), "torn exemplar: {last}");
    });
}
