//! The pool of upstream connections: hyper's HTTP/1.1 client connections (rustls for
//! `https://` hosts), each driven by the task of the request that uses it.
//!
//! hyper-util's pooled client runs every connection as a task of its own, so each
//! request and each body chunk crossed from that task to the request's and back; and
//! every request paid for its general pool (keys hashed, a checkout racing a connect).
//! Here a request takes an idle connection (or opens one), polls it itself while it
//! waits for the answer and while the body streams, and puts it back once the body has
//! ended. Each worker thread has its own pool (proxy/README.md, Benchmark).

use std::collections::VecDeque;
use std::future::{Future, poll_fn};
use std::pin::Pin;
use std::sync::{Arc, Mutex, PoisonError};
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

use axum::body::{Body, Bytes};
use http::{Request, Response, Uri};
use http_body_util::Limited;
use hyper::body::{Body as _, Frame, Incoming, SizeHint};
use hyper::client::conn::http1;
use hyper_rustls::{HttpsConnector, MaybeHttpsStream};
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::TokioIo;

use crate::config::Config;

/// The request body sent upstream: the client's own body, length-limited.
pub(crate) type UpstreamBody = Limited<Body>;
type Stream = MaybeHttpsStream<TokioIo<tokio::net::TcpStream>>;

/// Idle connections kept per worker; nginx's `keepalive 1024` in the benchmark.
const MAX_IDLE: usize = 1024;
/// How long an idle connection is kept.
const IDLE_TIMEOUT: Duration = Duration::from_secs(60);
/// How often each worker drops expired idle connections and those the upstream has
/// closed (which would otherwise sit in `CLOSE_WAIT` until the next request).
pub(crate) const SWEEP_EVERY: Duration = Duration::from_secs(15);

/// Why a request got no answer.
#[derive(Debug)]
pub(crate) enum SendError {
    /// No connection could be opened (DNS, TCP, TLS: the upstream's certificate).
    Connect(Box<dyn std::error::Error + Send + Sync>),
    /// The connection failed while sending or waiting for the answer.
    Http(hyper::Error),
}

/// One worker's upstream connections.
#[derive(Debug)]
pub(crate) struct Pool {
    connector: HttpsConnector<HttpConnector>,
    builder: http1::Builder,
    idle: Mutex<VecDeque<Idle>>,
}

#[derive(Debug)]
struct Idle {
    conn: Box<Conn>,
    since: Instant,
}

/// An upstream connection, for one environment (`key`). Boxed once when opened: it
/// holds hyper's buffers and state (~1.8 KB), and goes in and out of the pool and the
/// answer's body with every request.
#[derive(Debug)]
struct Conn {
    key: usize,
    send: http1::SendRequest<UpstreamBody>,
    conn: http1::Connection<Stream, UpstreamBody>,
    /// The connection future has finished: the upstream closed it, or it failed.
    closed: bool,
}

impl Conn {
    /// Lets hyper read and write on this connection.
    fn drive(&mut self, cx: &mut Context<'_>) {
        if !self.closed && self.conn.poll_without_shutdown(cx).is_ready() {
            self.closed = true;
        }
    }

    /// Whether a request can go out on it now.
    fn is_ready(&mut self, cx: &mut Context<'_>) -> bool {
        self.drive(cx);
        !self.closed && matches!(self.send.poll_ready(cx), Poll::Ready(Ok(())))
    }
}

impl Pool {
    /// Connections are keep-alive HTTP/1.1, rustls for `https://` hosts (platform trust
    /// store, or `SSL_CERT_FILE`), plain TCP for a local simulator URL. Redirects are never
    /// followed: hyper's client connections have no redirect logic at all.
    ///
    /// # Panics
    /// Only if the TLS backend cannot be initialised at all (a broken build, not input).
    pub(crate) fn new(config: &Config) -> Self {
        let mut http = HttpConnector::new();
        http.enforce_http(false);
        http.set_nodelay(true);
        http.set_connect_timeout(Some(config.connect_timeout()));
        let connector = hyper_rustls::HttpsConnectorBuilder::new()
            .with_provider_and_platform_verifier(rustls::crypto::aws_lc_rs::default_provider())
            .expect("the rustls TLS backend must initialise")
            .https_or_http()
            .enable_http1()
            .wrap_connector(http);
        let mut builder = http1::Builder::new();
        // hyper's default (~400 KiB per connection) is for one big transfer; a relay
        // holds hundreds at once (`--buffer-kib`).
        builder.max_buf_size(config.buffer_bytes());
        Self {
            connector,
            builder,
            idle: Mutex::new(VecDeque::new()),
        }
    }

    /// Sends `request` to `origin` (scheme and host; environment `key`) on an idle
    /// connection or a new one. A request an idle connection could not take (the
    /// upstream had closed it) goes on the next one: it was never written, so this
    /// cannot send anything twice.
    pub(crate) async fn send(
        self: &Arc<Self>,
        key: usize,
        origin: &Uri,
        mut request: Request<UpstreamBody>,
    ) -> Result<Response<PooledBody>, SendError> {
        while let Some(mut conn) = self.checkout(key).await {
            match send_on(&mut conn, request).await {
                Ok(response) => return Ok(self.wrap(conn, response)),
                Err(mut err) => match err.take_message() {
                    Some(unsent) => request = unsent,
                    None => return Err(SendError::Http(err.into_error())),
                },
            }
        }
        // Boxed: opening a connection (TCP, TLS, handshake) is the rare path, and its
        // state would otherwise make every request's future, which is moved while it
        // is set up, several kilobytes larger.
        let mut conn = Box::pin(self.connect(key, origin)).await?;
        match send_on(&mut conn, request).await {
            Ok(response) => Ok(self.wrap(conn, response)),
            Err(err) => Err(SendError::Http(err.into_error())),
        }
    }

    /// Opens a connection to `origin`.
    async fn connect(&self, key: usize, origin: &Uri) -> Result<Box<Conn>, SendError> {
        let io = tower::Service::call(&mut self.connector.clone(), origin.clone())
            .await
            .map_err(SendError::Connect)?;
        let (send, conn) = self.builder.handshake(io).await.map_err(SendError::Http)?;
        Ok(Box::new(Conn {
            key,
            send,
            conn,
            closed: false,
        }))
    }

    fn wrap(
        self: &Arc<Self>,
        conn: Box<Conn>,
        response: Response<Incoming>,
    ) -> Response<PooledBody> {
        response.map(|inner| PooledBody {
            inner,
            conn: Some(conn),
            pool: Arc::clone(self),
            ended: false,
        })
    }

    /// The most recently used idle connection for `key` that can take a request now;
    /// closed and expired ones are dropped on the way.
    async fn checkout(&self, key: usize) -> Option<Box<Conn>> {
        loop {
            let Idle { mut conn, since } = {
                let mut idle = self.idle.lock().unwrap_or_else(PoisonError::into_inner);
                let at = idle.iter().rposition(|i| i.conn.key == key)?;
                idle.remove(at)?
            };
            if since.elapsed() < IDLE_TIMEOUT && poll_fn(|cx| Poll::Ready(conn.is_ready(cx))).await
            {
                return Some(conn);
            }
        }
    }

    /// Keeps a connection whose last answer has been read in full.
    fn checkin(&self, conn: Box<Conn>) {
        if conn.closed {
            return;
        }
        let now = Instant::now();
        let mut idle = self.idle.lock().unwrap_or_else(PoisonError::into_inner);
        while idle
            .front()
            .is_some_and(|i| idle.len() >= MAX_IDLE || now - i.since >= IDLE_TIMEOUT)
        {
            idle.pop_front();
        }
        idle.push_back(Idle { conn, since: now });
    }

    /// Drops the idle connections that have expired or that the upstream has closed.
    pub(crate) fn sweep(&self) {
        let now = Instant::now();
        let mut cx = Context::from_waker(std::task::Waker::noop());
        let mut idle = self.idle.lock().unwrap_or_else(PoisonError::into_inner);
        idle.retain_mut(|i| {
            i.conn.drive(&mut cx);
            !i.conn.closed && now - i.since < IDLE_TIMEOUT
        });
    }

    #[cfg(test)]
    fn idle_count(&self) -> usize {
        self.idle
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .len()
    }
}

/// Writes `request` on `conn` and waits for the answer's head, driving the connection.
async fn send_on(
    conn: &mut Conn,
    request: Request<UpstreamBody>,
) -> Result<Response<Incoming>, hyper::client::conn::TrySendError<Request<UpstreamBody>>> {
    let mut answer = std::pin::pin!(conn.send.try_send_request(request));
    poll_fn(|cx| {
        conn.drive(cx);
        answer.as_mut().poll(cx)
    })
    .await
}

/// An upstream answer's body. Reading it drives its connection, which goes back to the
/// pool when the body has ended; dropped half-read, the connection is closed.
pub(crate) struct PooledBody {
    inner: Incoming,
    conn: Option<Box<Conn>>,
    pool: Arc<Pool>,
    ended: bool,
}

impl hyper::body::Body for PooledBody {
    type Data = Bytes;
    type Error = hyper::Error;

    fn poll_frame(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, hyper::Error>>> {
        let this = self.get_mut();
        // Asking for a frame first lets the connection, driven next, hand over what it
        // reads in the same poll.
        let mut frame = Pin::new(&mut this.inner).poll_frame(cx);
        if frame.is_pending()
            && let Some(conn) = &mut this.conn
        {
            conn.drive(cx);
            frame = Pin::new(&mut this.inner).poll_frame(cx);
        }
        if let Poll::Ready(None) = frame {
            this.ended = true;
        }
        frame
    }

    fn is_end_stream(&self) -> bool {
        self.inner.is_end_stream()
    }

    fn size_hint(&self) -> SizeHint {
        self.inner.size_hint()
    }
}

impl Drop for PooledBody {
    fn drop(&mut self) {
        if let Some(conn) = self.conn.take()
            && (self.ended || self.inner.is_end_stream())
        {
            self.pool.checkin(conn);
        }
    }
}

#[cfg(test)]
mod tests {
    use clap::Parser as _;
    use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};

    use super::*;

    /// An upstream that answers one request, then closes the connection a moment later.
    async fn answer_then_close() -> std::net::SocketAddr {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        tokio::spawn(async move {
            while let Ok((mut socket, _)) = listener.accept().await {
                let mut buf = [0u8; 4096];
                let _ = socket.read(&mut buf).await;
                let _ = socket
                    .write_all(b"HTTP/1.1 200 OK\r\ncontent-length: 2\r\n\r\n{}")
                    .await;
                tokio::time::sleep(Duration::from_millis(20)).await;
            }
        });
        addr
    }

    #[tokio::test]
    async fn the_sweep_drops_idle_connections_the_upstream_closed() {
        let addr = answer_then_close().await;
        let pool = Arc::new(Pool::new(&Config::parse_from(["kwit-relay"])));
        let origin: Uri = format!("http://{addr}/").parse().unwrap();
        let request = Request::get("/v2/x")
            .header(http::header::HOST, addr.to_string())
            .body(Limited::new(Body::empty(), 1024))
            .unwrap();
        let response = pool.send(0, &origin, request).await.unwrap();
        http_body_util::BodyExt::collect(response.into_body())
            .await
            .unwrap();
        assert_eq!(pool.idle_count(), 1, "kept for the next request");
        pool.sweep();
        assert_eq!(pool.idle_count(), 1, "still open upstream");
        tokio::time::sleep(Duration::from_millis(200)).await;
        pool.sweep();
        assert_eq!(pool.idle_count(), 0, "closed upstream, so dropped");
    }
}
