//! The synchronization core: the std / loom shim every other module takes
//! its sync types from, shard slots, cache-line blocks, the counter words
//! packed sixteen to a block, the owned and shared histogram shards built
//! on them, with their sums, the sequence-locked cell that holds an
//! exemplar, and the list that lets writers, not readers, drop what they
//! replaced; and the label index: label-value tuples, the arc-swapped
//! index of a family's series, each thread's copies of it and the
//! per-thread memo in front of it, generic over the kind of value a series
//! holds (the metric kinds live a layer up, in `family`).

pub(crate) mod columns;
pub(crate) mod index;
pub(crate) mod index_cache;
pub(crate) mod key;
pub(crate) mod latest;
pub(crate) mod lines;
pub(crate) mod memo;
pub(crate) mod owned;
pub(crate) mod retired;
pub(crate) mod shards;
pub(crate) mod shared;
pub(crate) mod slot;
pub(crate) mod sum;
pub(crate) mod sync;
pub(crate) mod tuple;
