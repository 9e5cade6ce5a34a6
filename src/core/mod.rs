//! The synchronization core of the families API: cache-line blocks and the
//! owned and shared histogram shards built on them.

pub(crate) mod lines;
pub(crate) mod owned;
pub(crate) mod shared;
