//! `kwit-relay`: parse configuration, set up logging, serve until SIGTERM.

use std::process::ExitCode;
use std::time::Duration;

use clap::Parser as _;
use kwit_relay::{Config, LogFormat, ShutdownFlag};
use tokio::net::TcpListener;
use tracing_subscriber::EnvFilter;

/// mimalloc instead of the C library's malloc: the relay allocates small, short-lived
/// objects per request on several threads, where musl's malloc (the static build that
/// ships in the container) is several times slower and glibc's fragments.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// Crates whose logs could carry URLs (with storage signatures) or headers at
/// debug/trace level; they stay silent whatever the filter says.
const SILENCED: &[&str] = &[
    "hyper",
    "hyper_util",
    "h2",
    "rustls",
    "tower_http",
    "tower",
    "axum",
];

#[tokio::main]
async fn main() -> ExitCode {
    let config = Config::parse();
    if config.check_health {
        return check_health(config.listen).await;
    }
    init_tracing(&config);
    match run(config).await {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) => {
            tracing::error!(error = %err, "relay stopped");
            eprintln!("kwit-relay: {err}");
            ExitCode::FAILURE
        }
    }
}

/// `GET /healthz` over plain TCP; an unspecified listen address is probed on loopback.
async fn check_health(mut addr: std::net::SocketAddr) -> ExitCode {
    use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
    if addr.ip().is_unspecified() {
        addr.set_ip(std::net::Ipv4Addr::LOCALHOST.into());
    }
    let probe = async {
        let mut stream = tokio::net::TcpStream::connect(addr).await?;
        stream
            .write_all(b"GET /healthz HTTP/1.0\r\nHost: localhost\r\n\r\n")
            .await?;
        let mut head = [0u8; 16];
        let n = stream.read(&mut head).await?;
        Ok::<bool, std::io::Error>(
            head[..n].starts_with(b"HTTP/1.0 200") || head[..n].starts_with(b"HTTP/1.1 200"),
        )
    };
    match tokio::time::timeout(Duration::from_secs(3), probe).await {
        Ok(Ok(true)) => ExitCode::SUCCESS,
        _ => ExitCode::FAILURE,
    }
}

fn init_tracing(config: &Config) {
    let spec = std::env::var("RUST_LOG").unwrap_or_else(|_| config.log.clone());
    let mut filter = EnvFilter::try_new(&spec).unwrap_or_else(|_| EnvFilter::new("info"));
    for name in SILENCED {
        if let Ok(directive) = format!("{name}=off").parse() {
            filter = filter.add_directive(directive);
        }
    }
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr);
    match config.log_format {
        LogFormat::Json => builder.json().flatten_event(true).init(),
        LogFormat::Text => builder.init(),
    }
}

async fn run(config: Config) -> std::io::Result<()> {
    let listener = TcpListener::bind(config.listen).await?;
    let addr = listener.local_addr()?;
    let shutdown = config.shutdown.clone();
    let grace = Duration::from_secs(config.shutdown_grace_secs);
    let environments: Vec<&str> = config
        .enabled_environments()
        .into_iter()
        .map(kwit_relay::Environment::as_str)
        .collect();
    tracing::info!(
        listen = %addr,
        environments = ?environments,
        spa = config.spa_dir.is_some(),
        "kwit-relay listening"
    );
    // Printed plainly too, so scripts can wait for it.
    println!("kwit-relay listening on http://{addr}");

    let max_buf = config.buffer_bytes();
    let app = kwit_relay::app(config);
    let (signalled_tx, signalled_rx) = tokio::sync::oneshot::channel::<()>();
    let serve = kwit_relay::serve(listener, app, max_buf, async move {
        wait_for_signal(&shutdown).await;
        let _ = signalled_tx.send(());
    });
    let serve = std::pin::pin!(serve);
    tokio::select! {
        result = serve => result?,
        () = async {
            let _ = signalled_rx.await;
            tokio::time::sleep(grace).await;
        } => {
            tracing::warn!(grace_secs = grace.as_secs(), "requests still running after the grace period; exiting");
        }
    }
    tracing::info!("kwit-relay stopped");
    Ok(())
}

/// SIGTERM (containers) or Ctrl-C: mark draining so `/readyz` fails, then let the
/// server stop accepting and finish what is in flight.
async fn wait_for_signal(shutdown: &ShutdownFlag) {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut signal) => {
                signal.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! {
        () = ctrl_c => {},
        () = term => {},
    }
    shutdown.begin();
    tracing::info!("shutdown signal received; finishing requests in flight");
}
