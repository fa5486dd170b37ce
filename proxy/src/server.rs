//! The HTTP/1.1 accept loop: hyper's server directly instead of `axum::serve`, so each
//! connection gets `TCP_NODELAY` (no Nagle delay on the last small segment of an
//! answer) and a capped write/read buffer, with the same graceful shutdown: stop
//! accepting, let requests in flight finish, close idle keep-alive connections.

use std::future::Future;
use std::net::SocketAddr;
use std::time::Duration;

use axum::body::Body;
use axum::extract::ConnectInfo;
use hyper::body::Incoming;
use hyper_util::rt::{TokioIo, TokioTimer};
use hyper_util::server::graceful::GracefulShutdown;
use tokio::net::TcpListener;
use tower::Service as _;

use crate::{Config, Relay};

/// Serves `router` on `listener` until `shutdown` completes, then stops accepting and
/// waits for the connections' requests in flight (callers bound that wait).
/// Handlers see the peer address as `ConnectInfo<SocketAddr>`. `--buffer-kib` caps
/// what hyper buffers per connection (request head, queued response chunks); its
/// default (~400 KiB) times a thousand slow downloads was most of the relay's memory.
/// A client gets `--header-timeout` to send each request head, so connections opened
/// and fed a byte at a time (slowloris) cannot pile up.
pub async fn serve(
    listener: TcpListener,
    relay: Relay,
    config: &Config,
    shutdown: impl Future<Output = ()>,
) -> std::io::Result<()> {
    let mut builder = hyper::server::conn::http1::Builder::new();
    builder
        .max_buf_size(config.buffer_bytes().max(8 * 1024))
        .timer(TokioTimer::new())
        .header_read_timeout(config.header_timeout());
    let graceful = GracefulShutdown::new();
    let mut shutdown = std::pin::pin!(shutdown);
    let mut sweep = tokio::time::interval(crate::upstream::SWEEP_EVERY);
    sweep.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        let (stream, peer) = tokio::select! {
            _ = sweep.tick() => {
                relay.state.pool.sweep();
                continue;
            }
            accepted = listener.accept() => match accepted {
                Ok(accepted) => accepted,
                Err(err) => {
                    // Out of file descriptors or a connection reset before accept:
                    // back off briefly instead of spinning.
                    tracing::warn!(error = %err, "accept failed");
                    tokio::time::sleep(Duration::from_millis(50)).await;
                    continue;
                }
            },
            () = &mut shutdown => break,
        };
        let _ = stream.set_nodelay(true);
        let relay = relay.clone();
        let service = hyper::service::service_fn(move |mut req: hyper::Request<Incoming>| {
            let relay = relay.clone();
            async move {
                // The hot path: KSeF requests skip routing and the middleware stack.
                if crate::is_ksef_path(req.uri().path()) {
                    let req = req.map(Body::new);
                    Ok(crate::handle_ksef(&relay.state, req, Some(peer.ip())).await)
                } else {
                    req.extensions_mut().insert(ConnectInfo::<SocketAddr>(peer));
                    relay.router.clone().call(req).await
                }
            }
        });
        let connection = graceful.watch(builder.serve_connection(TokioIo::new(stream), service));
        tokio::spawn(async move {
            // A client that vanishes mid-request is not the relay's error.
            let _ = connection.await;
        });
    }
    drop(listener);
    graceful.shutdown().await;
    Ok(())
}
