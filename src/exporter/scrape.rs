//! Scrapes run on a worker thread of their own, with a cap on how many may
//! wait and a deadline for each.
//!
//! The [`SnapshotSource`] is the service's code: it may block on a lock,
//! hang, or panic. On the worker thread none of that stalls the accept loop
//! or other connections. A request waits at most the scrape timeout and then
//! answers 503; one beyond the in-flight cap answers 503 at once (as
//! client_golang's `MaxRequestsInFlight`); a panic answers 500 and the
//! worker goes on. A scrape whose requester has gone is skipped.

use std::io::{self, Write};
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::mpsc;
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use bytes::Bytes;
use tokio::sync::{oneshot, OwnedSemaphorePermit, Semaphore};

use crate::exporter::server::SnapshotSource;
use crate::{Format, JobRegistry, Partition, Renderer};

/// What a scrape came to.
pub(crate) enum Outcome {
    /// The body, gzipped if asked.
    Body(Bytes),
    /// The in-flight cap is reached.
    Busy,
    /// No answer within the scrape timeout.
    TimedOut,
    /// The source panicked.
    Panicked,
    /// The source returned without calling `render`.
    NoSnapshot,
    /// gzip failed.
    CompressionFailed,
}

struct Job {
    gzip: bool,
    format: Format,
    part: Partition,
    reply: oneshot::Sender<Outcome>,
    /// Held until the worker is done with the job, timed out or not.
    _permit: OwnedSemaphorePermit,
}

/// The requesting side; dropping it lets the worker finish.
pub(crate) struct Scraper {
    jobs: mpsc::SyncSender<Job>,
    in_flight: Arc<Semaphore>,
    timeout: Duration,
}

impl Scraper {
    /// Starts the worker thread `rm-metrics-scrape`.
    pub(crate) fn spawn(
        registry: Arc<JobRegistry>,
        mut source: Box<dyn SnapshotSource>,
        max_in_flight: usize,
        timeout: Duration,
    ) -> io::Result<(Scraper, JoinHandle<()>)> {
        let max_in_flight = max_in_flight.max(1);
        let (jobs, queue) = mpsc::sync_channel::<Job>(max_in_flight);
        let worker = std::thread::Builder::new()
            .name("rm-metrics-scrape".into())
            .spawn(move || {
                // Per format, one renderer for the whole exposition and one
                // per partition, each keeping its own caches across scrapes.
                let mut renderers: [Vec<Renderer>; 3] = Default::default();
                for job in queue {
                    if job.reply.is_closed() {
                        continue; // timed out or disconnected while queued
                    }
                    let part = if job.part.count() > 1 {
                        1 + job.part.index() as usize
                    } else {
                        0
                    };
                    let format = job.format;
                    let renderers = &mut renderers[match format {
                        Format::OpenMetrics => 1,
                        Format::Protobuf => 2,
                        _ => 0,
                    }];
                    if renderers.len() <= part {
                        renderers.resize_with(part + 1, || Renderer::with_format(format));
                    }
                    let renderer = &mut renderers[part];
                    let outcome = run(&registry, source.as_mut(), renderer, job.part, job.gzip);
                    let _ = job.reply.send(outcome);
                }
            })?;
        let scraper = Scraper {
            jobs,
            in_flight: Arc::new(Semaphore::new(max_in_flight)),
            timeout,
        };
        Ok((scraper, worker))
    }

    /// One scrape: queued for the worker, awaited up to the timeout.
    pub(crate) async fn scrape(&self, part: Partition, format: Format, gzip: bool) -> Outcome {
        let Ok(permit) = Arc::clone(&self.in_flight).try_acquire_owned() else {
            return Outcome::Busy;
        };
        let (reply, answer) = oneshot::channel();
        let job = Job {
            gzip,
            format,
            part,
            reply,
            _permit: permit,
        };
        // The queue holds as many jobs as there are permits: never full here.
        if self.jobs.try_send(job).is_err() {
            return Outcome::Busy;
        }
        match tokio::time::timeout(self.timeout, answer).await {
            Ok(Ok(outcome)) => outcome,
            // The worker dropped the job without an answer: it is gone.
            Ok(Err(_)) => Outcome::Panicked,
            Err(_) => Outcome::TimedOut,
        }
    }
}

fn run(
    registry: &JobRegistry,
    source: &mut dyn SnapshotSource,
    renderer: &mut Renderer,
    part: Partition,
    gzip: bool,
) -> Outcome {
    let mut body = None;
    let scraped = catch_unwind(AssertUnwindSafe(|| {
        source.scrape(&mut |snapshot| {
            let text = renderer.render_partition(registry, snapshot, part);
            body = Some(if gzip {
                gzipped(text)
            } else {
                Ok(Bytes::copy_from_slice(text))
            });
        })
    }));
    match (scraped, body) {
        (Ok(()), Some(Ok(body))) => Outcome::Body(body),
        (Err(_), _) => Outcome::Panicked,
        (Ok(()), None) => Outcome::NoSnapshot,
        (Ok(()), Some(Err(_))) => Outcome::CompressionFailed,
    }
}

fn gzipped(text: &[u8]) -> io::Result<Bytes> {
    let mut enc = flate2::write::GzEncoder::new(
        Vec::with_capacity(text.len() / 4 + 64),
        flate2::Compression::fast(),
    );
    enc.write_all(text)?;
    Ok(enc.finish()?.into())
}

/// Waits up to `limit` for the worker to end; past it the thread is left
/// to finish on its own (a source that never returns keeps it).
pub(crate) fn join_within(worker: JoinHandle<()>, limit: Duration) {
    let deadline = Instant::now() + limit;
    while !worker.is_finished() {
        if Instant::now() >= deadline {
            return;
        }
        std::thread::sleep(Duration::from_millis(5));
    }
    let _ = worker.join();
}
