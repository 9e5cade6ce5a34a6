//! Loom models of `rm-metrics`. The models live in `tests/`; they only build
//! with `RUSTFLAGS="--cfg loom"`, and compile to nothing otherwise.
//!
//! This library holds what the models share: a bounded model runner that
//! reports how many executions loom explored, and the snapshot checks.
#![cfg(loom)]

use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Instant;

use rm_metrics::DurationHistogramValue;

/// Runs `f` under loom with the given preemption bound and prints the number
/// of executions explored and the time taken.
pub fn model(name: &str, preemption_bound: usize, f: impl Fn() + Sync + Send + 'static) {
    static EXECUTIONS: AtomicUsize = AtomicUsize::new(0);
    let mut builder = loom::model::Builder::new();
    // LOOM_MAX_PREEMPTIONS overrides the model's bound (for exploring).
    let preemption_bound = std::env::var("LOOM_MAX_PREEMPTIONS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(preemption_bound);
    builder.preemption_bound = Some(preemption_bound);
    let start = Instant::now();
    // Relaxed: a plain counter outside the model, read after `check` returns.
    let before = EXECUTIONS.load(Ordering::Relaxed);
    builder.check(move || {
        EXECUTIONS.fetch_add(1, Ordering::Relaxed);
        f();
    });
    let runs = EXECUTIONS.load(Ordering::Relaxed) - before;
    println!(
        "loom model {name}: {runs} executions, preemption bound {preemption_bound}, {:.2?}",
        start.elapsed()
    );
}

/// Checks a snapshot is self-consistent: cumulative counts never decrease
/// and the +Inf bucket equals the count.
pub fn assert_self_consistent(s: &DurationHistogramValue) {
    let c = s.cumulative();
    assert!(
        c.windows(2).all(|w| w[0] <= w[1]),
        "cumulative counts decrease: {c:?}"
    );
    assert_eq!(c[9], s.count(), "+Inf bucket != count");
}

/// Checks a snapshot of `base` (a count of observations of 1 ns, made before
/// the model's threads started) plus observations of `each` ns in the `+Inf`
/// or any other bucket is exactly consistent: self-consistent, and its sum
/// is exactly `base + (count - base) * each`.
pub fn assert_exact(s: &DurationHistogramValue, base: u64, each: u128) {
    assert_self_consistent(s);
    let others = u128::from(s.count() - base);
    assert_eq!(
        s.sum_nanos(),
        u128::from(base) + others * each,
        "sum {} is not exactly the {} counted observations",
        s.sum_nanos(),
        s.count()
    );
}
