//! # The series limit and the overflow series
//!
//! Every family has a series limit ([`Opts::max_series`](crate::Opts::max_series),
//! [`DEFAULT_MAX_SERIES`](crate::DEFAULT_MAX_SERIES) by default) and an
//! overflow series whose every label value is
//! [`OVERFLOW_LABEL`](crate::OVERFLOW_LABEL); the limit never counts the
//! overflow series, and removing a series makes room again. The job
//! histograms are one such family; what follows is said of them.
//!
//! Job kinds and statuses usually come from a small fixed set, but they may
//! arrive from agents over the network. To keep a flood of distinct label
//! values from growing memory and scrape size without bound, a registry holds
//! at most [`max_series`](crate::JobRegistry::with_max_series) distinct
//! `(kind, status)` pairs ([`DEFAULT_MAX_SERIES`](crate::DEFAULT_MAX_SERIES)
//! by default).
//!
//! Past the limit nothing is dropped: every observation of a *new* pair is
//! counted in one extra series whose `kind` and `status` labels are both
//! [`OVERFLOW_LABEL`](crate::OVERFLOW_LABEL) (`"__overflow__"`). Pairs that
//! already exist keep their own series. A nonzero
//! `rm_job_duration_seconds_count{kind="__overflow__",status="__overflow__"}`
//! is the signal to raise the limit or to fix the label source. (A caller that
//! itself observes that pair shares the overflow series.)
//!
//! Adding a series sets a cell of the family's recent adds, and every
//! eighth of its size in adds (at least four times its square root)
//! merges them into a new main table (see [`families`](super::families)); the
//! next scrape sorts the family again (O(series · log series)), which is
//! why adds are meant
//! to be rare and bounded: a registry sees at most `max_series + 1` of them.
