//! A mock KSeF upstream with precise faults, and helpers to run the relay on a socket.
#![allow(dead_code)]

use std::io::Read as _;
use std::net::SocketAddr;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use axum::Router;
use axum::body::{Body, Bytes};
use axum::extract::Request;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{any, get};
use http_body_util::BodyExt;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpListener;

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
                    [
                        ("x-system-warning", "[W1]: uwaga"),
                        ("x-ms-meta-hash", "q1w2e3=="),
                        ("set-cookie", "track=1"),
                        ("access-control-allow-origin", "*"),
                        ("content-type", "application/json"),
                    ],
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
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        loop {
            let Ok((mut socket, _)) = listener.accept().await else {
                return;
            };
            tokio::spawn(async move {
                let mut buf = [0u8; 1024];
                let _ = socket.read(&mut buf).await;
                drop(socket);
            });
        }
    });
    addr
}

/// An upstream that answers garbage that is not HTTP.
pub async fn garbage_upstream() -> SocketAddr {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        loop {
            let Ok((mut socket, _)) = listener.accept().await else {
                return;
            };
            tokio::spawn(async move {
                let mut buf = [0u8; 1024];
                let _ = socket.read(&mut buf).await;
                let _ = socket.write_all(b"SSH-2.0-OpenSSH_9.6\r\n").await;
            });
        }
    });
    addr
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

/// A running relay process; its stdout+stderr are collected when it stops.
pub struct RelayProcess {
    child: Child,
    pub addr: SocketAddr,
}

impl RelayProcess {
    /// Starts the binary on a free port with `args`, logging everything at TRACE.
    pub fn start(args: &[&str]) -> Self {
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
