//! The synchronization core: the std / loom shim every other module takes
//! its sync types from, shard slots, cache-line blocks, the counter words
//! packed sixteen to a block, the owned and shared histogram shards built
//! on them, with their sums, the sequence-locked cell that holds an
//! exemplar, and the list that lets writers, not readers, drop what they
//! replaced.

pub(crate) mod columns;
pub(crate) mod latest;
pub(crate) mod lines;
pub(crate) mod owned;
pub(crate) mod retired;
pub(crate) mod shards;
pub(crate) mod shared;
pub(crate) mod slot;
pub(crate) mod sum;
pub(crate) mod sync;
