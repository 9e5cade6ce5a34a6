//! The gated `/metrics` HTTP endpoint (feature `exporter`).
//!
//! * [`Gate`]: who may scrape — a bearer token ([`TOKEN_ENV`], or a file
//!   named by [`TOKEN_FILE_ENV`]), trusted
//!   networks ([`TRUSTED_CIDR_ENV`]), or both, ANDed. With neither, the route
//!   is not mounted. Framework-agnostic: use [`Gate::check`] in your own
//!   server if you have one.
//! * [`Exporter`]: a small HTTP/1.1 server on hyper that runs on its own
//!   thread and serves `GET`/`HEAD /metrics` from a [`JobRegistry`](crate::JobRegistry)
//!   and a [`SnapshotSource`], in OpenMetrics 1.0 or the text format 0.0.4
//!   as the scraper's `Accept` asks, gzip-compressed when it accepts it.
//!   Built to hold under hostile load: untrusted peers are turned away at
//!   accept, connections are capped per peer, unauthorized connections give
//!   way to new ones, scrapes are capped and time-limited (503 with
//!   `Retry-After`), and slow readers are cut off.
//!
//! `docs/prometheus.md` in the repository shows a full set-up with a
//! Prometheus scrape config and the Grafana dashboard.

mod admission;
mod gate;
mod negotiate;
mod scrape;
mod server;

pub use gate::{
    Decision, Gate, GateError, MIN_TOKEN_LEN, TOKEN_ENV, TOKEN_FILE_ENV, TRUSTED_CIDR_ENV,
};
pub use server::{Exporter, Running, SnapshotSource, CONTENT_TYPE};
