//! Encoders: one module per wire format, each writing a
//! [`Registry`](crate::Registry)'s families through the same visit of its
//! series, into a buffer it keeps.

pub(crate) mod exposition;
pub(crate) mod float;
pub(crate) mod openmetrics;
pub(crate) mod padded;
pub(crate) mod protobuf;
pub(crate) mod text;
