//! Design notes: the guarantees of this crate, published with its API.
//!
//! * [`sharding`]: why the counters are sharded, and what a series costs in memory.
//! * [`consistency`]: why a scrape taken during observations is exactly
//!   consistent (`_sum` covers exactly the counted observations) and never
//!   goes down, and what a scrape may wait for.
//! * [`families`]: how a service's own families store and find their
//!   series, what their reads guarantee, and their memory per series.
//! * [`cardinality`]: the series limit and the overflow series.
//! * [`loom`]: what the model-checked tests prove, and what they assume.

pub mod cardinality;
pub mod consistency;
pub mod families;
pub mod loom;
pub mod sharding;
