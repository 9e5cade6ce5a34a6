//! The HTTP/1.1 `/metrics` server: hyper on a current-thread tokio runtime
//! on its own OS thread, so a scrape never runs on the service's threads.

use std::convert::Infallible;
use std::io::{self, Write};
use std::net::{SocketAddr, TcpListener};
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::{Arc, Mutex};
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
use tokio::sync::{oneshot, Semaphore};

use crate::exporter::gate::{Decision, Gate};
use crate::{Registry, Renderer, Snapshot};

/// `Content-Type` of the text exposition format 0.0.4.
pub const CONTENT_TYPE: &str = "text/plain; version=0.0.4; charset=utf-8";

/// Supplies the non-histogram part of each scrape, on the exporter thread.
///
/// Called once per authorized scrape; it must call `render` once with this
/// scrape's [`Snapshot`] (typically after reading hosts and alerts from the
/// service's store). Any `FnMut(&mut dyn FnMut(&Snapshot<'_>))` is a source:
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
/// ```no_run
/// use std::sync::Arc;
/// use rm_metrics::exporter::{Exporter, Gate};
/// use rm_metrics::{Registry, Snapshot};
///
/// let registry = Arc::new(Registry::new());
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
    max_connections: usize,
}

/// A running endpoint. Dropping it shuts the server down, like
/// [`shutdown`](Running::shutdown).
#[derive(Debug)]
pub struct Running {
    addr: SocketAddr,
    stop: Option<oneshot::Sender<()>>,
    thread: Option<JoinHandle<()>>,
}

struct State {
    registry: Arc<Registry>,
    source: Box<dyn SnapshotSource>,
    renderer: Renderer,
}

impl Exporter {
    /// An endpoint on `listen` (port 0 picks a free port) with no gate, that
    /// is, with `/metrics` not mounted: set one with [`gate`](Self::gate).
    pub fn new(listen: SocketAddr) -> Self {
        Exporter {
            listen,
            gate: None,
            header_read_timeout: Duration::from_secs(5),
            max_connections: 64,
        }
    }

    /// The access gate; `None` leaves `/metrics` unmounted (every request 404).
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

    /// Connections served at once (default 64); further ones are closed on
    /// accept until one ends.
    pub fn max_connections(mut self, n: usize) -> Self {
        self.max_connections = n.max(1);
        self
    }

    /// Binds the address and starts serving on a new thread named
    /// `rm-metrics-exporter`. Errors (address in use, …) are returned here.
    pub fn spawn(
        self,
        registry: Arc<Registry>,
        source: impl SnapshotSource,
    ) -> io::Result<Running> {
        let listener = TcpListener::bind(self.listen)?;
        listener.set_nonblocking(true)?;
        let addr = listener.local_addr()?;
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_io()
            .enable_time()
            .build()?;
        let state = Arc::new(Mutex::new(State {
            registry,
            source: Box::new(source),
            renderer: Renderer::new(),
        }));
        let (stop, stopped) = oneshot::channel();
        let thread = std::thread::Builder::new()
            .name("rm-metrics-exporter".into())
            .spawn(move || runtime.block_on(self.serve(listener, state, stopped)))?;
        Ok(Running {
            addr,
            stop: Some(stop),
            thread: Some(thread),
        })
    }

    async fn serve(
        self,
        listener: TcpListener,
        state: Arc<Mutex<State>>,
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
        let slots = Arc::new(Semaphore::new(self.max_connections));
        let gate = Arc::new(self.gate);
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
            let Ok(slot) = Arc::clone(&slots).try_acquire_owned() else {
                drop(stream);
                continue;
            };
            let (state, gate) = (Arc::clone(&state), Arc::clone(&gate));
            let service = service_fn(move |req| {
                let response = respond(&state, gate.as_ref().as_ref(), peer, &req);
                async move { Ok::<_, Infallible>(response) }
            });
            let conn = graceful.watch(http.serve_connection(TokioIo::new(stream), service));
            tokio::spawn(async move {
                // A client that disconnects or sends garbage only ends its own connection.
                let _ = conn.await;
                drop(slot);
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
    /// for the server thread to end.
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
    }
}

impl Drop for Running {
    fn drop(&mut self) {
        self.stop_and_join();
    }
}

fn respond(
    state: &Mutex<State>,
    gate: Option<&Gate>,
    peer: SocketAddr,
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
        Decision::Allow => {}
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
    let gzip = req
        .headers()
        .get_all(header::ACCEPT_ENCODING)
        .iter()
        .any(|v| accepts_gzip(v.as_bytes()));

    let mut state = state.lock().unwrap_or_else(|p| p.into_inner());
    let State {
        registry,
        source,
        renderer,
    } = &mut *state;
    let mut body: Option<Result<Bytes, io::Error>> = None;
    let scraped = catch_unwind(AssertUnwindSafe(|| {
        source.scrape(&mut |snapshot| {
            let text = renderer.render(registry, snapshot);
            body = Some(if gzip {
                gzipped(text)
            } else {
                Ok(Bytes::copy_from_slice(text))
            });
        })
    }));
    drop(state);
    let body = match (scraped, body) {
        (Ok(()), Some(Ok(body))) => body,
        (Err(_), _) => {
            return plain(
                StatusCode::INTERNAL_SERVER_ERROR,
                "snapshot source panicked\n",
            )
        }
        (Ok(()), None) => return plain(StatusCode::SERVICE_UNAVAILABLE, "no snapshot\n"),
        (Ok(()), Some(Err(_))) => {
            return plain(StatusCode::INTERNAL_SERVER_ERROR, "compression failed\n")
        }
    };
    let mut r = Response::new(Full::new(body));
    let h = r.headers_mut();
    h.insert(header::CONTENT_TYPE, HeaderValue::from_static(CONTENT_TYPE));
    h.insert(header::VARY, HeaderValue::from_static("Accept-Encoding"));
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

fn gzipped(text: &[u8]) -> io::Result<Bytes> {
    let mut enc = flate2::write::GzEncoder::new(
        Vec::with_capacity(text.len() / 4 + 64),
        flate2::Compression::fast(),
    );
    enc.write_all(text)?;
    Ok(enc.finish()?.into())
}

/// Whether an `Accept-Encoding` value lists `gzip` (or `*`) with a nonzero
/// quality (RFC 9110 §12.5.3).
fn accepts_gzip(value: &[u8]) -> bool {
    value.split(|&b| b == b',').any(|item| {
        let mut parts = item.split(|&b| b == b';').map(<[u8]>::trim_ascii);
        let coding = parts.next().unwrap_or_default();
        if !(coding.eq_ignore_ascii_case(b"gzip") || coding == b"*") {
            return false;
        }
        parts
            .filter_map(|p| p.strip_prefix(b"q=").or_else(|| p.strip_prefix(b"Q=")))
            .all(|q| {
                std::str::from_utf8(q)
                    .ok()
                    .and_then(|q| q.parse::<f32>().ok())
                    .is_some_and(|q| q > 0.0)
            })
    })
}

#[cfg(test)]
mod tests {
    use super::accepts_gzip;

    #[test]
    fn accept_encoding() {
        for yes in [
            "gzip",
            "GZIP",
            "deflate, gzip",
            "gzip;q=0.5",
            "br;q=1, gzip ; q=0.1",
            "*",
        ] {
            assert!(accepts_gzip(yes.as_bytes()), "{yes}");
        }
        for no in [
            "",
            "identity",
            "deflate, br",
            "gzip;q=0",
            "gzip;q=0.0",
            "xgzip",
            "gzip;q=x",
        ] {
            assert!(!accepts_gzip(no.as_bytes()), "{no}");
        }
    }
}
