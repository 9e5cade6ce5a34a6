//! Loom models of `rm-metrics`. The models live in `tests/`; they only build
//! with `RUSTFLAGS="--cfg loom"`, and compile to nothing otherwise.
