//! The HTTP/1.1 `/metrics` server: hyper on a current-thread tokio runtime
//! on its own OS thread, so a scrape never runs on the service's threads,
//! and the snapshot source on a worker thread of its own, so a slow source
//! never stalls the accept loop.

use std::convert::Infallible;
use std::io;
use std::net::{SocketAddr, TcpListener};
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::Duration;

use bytes::Bytes;
use http_body_util::Full;
use hyper::body::Incoming;
use hyper::header::{self, HeaderValue};
use hyper::service::service_fn;
use hyper::{Method, Request, Response, StatusCode};
use hyper_util::rt::{TokioIo, TokioTimer};
use hyper_util::server::graceful::GracefulShutdown;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio::sync::{oneshot, Semaphore};
use tokio_io_timeout::TimeoutStream;

use crate::exporter::admission::{Admission, TicketState};
use crate::exporter::gate::{Decision, Gate};
use crate::exporter::negotiate::{accepts_gzip, negotiate};
use crate::exporter::scrape::{self, Outcome, Scraper};
use crate::{Format, JobRegistry, Partition, Snapshot};

/// `Content-Type` of the text exposition format 0.0.4, served when the
/// scraper does not prefer OpenMetrics 1.0.0 (see [`Exporter`]).
pub const CONTENT_TYPE: &str = Format::Text.content_type();

/// Supplies the non-histogram part of each scrape, on the exporter's scrape
/// thread.
///
/// Called once per authorized `GET` (never for `HEAD`); it must call
/// `render` once with this scrape's [`Snapshot`] (typically after reading
/// hosts and alerts from the service's store). It may block: the request
/// then answers 503 after the scrape timeout, and the server keeps serving.
/// A panic answers 500. Any `FnMut(&mut dyn FnMut(&Snapshot<'_>))` is a source:
///
/// ```
/// use rm_metrics::{exporter::SnapshotSource, HostRow, Snapshot};
///
/// fn source() -> impl SnapshotSource {
///     |render: &mut dyn FnMut(&Snapshot<'_>)| {
///         let hosts = [HostRow { id: "h1", name: "alpha", online: true, ..HostRow::default() }];
///         render(&Snapshot { hosts: &hosts, ..Snapshot::default() });
///     }
/// }
/// # let _ = source();
/// ```
pub trait SnapshotSource: Send + 'static {
    /// Builds this scrape's snapshot and passes it to `render`.
    fn scrape(&mut self, render: &mut dyn FnMut(&Snapshot<'_>));
}

impl<F> SnapshotSource for F
where
    F: FnMut(&mut dyn FnMut(&Snapshot<'_>)) + Send + 'static,
{
    fn scrape(&mut self, render: &mut dyn FnMut(&Snapshot<'_>)) {
        self(render)
    }
}

/// Configuration of a `/metrics` endpoint; [`spawn`](Exporter::spawn) starts it.
///
/// The body is the protobuf exposition, with native histograms, when the
/// request's `Accept` names it first (as Prometheus' does with native
/// histograms on); OpenMetrics 1.0.0, with the job histograms' exemplars,
/// when it prefers that (as Prometheus' does otherwise); and the text
/// format 0.0.4 otherwise (no `Accept`, `*/*`, anything else); gzipped
/// when `Accept-Encoding` allows; `Vary: Accept, Accept-Encoding`.
///
/// The defaults hold under hostile load: a peer outside the trusted networks is turned away at accept; one peer
/// holds at most 8 connections; when all 64 are taken, the oldest one that
/// has not made an authorized request is closed for the newcomer; at most 16
/// scrapes wait at once (more answer 503 with `Retry-After`); each waits at
/// most 10 s for the source; a client that stops reading is cut after 10 s
/// without progress.
///
/// ```no_run
/// use std::sync::Arc;
/// use rm_metrics::exporter::{Exporter, Gate};
/// use rm_metrics::{JobRegistry, Snapshot};
///
/// let registry = Arc::new(JobRegistry::new());
/// let gate = Gate::from_env().expect("bad metrics gate configuration");
/// let running = Exporter::new("127.0.0.1:9184".parse().unwrap())
///     .gate(gate)
///     .spawn(Arc::clone(&registry), |render: &mut dyn FnMut(&Snapshot<'_>)| {
///         render(&Snapshot::default())
///     })
///     .expect("cannot listen");
/// println!("metrics on http://{}/metrics", running.local_addr());
/// // ... observe into `registry` from the service's threads ...
/// running.shutdown();
/// ```
#[derive(Clone, Debug)]
pub struct Exporter {
    listen: SocketAddr,
    gate: Option<Gate>,
    header_read_timeout: Duration,
    idle_timeout: Duration,
    write_timeout: Duration,
    scrape_timeout: Duration,
    max_connections: usize,
    max_connections_per_peer: usize,
    max_scrapes_in_flight: usize,
    partitions: u32,
}

/// A running endpoint. Dropping it shuts the server down, like
/// [`shutdown`](Running::shutdown).
#[derive(Debug)]
pub struct Running {
    addr: SocketAddr,
    stop: Option<oneshot::Sender<()>>,
    thread: Option<JoinHandle<()>>,
    worker: Option<JoinHandle<()>>,
}

/// Sent, best effort, to a peer turned away at accept, before closing.
const FORBIDDEN: &[u8] = b"HTTP/1.1 403 Forbidden\r\ncontent-type: text/plain; charset=utf-8\r\n\
content-length: 10\r\nconnection: close\r\n\r\nforbidden\n";
const TOO_MANY: &[u8] =
    b"HTTP/1.1 503 Service Unavailable\r\ncontent-type: text/plain; charset=utf-8\r\n\
retry-after: 1\r\ncontent-length: 21\r\nconnection: close\r\n\r\ntoo many connections\n";

/// Turned-away peers given a moment to read their refusal, at most.
const MAX_LINGERING: usize = 32;

/// Answers a peer turned away at accept with `reply` and closes. While fewer
/// than [`MAX_LINGERING`] are doing so, the peer's request head is read first
/// (at most 16 KiB, within 1 s in all), so that the reply reaches a client
/// that writes its request before it reads: closing on an unread request
/// makes the kernel reset the connection, discarding the reply. Beyond that
/// many, the connection is just closed.
fn turn_away(stream: TcpStream, reply: &'static [u8], lingering: &Arc<Semaphore>) {
    let Ok(permit) = Arc::clone(lingering).try_acquire_owned() else {
        let _ = stream.try_write(reply);
        return;
    };
    tokio::spawn(async move {
        let mut stream = stream;
        let _ = tokio::time::timeout(Duration::from_secs(1), async {
            let mut head = [0u8; 16 * 1024];
            let mut len = 0;
            while len < head.len() && !head[..len].windows(4).any(|w| w == b"\r\n\r\n") {
                match stream.read(&mut head[len..]).await? {
                    0 => break,
                    n => len += n,
                }
            }
            stream.write_all(reply).await?;
            stream.shutdown().await?;
            // Until the peer closes too, so our close sends no reset.
            while stream.read(&mut head).await? != 0 {}
            io::Result::Ok(())
        })
        .await;
        drop(permit);
    });
}

impl Exporter {
    /// An endpoint on `listen` (port 0 picks a free port) with no gate, that
    /// is, with `/metrics` not mounted: set one with [`gate`](Self::gate).
    pub fn new(listen: SocketAddr) -> Self {
        Exporter {
            listen,
            gate: None,
            header_read_timeout: Duration::from_secs(5),
            idle_timeout: Duration::from_secs(90),
            write_timeout: Duration::from_secs(10),
            scrape_timeout: Duration::from_secs(10),
            max_connections: 64,
            max_connections_per_peer: 8,
            max_scrapes_in_flight: 16,
            partitions: 1,
        }
    }

    /// The access gate; `None` leaves `/metrics` unmounted (every request 404).
    /// With trusted networks, a peer outside them is closed at accept (with a
    /// best-effort 403), before it can hold a connection.
    pub fn gate(mut self, gate: Option<Gate>) -> Self {
        self.gate = gate;
        self
    }

    /// How long a client may take to send its request headers (default 5 s);
    /// slower connections are closed. Headers are also limited to 16 KiB.
    pub fn header_read_timeout(mut self, timeout: Duration) -> Self {
        self.header_read_timeout = timeout;
        self
    }

    /// How long a connection may stay silent, between requests or within one
    /// (default 90 s, longer than Prometheus' default 1 m scrape interval so
    /// a scraper's keep-alive connection survives between scrapes).
    pub fn idle_timeout(mut self, timeout: Duration) -> Self {
        self.idle_timeout = timeout;
        self
    }

    /// How long a response write may make no progress (default 10 s): a
    /// client that stops reading is cut off.
    pub fn write_timeout(mut self, timeout: Duration) -> Self {
        self.write_timeout = timeout;
        self
    }

    /// How long a scrape waits for the [`SnapshotSource`] and the render
    /// (default 10 s, Prometheus' default scrape timeout); then it answers
    /// 503 with `Retry-After`.
    pub fn scrape_timeout(mut self, timeout: Duration) -> Self {
        self.scrape_timeout = timeout;
        self
    }

    /// Connections served at once (default 64). When all are taken, the
    /// oldest connection that has not yet made an authorized request is
    /// closed to admit the newcomer; when every one has, the newcomer is
    /// closed (with a best-effort 503).
    pub fn max_connections(mut self, n: usize) -> Self {
        self.max_connections = n.max(1);
        self
    }

    /// Connections one peer address may hold at once (default 8); more are
    /// closed at accept (with a best-effort 503).
    pub fn max_connections_per_peer(mut self, n: usize) -> Self {
        self.max_connections_per_peer = n.max(1);
        self
    }

    /// Scrapes running or waiting at once (default 16); more answer 503 with
    /// `Retry-After: 1` at once, as client_golang's `MaxRequestsInFlight`.
    pub fn max_scrapes_in_flight(mut self, n: usize) -> Self {
        self.max_scrapes_in_flight = n.max(1);
        self
    }

    /// Splits the exposition into `n` [`Partition`]s (default 1), served as
    /// `/metrics?partition=0` … `/metrics?partition={n-1}`, so that `n`
    /// Prometheus servers can share one large fleet: each host's families
    /// are in the partition of its id's hash, the server-wide families in
    /// partition 0. `/metrics` alone still serves everything. Any other
    /// query answers 400.
    pub fn partitions(mut self, n: u32) -> Self {
        self.partitions = n.max(1);
        self
    }

    /// Binds the address and starts serving on a new thread named
    /// `rm-metrics-exporter` (and the scrape worker `rm-metrics-scrape`).
    /// Errors (address in use, …) are returned here.
    pub fn spawn(
        self,
        registry: Arc<JobRegistry>,
        source: impl SnapshotSource,
    ) -> io::Result<Running> {
        let listener = TcpListener::bind(self.listen)?;
        listener.set_nonblocking(true)?;
        let addr = listener.local_addr()?;
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_io()
            .enable_time()
            .build()?;
        let (scraper, worker) = Scraper::spawn(
            registry,
            Box::new(source),
            self.max_scrapes_in_flight,
            self.scrape_timeout,
        )?;
        let (stop, stopped) = oneshot::channel();
        let thread = std::thread::Builder::new()
            .name("rm-metrics-exporter".into())
            .spawn(move || runtime.block_on(self.serve(listener, scraper, stopped)))?;
        Ok(Running {
            addr,
            stop: Some(stop),
            thread: Some(thread),
            worker: Some(worker),
        })
    }

    async fn serve(
        self,
        listener: TcpListener,
        scraper: Scraper,
        mut stopped: oneshot::Receiver<()>,
    ) {
        let listener = match tokio::net::TcpListener::from_std(listener) {
            Ok(l) => l,
            Err(e) => {
                eprintln!("rm-metrics exporter: cannot register listener: {e}");
                return;
            }
        };
        let mut http = hyper::server::conn::http1::Builder::new();
        http.timer(TokioTimer::new())
            .header_read_timeout(self.header_read_timeout)
            .max_buf_size(16 * 1024);
        let graceful = GracefulShutdown::new();
        let admission = Arc::new(Admission::new(
            self.max_connections,
            self.max_connections_per_peer,
        ));
        let scraper = Arc::new(scraper);
        let gate = Arc::new(self.gate);
        let lingering = Arc::new(Semaphore::new(MAX_LINGERING));
        loop {
            let (stream, peer) = tokio::select! {
                _ = &mut stopped => break,
                accepted = listener.accept() => match accepted {
                    Ok(conn) => conn,
                    Err(_) => {
                        // Out of file descriptors and the like: back off briefly.
                        tokio::time::sleep(Duration::from_millis(20)).await;
                        continue;
                    }
                },
            };
            // Before the peer costs a connection: the network gate, then the caps.
            if !gate.as_ref().as_ref().is_none_or(|g| g.trusts(peer.ip())) {
                turn_away(stream, FORBIDDEN, &lingering);
                continue;
            }
            let Some(ticket) = admission.admit(peer.ip().to_canonical()) else {
                turn_away(stream, TOO_MANY, &lingering);
                continue;
            };
            let mut io = TimeoutStream::new(stream);
            io.set_read_timeout(Some(self.idle_timeout));
            io.set_write_timeout(Some(self.write_timeout));
            let io = TokioIo::new(Box::pin(io));
            let (scraper, gate, state) = (Arc::clone(&scraper), Arc::clone(&gate), ticket.state());
            let partitions = self.partitions;
            let service = service_fn(move |req| {
                let (scraper, gate, state) =
                    (Arc::clone(&scraper), Arc::clone(&gate), Arc::clone(&state));
                async move {
                    let gate = gate.as_ref().as_ref();
                    let r = respond(&scraper, gate, &state, peer, partitions, &req).await;
                    Ok::<_, Infallible>(r)
                }
            });
            let conn = graceful.watch(http.serve_connection(io, service));
            let admission = Arc::clone(&admission);
            tokio::spawn(async move {
                // A client that disconnects or sends garbage only ends its own
                // connection; an evicted one is dropped here.
                tokio::select! {
                    _ = conn => {}
                    _ = ticket.evicted() => {}
                }
                admission.release(&ticket);
            });
        }
        drop(listener);
        // Let in-flight requests finish, but not forever.
        let _ = tokio::time::timeout(Duration::from_secs(5), graceful.shutdown()).await;
    }
}

impl Running {
    /// The address the server listens on.
    pub fn local_addr(&self) -> SocketAddr {
        self.addr
    }

    /// Stops accepting, lets in-flight requests finish (up to 5 s), and waits
    /// for the server thread to end, and up to 1 s more for the scrape
    /// worker (a source that never returns keeps that thread, detached).
    pub fn shutdown(mut self) {
        self.stop_and_join();
    }

    fn stop_and_join(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
        if let Some(worker) = self.worker.take() {
            scrape::join_within(worker, Duration::from_secs(1));
        }
    }
}

impl Drop for Running {
    fn drop(&mut self) {
        self.stop_and_join();
    }
}

async fn respond(
    scraper: &Scraper,
    gate: Option<&Gate>,
    ticket: &TicketState,
    peer: SocketAddr,
    partitions: u32,
    req: &Request<Incoming>,
) -> Response<Full<Bytes>> {
    // No gate: the route is not mounted at all.
    let Some(gate) = gate.filter(|_| req.uri().path() == "/metrics") else {
        return plain(StatusCode::NOT_FOUND, "not found\n");
    };
    let authorization = req
        .headers()
        .get(header::AUTHORIZATION)
        .map(HeaderValue::as_bytes);
    match gate.check(peer.ip(), authorization) {
        Decision::Allow => ticket.authorize(),
        Decision::Unauthorized => {
            let mut r = plain(StatusCode::UNAUTHORIZED, "unauthorized\n");
            r.headers_mut().insert(
                header::WWW_AUTHENTICATE,
                HeaderValue::from_static("Bearer realm=\"metrics\""),
            );
            return r;
        }
        Decision::Forbidden => return plain(StatusCode::FORBIDDEN, "forbidden\n"),
    }
    if req.method() != Method::GET && req.method() != Method::HEAD {
        let mut r = plain(StatusCode::METHOD_NOT_ALLOWED, "method not allowed\n");
        r.headers_mut()
            .insert(header::ALLOW, HeaderValue::from_static("GET, HEAD"));
        return r;
    }
    let Some(part) = partition_of(req.uri().query(), partitions) else {
        return plain(
            StatusCode::BAD_REQUEST,
            "the only query is partition=N, below the configured number of partitions\n",
        );
    };
    let gzip = accepts_gzip(
        req.headers()
            .get_all(header::ACCEPT_ENCODING)
            .iter()
            .map(HeaderValue::as_bytes),
    );
    let format = negotiate(
        req.headers()
            .get_all(header::ACCEPT)
            .iter()
            .map(HeaderValue::as_bytes),
    );
    // HEAD answers the headers a GET would, without calling the source.
    let body = if req.method() == Method::HEAD {
        Bytes::new()
    } else {
        match scraper.scrape(part, format, gzip).await {
            Outcome::Body(body) => body,
            Outcome::Busy => return retry_later("too many scrapes in flight\n"),
            Outcome::TimedOut => return retry_later("snapshot source timed out\n"),
            Outcome::NoSnapshot => return retry_later("no snapshot\n"),
            Outcome::Panicked => {
                return plain(
                    StatusCode::INTERNAL_SERVER_ERROR,
                    "snapshot source panicked\n",
                )
            }
            Outcome::CompressionFailed => {
                return plain(StatusCode::INTERNAL_SERVER_ERROR, "compression failed\n")
            }
        }
    };
    let mut r = Response::new(Full::new(body));
    let h = r.headers_mut();
    h.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static(format.content_type()),
    );
    h.insert(
        header::VARY,
        HeaderValue::from_static("Accept, Accept-Encoding"),
    );
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    if gzip {
        h.insert(header::CONTENT_ENCODING, HeaderValue::from_static("gzip"));
    }
    r
}

fn plain(status: StatusCode, text: &'static str) -> Response<Full<Bytes>> {
    let mut r = Response::new(Full::new(Bytes::from_static(text.as_bytes())));
    *r.status_mut() = status;
    r.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/plain; charset=utf-8"),
    );
    r
}

/// The partition a query asks for: none is everything; `partition=i` is
/// part `i` of `partitions`; anything else is `None`.
fn partition_of(query: Option<&str>, partitions: u32) -> Option<Partition> {
    let Some(query) = query.filter(|q| !q.is_empty()) else {
        return Some(Partition::ALL);
    };
    let index = query.strip_prefix("partition=")?;
    // Digits only: no sign, no whitespace, no second parameter.
    if index.is_empty() || !index.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let index: u32 = index.parse().ok()?;
    if partitions == 1 {
        return (index == 0).then_some(Partition::ALL);
    }
    Partition::new(index, partitions)
}

fn retry_later(text: &'static str) -> Response<Full<Bytes>> {
    let mut r = plain(StatusCode::SERVICE_UNAVAILABLE, text);
    r.headers_mut()
        .insert(header::RETRY_AFTER, HeaderValue::from_static("1"));
    r
}

#[cfg(test)]
mod tests {
    use super::partition_of;
    use crate::Partition;

    #[test]
    fn partition_queries() {
        assert_eq!(partition_of(None, 4), Some(Partition::ALL));
        assert_eq!(partition_of(Some(""), 4), Some(Partition::ALL));
        assert_eq!(partition_of(Some("partition=3"), 4), Partition::new(3, 4));
        assert_eq!(partition_of(Some("partition=0"), 1), Some(Partition::ALL));
        for bad in [
            "partition=4",
            "partition=",
            "partition=-1",
            "partition=+1",
            "partition=1&x=2",
            "x=1",
            "partition=99999999999",
        ] {
            assert_eq!(partition_of(Some(bad), 4), None, "{bad}");
        }
        assert_eq!(partition_of(Some("partition=1"), 1), None);
    }
}
