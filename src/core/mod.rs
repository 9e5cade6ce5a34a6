//! The synchronization core of the families API: cache-line blocks, the
//! owned and shared histogram shards built on them, and their sums.

pub(crate) mod lines;
pub(crate) mod owned;
pub(crate) mod shards;
pub(crate) mod shared;
pub(crate) mod sum;
