//! # How consistent is a scrape
//!
//! A scrape (a [`Renderer::render`] or a [`JobHandle::get`]) may run while
//! other threads observe. It never makes them wait or retry, and what it
//! reports for each series is **exactly consistent**:
//!
//! * the cumulative `_bucket` counts never decrease along the ladder, and the
//!   `+Inf` bucket always equals `_count` (one *non-cumulative* counter per
//!   bucket is read, and everything is derived from those reads);
//! * `_sum` is the sum of **exactly** the observations that `_count` and the
//!   buckets include: not one more, not one fewer;
//! * every observation whose `observe` call returned before the scrape began
//!   is included;
//! * a later scrape never reports less than an earlier one, in any bucket,
//!   in `_count` or in `_sum`, so Prometheus never sees a counter reset.
//!
//! client_golang's histograms give the same guarantee, with locked
//! `fetch_add`s on one shared word for every observation; here the common
//! path, a thread that owns its shard, takes no locked instruction. The Rust
//! peers that read their counters one by one give none of it.
//!
//! ## How
//!
//! A series is split into shards (see [`sharding`](super::sharding)); each
//! shard is read exactly by its own protocol, and an observation is in
//! exactly one shard, so the totals are exact too.
//!
//! * **An owned shard** has one writer, its slot's thread. The writer stores
//!   each observation's bucket counter, then the sum (Release), then the
//!   shard's observation count (Release). A reader loads the count
//!   (Acquire), the sum (Acquire), then the counters, and accepts the pass
//!   only if the counters add up to exactly that count (why that is exact:
//!   `core/owned.rs`); otherwise it retries. A busy writer could starve that
//!   reader, so a reader whose first pass fails raises a hint in the shard,
//!   and the owner, which checks the hint before each observation, writes to
//!   the shared shard instead until the reader is done: the reader waits at
//!   most for the one observation in flight. The owner's extra cost is one
//!   load and one store of the count and one load of the hint, on a line it
//!   already holds, and no fence: about 1 ns, measured in `BENCHMARKS.md`.
//!   A [native histogram](crate::NativeHistogram)'s observation writes two
//!   counters, a classic and an exponential bucket, both before the sum;
//!   the reader then checks that *each* ladder adds up to the count, so the
//!   classic buckets, the native buckets and the sum of a read are always
//!   those of exactly the same observations.
//! * **The shared shard** (threads without a slot, and owners sent there)
//!   has two halves. A writer's first `fetch_add` counts it as started and
//!   says which half is hot; it writes there and counts itself completed. A
//!   reader flips the hot half, waits for the observations that started
//!   before the flip to complete (each a handful of instructions), reads the
//!   cold half alone and moves it into the hot one. New observations go to
//!   the hot half meanwhile, so a stream of writers never holds a reader
//!   back. Readers of one shard take turns on a mutex that also keeps the
//!   last result: a shard nobody wrote since costs no flip.
//!
//! The sum is kept in integer nanoseconds in two words per shard (or half),
//! and a reader only ever reads a shard or half that no write is touching,
//! so it never sees half a carry: it is exact, 128-bit, and never wraps.
//!
//! Different series, and different shards of one series, are read one
//! after another, not at one instant: a scrape is not a global atomic
//! read, and need not be for Prometheus (each series is one sample).
//!
//! ## What a scrape may wait for
//!
//! A reader waits only for observations already under way in the shard it
//! reads: an owner between its first counter store and its count store, or shared writers
//! between their two counting `fetch_add`s. If such a thread is descheduled
//! there, the reader spins, then yields, until it runs again. Observers never
//! wait for readers.
//!
//! ## Proof
//!
//! `tests/exact.rs` checks every read taken while 2 to 72 threads
//! observe (so owned and shared shards, `Duration::MAX` included): `_sum` is
//! exactly what the counts imply, and nothing ever decreases. The loom models
//! ([`loom`](super::loom)) check the same in every interleaving of small
//! programs, and fail when the count check, the owner's Release stores of
//! the sum or the shared shard's cool-down wait is removed.
//!
//! ## After observers stop
//!
//! Once every `observe` call has returned, a scrape counts every observation
//! exactly once and `_sum` is exact. The only rounding is the final
//! conversion to seconds: the `f64` nearest the exact value for sums below
//! 2⁵³ ns (104 days), within one rounding above.
//!
//! ## Exemplars
//!
//! An exemplar is not part of the counts: a bucket's cell holds the latest
//! one, written after the observation is counted. A scrape may therefore
//! show a count without the exemplar of its newest observation (still being
//! written) or, when it reads the counts before the cells, an exemplar
//! whose observation its counts miss; it never shows a torn exemplar
//! (labels of one observation with the value of another, or half-written
//! text). Each cell is a sequence lock whose every word is atomic
//! (`core::latest`): writers claim it with one compare-exchange and never
//! wait (a writer that finds it claimed drops its exemplar, concurrent with
//! the winner's); a scrape copies the words and keeps the copy only if the
//! sequence did not move, retrying at most 16 times, after which it leaves
//! that exemplar out of this scrape rather than wait. The loom model
//! `exemplar_is_never_torn` ([`loom`](super::loom)) checks this.
//!
//! [`Renderer::render`]: crate::Renderer::render
//! [`JobHandle::get`]: crate::JobHandle::get
