//! A snapshot source for exporter tests: `n` online hosts whose id is also
//! their name. Any `FnMut(&mut dyn FnMut(&Snapshot))` is an exporter
//! `SnapshotSource`, so this needs no exporter types (the fuzz targets
//! include this module without the `exporter` feature).
#![allow(dead_code)]

use rm_metrics::{HostRow, Snapshot};

/// Ids `host-00000`, `host-00001`, … as both id and name.
pub fn ids(n: usize) -> Vec<String> {
    (0..n).map(|i| format!("host-{i:05}")).collect()
}

/// A source rendering one online host per id.
pub fn source(ids: Vec<String>) -> impl FnMut(&mut dyn FnMut(&Snapshot<'_>)) + Send + 'static {
    move |render: &mut dyn FnMut(&Snapshot<'_>)| {
        let rows: Vec<HostRow<'_>> = ids
            .iter()
            .map(|id| HostRow {
                id,
                name: id,
                online: true,
                ..HostRow::default()
            })
            .collect();
        render(&Snapshot {
            hosts: &rows,
            ..Snapshot::default()
        })
    }
}
