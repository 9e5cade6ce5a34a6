//! # What the loom models prove
//!
//! `loom-tests/` runs the crate's own histogram and label-index code, built
//! with `--cfg loom`, under [loom](https://docs.rs/loom), which explores every
//! interleaving (up to a preemption bound) of a small program under the
//! C11 memory model. Every sync type comes from one shim module (`core/sync.rs`),
//! so the code checked is the code shipped.
//!
//! Under loom the process has one shard slot, so every model sees both write
//! paths: a thread that owns the slot (plain stores, read by a count check) and
//! threads that share the extra shard (`fetch_add` into its hot half). The
//! slot's owner records into the series' first shard, which it claims on its
//! first record. Run again with `RM_METRICS_LOOM_PLACES` set (as CI does for
//! the histogram models of `observe_and_snapshot.rs` and `families.rs`: 1,
//! 2, 4 and 9), no slot claims a first
//! shard: the owner then records into a shard of its own, made on its first
//! record and published by a one-time cell, the path of every other slot
//! of a series in a process with more (see `core/shards.rs`). The shared
//! shard is made on its first record as well, by whichever sharer (or
//! owner sent aside) comes first while the others wait (under loom by
//! yielding, see `core/sync.rs`): every model with a sharer checks that
//! making too. The models,
//! each named after the property it proves, with the preemption bound
//! each runs at:
//!
//! 1. `observers_and_a_snapshot` (bound 5; "snapshot" in its name means a
//!    read): two threads observe into one series while a third reads twice; every read is exactly
//!    consistent (monotone cumulative buckets, `+Inf == _count`, `_sum` the
//!    durations of exactly the counted observations), every observation that
//!    returned before the read began is in it, the second read has
//!    no less than the first ([`consistency`](super::consistency)), and the
//!    final read counts each observation once. The owner's first record
//!    marks its shard written, and a read skips unmarked shards: an
//!    observation that returned before the read is in it all the same.
//! 2. `slot_hand_over` (bound 6): a slot owner observes and exits; a later
//!    thread takes the slot over and observes while a read runs; the new
//!    owner continues from the old owner's counts.
//! 3. `sum_carry_owned_with_a_concurrent_reader` (bound 5) and
//!    `sum_carry_shared_with_a_concurrent_reader` (bound 4, the 2⁶⁴ case):
//!    observations of 2⁶³−1 ns carry out of a shard's low sum word, on each
//!    write path, while a reader reads twice: each read is exact (never
//!    half a carry), the second never less than the first.
//! 4. `owner_sent_to_the_shared_shard_during_a_read` (bound 5): a reader that
//!    finds the owner mid-write sends it to the shared shard; every read
//!    exact, nothing counted twice or lost. The owner makes three
//!    observations: a shard whose count is 0 reads as empty at once, so only
//!    a read during the second can fail, and only a third can be sent to the
//!    shared shard (with two, the model never reached that path).
//! 5. `two_readers_of_the_shared_shard` (bound 4): two readers race to flip
//!    the shared shard while a thread writes it; each read exact.
//! 6. `concurrent_inserts_of_one_pair` (bound 3): two threads add the same new
//!    pair; exactly one series exists and holds both observations.
//! 7. `insert_observe_and_render` (bound 3): one thread adds a pair while
//!    another observes an existing pair and a third renders: nothing lost, the
//!    index is never seen half-built.
//! 8. `overflow_under_concurrent_inserts` (bound 3): at the series limit,
//!    concurrent new pairs all land in the one overflow series.
//!
//! The families API (`loom-tests/tests/families.rs`):
//!
//! 9. `family_histogram_reads_exactly` (bound 4): two threads observe a
//!    family histogram of any width (`core::owned`, `core::shared`) while
//!    the main thread reads twice; each read exact, complete and monotone.
//! 10. `remove_while_observing_and_scraping` (bound 4): a series is removed
//!     while another thread increments it and a scrape runs; the scrape sees
//!     it whole or not at all, and afterwards it is gone or a new series with
//!     exactly the increment, never the removed count come back.
//! 11. `register_collector_while_scraping` (bound 3): a scrape-time
//!     collector family is registered during a scrape, which writes it whole
//!     or not at all.
//!
//! Exemplars (`loom-tests/tests/exemplar.rs`):
//!
//! 12. `exemplar_is_never_torn` (bound 3, 93k executions): two threads
//!     replace a counter's exemplar, with texts of one and three words,
//!     while the main thread scrapes it twice in OpenMetrics; each scrape
//!     shows no exemplar or exactly one a writer stored (its labels with
//!     its own value), and once both are joined a scrape shows one of them.
//!     Under loom the cells are made with the metric (once_cell's lock-free
//!     one-time install publishes through a `std` atomic loom cannot see),
//!     so the model checks the cell protocol and takes the install from
//!     once_cell.
//!
//! Native histograms (in `loom-tests/tests/families.rs`):
//!
//! 13. `native_reads_are_exact_in_both_ladders` (bound 3, 120k to 205k
//!     executions, as the models run before it in the process vary; 1.5 M
//!     with `RM_METRICS_LOOM_PLACES`, which CI does not run):
//!     one thread observes twice (so a read can meet it between the two),
//!     another once, into a native histogram whose observations each write
//!     a classic and a native counter; each of two reads holds exactly the
//!     same observations in both ladders and in the sum, and every
//!     observation that returned before it.
//!
//! Counters whose words share lines (in `loom-tests/tests/families.rs`):
//!
//! 14. `counters_sharing_lines_count_apart` (bound 4, 90k executions): two
//!     counters of one family, whose words are columns of one block
//!     (`core::columns`), are incremented by two threads each, the slot's
//!     owner and a sharer, while the main thread reads both twice; each
//!     read holds exactly sums of its own counter's increments, every one
//!     that returned before it, and never less than the read before.
//!
//! A family's two tables (`core/index.rs`; under loom the third series
//! in the recent cells makes an add merge them into the main table, and a
//! cell is a `OnceLock` published by a loom flag, see `core/sync.rs`):
//!
//! 15. `add_while_scraping` (bound 3, 398 executions): an add that merges
//!     races a scrape; the scrape lists each series once, and one whose
//!     add returned before it began.
//! 16. `count_while_a_merge_moves_the_series` (bound 3, 34 executions): a
//!     series is counted while another thread's add merges it; the count
//!     lands in its one series. (Bound 4 did not finish in 100 s for
//!     either.)
//! 17. `remove_from_the_main_table_while_observing_and_scraping` (bound 3,
//!     227,841 executions, 54 s): a series of the main table is removed
//!     (marked, left in the table) while another thread increments it and
//!     a scrape runs, and then a second removal merges the marked series
//!     out; a lookup right after the removal finds a new series, the scrape
//!     shows each series whole or not at all and never one removed before
//!     it began, and afterwards the tuple's series holds at most the
//!     increment, never the removed count. (Under loom the hash of the
//!     tuples is unseeded, so the tables iterate alike in every execution,
//!     which loom needs once a scrape or a merge reads each series' mark.)
//! 18. `a_scrape_sees_one_state_of_removals` (bound 3, about 1,100
//!     executions for each order): two series of the main table are
//!     removed one after the other, in both orders, while a scrape runs;
//!     the scrape shows one state of the family (none, the first or both
//!     removed), never the second removed without the first.
//! 19. `retain_while_observing` (bound 3, 165 executions): `retain` removes
//!     a series of the main table and one of the recent table in one
//!     change while another thread increments the second; both go, and
//!     afterwards the second is gone or a new series with exactly the
//!     increment, never the removed count come back.
//! 20. `a_quiet_scrape_settles_while_counting_and_adding` (bound 2, 1,236
//!     executions): a scrape that finds the family unchanged since the
//!     previous one merges its recent series into the main table (under
//!     loom from one series on) while another thread counts one of them
//!     and a third adds a series whose add merges too; the scrape shows
//!     each series whole and the new one once or (if its add had not
//!     returned) not at all, and the count lands in its one series.
//!
//! Each model was checked to fail when its invariant is broken on purpose:
//!
//! * an owned-shard read accepted without the count check: models 1, 3
//!   (owned) and 4 fail;
//! * the owner's sum stored Relaxed instead of Release (`sum_lo`, or `sum_hi`
//!   on a carry): model 3 (owned) fails;
//! * a shared-shard read that does not wait for the cold half to complete:
//!   models 3 (shared) and 5 fail;
//! * a cold half whose bucket counts are not moved into the hot one: model 3
//!   (shared) fails;
//! * an observation sent to the shared shard by the reader hint and then
//!   dropped: model 4 fails;
//! * the index models fail without the re-check under the writers' lock;
//! * the family histogram's count check removed, or its shared shard's
//!   cool-down wait removed: model 9 fails;
//! * a removed series left findable by value: model 10 fails;
//! * a lookup that takes a series marked removed, a scrape that lists one,
//!   or a removal that does not mark its series: model 17 fails on each;
//! * a scrape that keeps its first collection without reading the version
//!   again, or reads it again without the Acquire fence before, or a mark
//!   stored Relaxed instead of Release: model 18 fails on each; so does a
//!   retried collection whose version was read Relaxed (found by model 18
//!   once removals stopped loading the index cell under the writers' lock:
//!   the cell's loom stand-in, a lock, had ordered the remover with the
//!   scrape; see below);
//! * a quiet scrape's merge that leaves a series out: model 20 fails;
//! * a batch removal that skips the series of the main table: model 19
//!   fails;
//! * a scrape that reads the main table before the recent one, or keeps
//!   a series both tables hold twice: model 15 failed on each (checked when
//!   the model had two series and merged at the second, and the two tables
//!   had a cell each; they now share one);
//! * a recent cell published Relaxed instead of Release (loom reports the
//!   scrape's load of the new series' atomics as a causality violation), or
//!   a scrape that leaves the recent cells out: model 15 fails on each; a
//!   merge that leaves them out: models 15 and 16 fail; a cell lookup that
//!   takes a marked series: models 10 and 19 fail;
//! * an exemplar's data stored Relaxed, or loaded Relaxed, or a scrape's
//!   copy kept without the second check of the cell's sequence, or writers
//!   not excluded (a swap in place of the compare-exchange): model 12 fails
//!   on each;
//! * a counter's owner writing the first column of its line instead of its
//!   own: model 14 fails;
//! * with `RM_METRICS_LOOM_PLACES` set, a read that skips the shards made
//!   on first record, or such a shard published Relaxed instead of Release
//!   (loom reports the read's load of its atomics as a causality
//!   violation): model 1 fails on each;
//! * an owned-shard read of a native histogram that checks only the classic
//!   part's total: model 13 fails. (Writing the native counter after the
//!   sum instead of before is not a bug, and the model passes: the
//!   per-part check still rejects a read that sees it early.)
//!
//! Both carry models make three observations of 2⁶³−1 ns, since two sum to
//! just under 2⁶⁴ and would never carry (an earlier version of them had two,
//! and missed the Relaxed `sum_hi` plant for that reason).
//!
//! Every model that reads while others write yields first
//! (`loom::thread::yield_now`). Without it, loom never preempted the
//! reading thread's loads to run the owner's later plain stores: the
//! owner-path models only ever saw the initial state, and a planted Relaxed
//! store on that path went unnoticed. With the yield they explore the
//! interleavings, and they caught an earlier, wrong claim of these docs (that
//! `_sum` lagged by at most one observation per thread, before reads were
//! made exact).
//!
//! ## What they assume
//!
//! arc-swap is not instrumented for loom. Under `cfg(loom)` the index pointer
//! is a loom `RwLock<Arc<_>>` with the same load / store contract, so the
//! models prove our protocol *given* that arc-swap's `load` and `store` are
//! linearizable (which arc-swap documents and tests). The stand-in can
//! order more than arc-swap does (loom orders each lock acquisition after
//! the last release, readers' included), so the protocol should not lean
//! on a writer loading the cell: writers read the current index from
//! their own `Arc` under their lock, and the models then found a missing
//! Acquire that the stand-in had hidden (model 18 above). A thread's copy of a
//! family's main table (`core/index_cache.rs`, arc-swap's `Cache`) reloads
//! through that lock on every lookup under loom, and is dropped when the
//! lookup ends (a copy kept in a thread-local and dropped by its destructor
//! made loom's scheduler spin, as the memo's entries did), so the models
//! see each lookup read the published table; that arc-swap's `Cache` only skips the
//! reload while the pointer is unchanged is, again, arc-swap's contract
//! (its freshness after a removal is argued in `index_cache.rs` and tested
//! by `tests/family_memo.rs`). Slots and their release on thread exit are
//! modelled with loom's thread-locals.
//!
//! The per-thread memo in front of each family's index
//! ([`families`](super::families)) is kept empty under loom, so every
//! modelled observation takes the index path. The memo is private to its
//! thread and holds `Arc`s of series it found through an Acquire load of the
//! published index, checked against the family's removal generation (an
//! Acquire load paired with the Release bump after each removal), so the only
//! cross-thread ordering it adds is that pair, which model 10's removal
//! exercises through the index. Its correctness (always the series of the
//! *value*, never a removed one) is tested by `tests/family_memo.rs`,
//! `tests/memo.rs`, its unit tests and the `ops_vs_model` fuzz target. Loom could not run it anyway: with memo
//! entries dropped in a spawned thread's thread-local destructor, loom 0.7.3's
//! scheduler spins forever, even at preemption bound 1 (the same limit as
//! below; loom's handling of thread-local destructors is a known open issue,
//! tokio-rs/loom#297).
//!
//! One limit found: with a spawned thread that owns the slot exiting while
//! the other thread is inside an index insert, loom 0.7.3's scheduler spins
//! without finishing even at preemption bound 2, so model 4 lets the main
//! thread hold the slot (both inserters share) and hand-over is proven on its
//! own in model 2. Loom does not model `SeqCst` fences exhaustively; this
//! crate uses no fence at all (Release stores and Acquire loads only). Under loom every wait yields (`Backoff` in the shim), so a
//! waiting reader lets the thread it waits for run.
