//! The restic-manager job ladder.

/// Upper bounds of the job-duration buckets, in seconds: admin commands that
/// finish in a second up to backups that run for a day. `+Inf` is implicit.
pub const BUCKET_BOUNDS_SECONDS: [f64; 9] = [
    1.0, 5.0, 30.0, 60.0, 300.0, 1800.0, 3600.0, 21600.0, 86400.0,
];
