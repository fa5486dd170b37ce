//! A mock KSeF upstream with precise faults, and helpers to run the relay on a socket.
#![allow(dead_code)]

use std::future::Future;
use std::io::Read as _;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use axum::Router;
use axum::body::{Body, Bytes};
use axum::extract::Request;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{any, get};
use http_body_util::BodyExt;
use hyper::body::Incoming;
use hyper_util::rt::TokioIo;
use rustls::pki_types::{CertificateDer, PrivatePkcs8KeyDer};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpListener;
use tower::ServiceExt as _;

/// Serves `router` on 127.0.0.1:0 (with client addresses) and returns its address.
pub async fn serve(router: Router) -> SocketAddr {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        axum::serve(
            listener,
            router.into_make_service_with_connect_info::<SocketAddr>(),
        )
        .await
        .unwrap();
    });
    addr
}

/// The mock KSeF: echoes what reached it, and misbehaves on request.
pub fn mock_ksef() -> Router {
    Router::new()
        .route("/v2/echo/{*rest}", any(echo))
        .route("/storage/{*rest}", any(echo))
        .route("/latarnia/{*rest}", any(echo))
        .route(
            "/v2/slow",
            get(|| async {
                tokio::time::sleep(Duration::from_secs(5)).await;
                "late"
            }),
        )
        .route(
            "/v2/slowish",
            get(|| async {
                tokio::time::sleep(Duration::from_millis(1500)).await;
                r#"{"finished":true}"#
            }),
        )
        .route(
            "/v2/html",
            get(|| async {
                (
                    StatusCode::SERVICE_UNAVAILABLE,
                    [("content-type", "text/html; charset=utf-8")],
                    "<html><body><h1>Przerwa techniczna</h1></body></html>",
                )
            }),
        )
        .route(
            "/v2/limited",
            get(|| async {
                (
                    StatusCode::TOO_MANY_REQUESTS,
                    [("retry-after", "30"), ("content-type", "application/json")],
                    r#"{"status":{"code":429,"description":"Too Many Requests","details":["Przekroczono limit"]}}"#,
                )
            }),
        )
        .route(
            "/v2/headers",
            get(|| async {
                (
                    // Appended, so a name can come twice.
                    axum::response::AppendHeaders([
                        ("x-system-warning", "[W1]: uwaga"),
                        ("x-ms-meta-hash", "q1w2e3=="),
                        ("set-cookie", "track=1"),
                        ("set-cookie", "second=2"),
                        ("set-cookie2", "old=1"),
                        ("access-control-allow-origin", "*"),
                        ("access-control-allow-credentials", "true"),
                        ("access-control-expose-headers", "*"),
                        ("alt-svc", "h3=\":443\""),
                        ("strict-transport-security", "max-age=1"),
                        ("content-security-policy", "default-src *"),
                        ("proxy-authenticate", "Basic"),
                        ("x-ms-request-id", "r-1"),
                        ("x-ms-request-id", "r-2"),
                        ("content-type", "application/json"),
                    ]),
                    "{}",
                )
            }),
        )
        .route(
            "/v2/redirect",
            get(|| async {
                (
                    StatusCode::FOUND,
                    [("location", "http://evil.example/steal")],
                    "",
                )
            }),
        )
        .route(
            "/v2/big/{size}",
            get(|axum::extract::Path(size): axum::extract::Path<usize>| async move {
                let chunk = Bytes::from(vec![b'x'; 64 * 1024]);
                let chunks = size.div_ceil(chunk.len());
                let stream = futures_stream(chunk, chunks);
                Body::from_stream(stream)
            }),
        )
}

fn futures_stream(
    chunk: Bytes,
    count: usize,
) -> impl futures_util::Stream<Item = Result<Bytes, std::io::Error>> {
    futures_util::stream::iter((0..count).map(move |_| Ok(chunk.clone())))
}

/// Echo: method, path, query, forwarded headers, body length and SHA-free checksum.
async fn echo(req: Request) -> Response {
    let method = req.method().to_string();
    let path = req.uri().path().to_owned();
    let query = req.uri().query().map(str::to_owned);
    let headers = headers_json(req.headers());
    let mut body = req.into_body();
    let mut len = 0usize;
    let mut sum = 0u64;
    while let Some(frame) = body.frame().await {
        let Ok(frame) = frame else {
            return StatusCode::BAD_REQUEST.into_response();
        };
        if let Some(data) = frame.data_ref() {
            len += data.len();
            sum = data
                .iter()
                .fold(sum, |s, b| s.wrapping_mul(31).wrapping_add(u64::from(*b)));
        }
    }
    let json = serde_json::json!({
        "method": method, "path": path, "query": query, "headers": headers,
        "bodyLen": len, "bodySum": sum,
    });
    ([("content-type", "application/json")], json.to_string()).into_response()
}

fn headers_json(headers: &HeaderMap) -> serde_json::Value {
    let mut map = serde_json::Map::new();
    for (name, value) in headers {
        map.insert(
            name.as_str().to_owned(),
            serde_json::Value::String(value.to_str().unwrap_or("<binary>").to_owned()),
        );
    }
    serde_json::Value::Object(map)
}

/// Like the echo checksum, for comparing bodies.
pub fn checksum(data: &[u8]) -> u64 {
    data.iter()
        .fold(0u64, |s, b| s.wrapping_mul(31).wrapping_add(u64::from(*b)))
}

/// An upstream that accepts, reads the request head, then drops the connection.
pub async fn resetting_upstream() -> SocketAddr {
    let (addr, _) = counting_upstream(|mut socket, _| async move {
        let mut buf = [0u8; 1024];
        let _ = socket.read(&mut buf).await;
    })
    .await;
    addr
}

/// An upstream that answers garbage that is not HTTP.
pub async fn garbage_upstream() -> SocketAddr {
    let (addr, _) = counting_upstream(|mut socket, _| async move {
        let mut buf = [0u8; 1024];
        let _ = socket.read(&mut buf).await;
        let _ = socket.write_all(b"SSH-2.0-OpenSSH_9.6\r\n").await;
    })
    .await;
    addr
}

/// Accepts connections on a loopback port, counting them, and hands each to `handle` on
/// a task of its own.
pub async fn counting_upstream<F, Fut>(handle: F) -> (SocketAddr, Counters)
where
    F: Fn(tokio::net::TcpStream, Counters) -> Fut + Send + 'static,
    Fut: Future<Output = ()> + Send + 'static,
{
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let counters = Counters::default();
    let seen = counters.clone();
    tokio::spawn(async move {
        while let Ok((socket, _)) = listener.accept().await {
            seen.connections.fetch_add(1, Ordering::SeqCst);
            tokio::spawn(handle(socket, seen.clone()));
        }
    });
    (addr, counters)
}

/// A port on which nothing listens.
pub async fn dead_port() -> SocketAddr {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    drop(listener);
    addr
}

/// Reads a whole response body.
pub async fn body_bytes(response: Response) -> Bytes {
    response.into_body().collect().await.unwrap().to_bytes()
}

/// Reads a whole response body as JSON.
pub async fn body_json(response: Response) -> serde_json::Value {
    let bytes = body_bytes(response).await;
    serde_json::from_slice(&bytes)
        .unwrap_or_else(|e| panic!("not JSON ({e}): {}", String::from_utf8_lossy(&bytes)))
}

/// A running relay process; its stdout+stderr are collected when it stops. Killed when
/// dropped, so a test that fails half-way leaves no relay behind.
pub struct RelayProcess {
    child: Child,
    pub addr: SocketAddr,
}

impl Drop for RelayProcess {
    fn drop(&mut self) {
        // Already exited after `finish`: both calls just fail.
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl RelayProcess {
    /// Starts the binary on a free port with `args`, logging everything at TRACE.
    pub fn start(args: &[&str]) -> Self {
        Self::start_with_env(args, &[])
    }

    /// [`Self::start`] with extra environment variables (e.g. `SSL_CERT_FILE`).
    pub fn start_with_env(args: &[&str], env: &[(&str, &Path)]) -> Self {
        // A port freed by the probe listener can be taken by another test's server before the
        // relay binds it; the relay then exits at once. So the relay must still be running
        // after the port answers, or we try again on a fresh port.
        for _ in 0..5 {
            let port = {
                let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
                l.local_addr().unwrap().port()
            };
            let listen = format!("127.0.0.1:{port}");
            let mut child = Command::new(env!("CARGO_BIN_EXE_kwit-relay"))
                .args(["--listen", &listen])
                .args(args)
                .env("RUST_LOG", "trace")
                .env("KWIT_LOG_FORMAT", "json")
                .envs(env.iter().copied())
                .stdout(Stdio::piped())
                .stderr(Stdio::piped())
                .spawn()
                .expect("kwit-relay binary starts");
            let addr: SocketAddr = listen.parse().unwrap();
            for _ in 0..200 {
                if matches!(child.try_wait(), Ok(Some(_))) {
                    break;
                }
                if std::net::TcpStream::connect(addr).is_ok() {
                    std::thread::sleep(Duration::from_millis(200));
                    if matches!(child.try_wait(), Ok(None)) {
                        return Self { child, addr };
                    }
                    break;
                }
                std::thread::sleep(Duration::from_millis(25));
            }
            let _ = child.kill();
            let _ = child.wait();
        }
        panic!("kwit-relay did not start listening");
    }

    pub fn url(&self, path: &str) -> String {
        format!("http://{}{path}", self.addr)
    }

    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// Sends SIGTERM.
    pub fn terminate(&self) {
        let status = Command::new("kill")
            .args(["-TERM", &self.pid().to_string()])
            .status()
            .unwrap();
        assert!(status.success());
    }

    /// Waits for exit (SIGTERM first if `terminate`), returning (success, all output).
    pub fn finish(mut self, terminate: bool) -> (bool, String) {
        if terminate {
            self.terminate();
        }
        let mut status = None;
        for _ in 0..400 {
            if let Some(s) = self.child.try_wait().unwrap() {
                status = Some(s);
                break;
            }
            std::thread::sleep(Duration::from_millis(25));
        }
        let status = match status {
            Some(s) => s,
            None => {
                let _ = self.child.kill();
                self.child.wait().unwrap()
            }
        };
        let mut out = String::new();
        if let Some(mut s) = self.child.stdout.take() {
            s.read_to_string(&mut out).unwrap();
        }
        if let Some(mut s) = self.child.stderr.take() {
            s.read_to_string(&mut out).unwrap();
        }
        (status.success(), out)
    }
}

/// Counts what reached a test upstream: TCP connections accepted and HTTP requests served.
#[derive(Clone, Default)]
pub struct Counters {
    connections: Arc<AtomicUsize>,
    requests: Arc<AtomicUsize>,
}

impl Counters {
    pub fn connections(&self) -> usize {
        self.connections.load(Ordering::SeqCst)
    }

    pub fn requests(&self) -> usize {
        self.requests.load(Ordering::SeqCst)
    }
}

/// An HTTPS upstream serving `router` with a certificate for `127.0.0.1` issued by a fresh
/// test CA (openssl CLI). `ca_file` is that CA in PEM, for the relay's `SSL_CERT_FILE`.
pub struct TlsUpstream {
    pub addr: SocketAddr,
    pub ca_file: PathBuf,
    pub counters: Counters,
}

/// Runs `openssl` with the space-separated `args` in `dir`, panicking with its output if
/// it fails.
pub fn openssl(dir: &Path, args: &str) {
    let out = Command::new("openssl")
        .current_dir(dir)
        .args(args.split(' '))
        .output()
        .expect("openssl runs (Debian: apt-get install -y openssl)");
    assert!(
        out.status.success(),
        "openssl {args}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// A fresh scratch directory for one test.
pub fn scratch_dir(label: &str) -> PathBuf {
    static NEXT: AtomicUsize = AtomicUsize::new(0);
    let dir = std::env::temp_dir().join(format!(
        "kwit-relay-{label}-{}-{}",
        std::process::id(),
        NEXT.fetch_add(1, Ordering::SeqCst)
    ));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// A fake Trunk `dist/` in a fresh scratch directory: `index.html` with one inline
/// loader script, a hashed `.js` and `_bg.wasm`, and `sw.js`.
pub fn fake_dist() -> PathBuf {
    let dir = scratch_dir("dist");
    std::fs::write(
        dir.join("index.html"),
        "<!doctype html><html><head>\
         <link rel=\"modulepreload\" href=\"/kwit-web-0123456789abcdef.js\">\
         <script type=\"module\">import init from '/kwit-web-0123456789abcdef.js';init();</script>\
         </head><body></body></html>",
    )
    .unwrap();
    std::fs::write(
        dir.join("kwit-web-0123456789abcdef.js"),
        "export default 1;",
    )
    .unwrap();
    std::fs::write(dir.join("kwit-web-0123456789abcdef_bg.wasm"), b"\0asm").unwrap();
    std::fs::write(
        dir.join("sw.js"),
        "self.addEventListener('fetch', () => {});",
    )
    .unwrap();
    dir
}

/// A new P-256 key (`openssl req` options).
const NEW_P256_KEY: &str = "-newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes";

/// A self-signed CA in `dir/{name}.pem` (its key beside it); `name` has no spaces.
pub fn test_ca(dir: &Path, name: &str) -> PathBuf {
    openssl(
        dir,
        &format!(
            "req -x509 {NEW_P256_KEY} -keyout {name}.key -out {name}.pem -days 2 -subj /CN={name}"
        ),
    );
    dir.join(format!("{name}.pem"))
}

pub async fn tls_upstream(router: Router) -> TlsUpstream {
    let dir = scratch_dir("tls");
    let ca_file = test_ca(&dir, "kwit-test-ca");
    std::fs::write(
        dir.join("leaf.ext"),
        "subjectAltName=IP:127.0.0.1\nbasicConstraints=CA:FALSE\nextendedKeyUsage=serverAuth\n",
    )
    .unwrap();
    for args in [
        &format!("req {NEW_P256_KEY} -keyout leaf.key -out leaf.csr -subj /CN=127.0.0.1"),
        "x509 -req -in leaf.csr -CA kwit-test-ca.pem -CAkey kwit-test-ca.key -CAcreateserial -out leaf.pem -days 2 -extfile leaf.ext",
        "x509 -in leaf.pem -outform DER -out leaf.der",
        "pkcs8 -topk8 -nocrypt -in leaf.key -outform DER -out leaf.key.der",
    ] {
        openssl(&dir, args);
    }
    let cert = CertificateDer::from(std::fs::read(dir.join("leaf.der")).unwrap());
    let key = PrivatePkcs8KeyDer::from(std::fs::read(dir.join("leaf.key.der")).unwrap());
    let config = rustls::ServerConfig::builder_with_provider(Arc::new(
        rustls::crypto::aws_lc_rs::default_provider(),
    ))
    .with_safe_default_protocol_versions()
    .unwrap()
    .with_no_client_auth()
    .with_single_cert(vec![cert], key.into())
    .unwrap();
    let acceptor = tokio_rustls::TlsAcceptor::from(Arc::new(config));

    let (addr, counters) = counting_upstream(move |tcp, served| {
        let (acceptor, router) = (acceptor.clone(), router.clone());
        async move {
            let Ok(tls) = acceptor.accept(tcp).await else {
                return; // the client refused our certificate
            };
            let service = hyper::service::service_fn(move |req: Request<Incoming>| {
                served.requests.fetch_add(1, Ordering::SeqCst);
                router.clone().oneshot(req.map(Body::new))
            });
            let _ = hyper::server::conn::http1::Builder::new()
                .serve_connection(TokioIo::new(tls), service)
                .await;
        }
    })
    .await;
    TlsUpstream {
        addr,
        ca_file,
        counters,
    }
}

/// What a [`scripted_upstream`] does with one request.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Script {
    /// Answers `200 {}` and keeps the connection open.
    Answer,
    /// Answers `200 {}` (no `Connection: close`), then closes the connection soon after,
    /// as a server does when its keep-alive timeout ends.
    AnswerThenClose,
    /// Reads the whole request, then closes without answering.
    CloseWithoutAnswer,
}

/// A raw HTTP/1.1 upstream whose `n`-th request (counted over all connections, from 0)
/// is handled by `script(n)`. Counts connections and requests whose body it read in full.
pub async fn scripted_upstream(script: fn(usize) -> Script) -> (SocketAddr, Counters) {
    counting_upstream(move |mut socket, seen| async move {
        let mut buf = Vec::new();
        loop {
            let Some(head_end) = read_until_head_end(&mut socket, &mut buf).await else {
                return;
            };
            let head = String::from_utf8_lossy(&buf[..head_end]).to_ascii_lowercase();
            let body_len = head
                .lines()
                .find_map(|l| l.strip_prefix("content-length:"))
                .and_then(|v| v.trim().parse::<usize>().ok())
                .unwrap_or(0);
            while buf.len() < head_end + body_len {
                let mut chunk = [0u8; 8192];
                match socket.read(&mut chunk).await {
                    Ok(0) | Err(_) => return,
                    Ok(n) => buf.extend_from_slice(&chunk[..n]),
                }
            }
            buf.drain(..head_end + body_len);
            let action = script(seen.requests.fetch_add(1, Ordering::SeqCst));
            if action == Script::CloseWithoutAnswer {
                return;
            }
            let answer =
                "HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: 2\r\n\r\n{}";
            if socket.write_all(answer.as_bytes()).await.is_err() {
                return;
            }
            if action == Script::AnswerThenClose {
                tokio::time::sleep(Duration::from_millis(20)).await;
                return;
            }
        }
    })
    .await
}

/// Reads into `buf` until it holds a request head; returns where the head ends.
async fn read_until_head_end(
    socket: &mut tokio::net::TcpStream,
    buf: &mut Vec<u8>,
) -> Option<usize> {
    loop {
        if let Some(at) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
            return Some(at + 4);
        }
        let mut chunk = [0u8; 8192];
        match socket.read(&mut chunk).await {
            Ok(0) | Err(_) => return None,
            Ok(n) => buf.extend_from_slice(&chunk[..n]),
        }
    }
}
