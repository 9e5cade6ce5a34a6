//! # How a labelled observation finds its series
//!
//! [`JobRegistry::observe`] takes the labels as two `&str` on every call, so
//! finding the series is most of its cost. It goes through three levels,
//! each only when the one before has no answer:
//!
//! 1. **This thread's memo, by address.** Services pass the same literals or
//!    `&'static str` (an enum's `as_str`) every time, so the two string
//!    addresses name the pair. They pick one of 32 entries directly,
//!    without waiting for the strings' bytes to load. The entry is then
//!    *checked by value*: an address only ever suggests an entry.
//! 2. **This thread's memo, by value.** Strings built at run time (a
//!    `String` per job, a reused buffer) are found by their value in a
//!    second 32-entry table, probed from a slot picked by a hash of the
//!    value.
//! 3. **The shared index.** A hash table behind an
//!    [`ArcSwap`](arc_swap::ArcSwap), read through a thread-local
//!    [`arc_swap::Cache`] (one Acquire load while no pair is added), with a
//!    seeded hash of both strings. A pair found here is remembered in the
//!    memo; a pair not found is added under the writers' lock.
//!
//! ## Why the memo never gives a wrong answer
//!
//! * The memo compares *values*. An entry's key for a label is its length
//!   and two words of its bytes: the first and the last eight (four for
//!   values of 4 to 7 bytes; the first, middle and last byte below that).
//!   For values of up to 16 bytes these words cover every byte, so equal
//!   keys mean equal values. Longer values are compared in full with the
//!   series' own labels once their keys match. The tests rewrite one buffer
//!   in place, byte by byte, and check every observation lands by value.
//! * An entry holds an `Arc` of its series, and series are never removed
//!   from a registry, so an entry stays right however the index changes.
//! * The memo serves one registry at a time, identified by a process-unique
//!   id (never an address, which a later registry could reuse), and is
//!   emptied when the thread observes into another registry.
//! * Past the series limit, a pair's series is the overflow series, and
//!   stays so (the limit is never un-reached), so remembering that is right
//!   too. Pairs with a label over 16 bytes are not remembered then, since
//!   their check compares against the series' labels.
//!
//! ## What it costs
//!
//! * Time, measured by `cargo bench --bench compare` (`BENCHMARKS.md`): with
//!   the memo a labelled observation of one of 8 pairs takes about 2.3 times
//!   the `floor` (one relaxed `fetch_add`), against 4.6 times through the
//!   index alone. Strings at a new address every time cost a by-value probe
//!   more; they never cost a reference-count update, because an address
//!   entry is only filled when free, never evicted by a by-value hit.
//! * Memory: 2 × 32 entries of one cache line, 4 KiB (plus one line for
//!   the registry id) of thread-local storage per thread; the entries keep the series of the registry the
//!   thread observed into last alive until it observes into another
//!   registry or exits.
//! * A thread that alternates between two registries on every observation
//!   finds nothing in its memo and takes the index path each time.
//!
//! [`JobRegistry::observe`]: crate::JobRegistry::observe
