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

fn main() -> ExitCode {
    let config = Config::parse();
    let Ok(runtime) = single_thread_runtime() else {
        eprintln!("kwit-relay: cannot start the event loop");
        return ExitCode::FAILURE;
    };
    if config.check_health {
        return runtime.block_on(check_health(config.listen));
    }
    // Flushes what is still queued when dropped, at the end of `main`.
    let _log_writer = init_tracing(&config);
    match runtime.block_on(run(config)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) => {
            tracing::error!(error = %err, "relay stopped");
            eprintln!("kwit-relay: {err}");
            ExitCode::FAILURE
        }
    }
}

fn single_thread_runtime() -> std::io::Result<tokio::runtime::Runtime> {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
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

/// Log lines queued beyond this, while the log reader is stalled, are dropped.
const LOG_QUEUE_LINES: usize = 10_000;

/// Logs go through a queue to a thread of their own that writes them in batches: a
/// request never waits for a log write, and a stalled log reader (a full pipe to a
/// container's log driver) costs log lines, not the relay's answers.
fn init_tracing(config: &Config) -> tracing_appender::non_blocking::WorkerGuard {
    let spec = std::env::var("RUST_LOG").unwrap_or_else(|_| config.log.clone());
    let mut filter = EnvFilter::try_new(&spec).unwrap_or_else(|_| EnvFilter::new("info"));
    for name in SILENCED {
        if let Ok(directive) = format!("{name}=off").parse() {
            filter = filter.add_directive(directive);
        }
    }
    let (writer, guard) = tracing_appender::non_blocking::NonBlockingBuilder::default()
        .lossy(true)
        .buffered_lines_limit(LOG_QUEUE_LINES)
        .thread_name("kwit-log")
        .finish(std::io::BufWriter::with_capacity(
            64 * 1024,
            std::io::stderr(),
        ));
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(writer);
    match config.log_format {
        LogFormat::Json => builder.json().flatten_event(true).init(),
        LogFormat::Text => builder.init(),
    }
    guard
}

/// Binds `--listen`, serves it from one event loop per worker thread until SIGTERM,
/// then lets every worker finish its requests in flight, bounded by `--shutdown-grace`.
///
/// One event loop per thread instead of one work-stealing pool: a request, its
/// upstream connection and their wake-ups stay on one thread, as in nginx's workers
/// (proxy/README.md, Benchmark). All workers accept from the one listening socket.
async fn run(config: Config) -> std::io::Result<()> {
    let workers = config.worker_count();
    let shutdown = config.shutdown.clone();
    let grace = Duration::from_secs(config.shutdown_grace_secs);
    let listener = listen(config.listen)?;
    let addr = listener.local_addr()?;
    let (stop_tx, stop_rx) = tokio::sync::watch::channel(false);
    let (done_tx, mut done_rx) = tokio::sync::mpsc::unbounded_channel::<std::io::Result<()>>();
    for (index, app) in kwit_relay::apps(&config, workers).into_iter().enumerate() {
        let listener = listener.try_clone()?;
        let (config, mut stop_rx, done_tx) = (config.clone(), stop_rx.clone(), done_tx.clone());
        std::thread::Builder::new()
            .name(format!("kwit-relay-{index}"))
            .spawn(move || {
                let served = single_thread_runtime().and_then(|runtime| {
                    runtime.block_on(async {
                        let listener = TcpListener::from_std(listener)?;
                        let stop = async move {
                            let _ = stop_rx.wait_for(|stop| *stop).await;
                        };
                        kwit_relay::serve(listener, app, &config, stop).await
                    })
                });
                let _ = done_tx.send(served);
            })?;
    }
    drop((listener, done_tx));

    let environments: Vec<&str> = config
        .enabled_environments()
        .into_iter()
        .map(kwit_relay::Environment::as_str)
        .collect();
    tracing::info!(
        listen = %addr,
        workers,
        environments = ?environments,
        spa = config.spa_dir.is_some(),
        "kwit-relay listening"
    );
    // Printed plainly too, so scripts can wait for it.
    println!("kwit-relay listening on http://{addr}");

    tokio::select! {
        () = wait_for_signal(&shutdown) => {},
        // A worker that stops on its own (it cannot accept any more) stops the relay.
        Some(result) = done_rx.recv() => {
            let _ = stop_tx.send(true);
            result?;
            return Err(std::io::Error::other("a worker stopped unexpectedly"));
        }
    }
    let _ = stop_tx.send(true);
    let finished = async {
        let mut first_error = Ok(());
        while let Some(result) = done_rx.recv().await {
            if first_error.is_ok() {
                first_error = result;
            }
        }
        first_error
    };
    match tokio::time::timeout(grace, finished).await {
        Ok(result) => result?,
        Err(_) => tracing::warn!(
            grace_secs = grace.as_secs(),
            "requests still running after the grace period; exiting"
        ),
    }
    tracing::info!("kwit-relay stopped");
    Ok(())
}

/// The listening socket, non-blocking, for the workers to share.
fn listen(addr: std::net::SocketAddr) -> std::io::Result<std::net::TcpListener> {
    let socket = if addr.is_ipv4() {
        tokio::net::TcpSocket::new_v4()?
    } else {
        tokio::net::TcpSocket::new_v6()?
    };
    socket.set_reuseaddr(true)?;
    socket.bind(addr)?;
    socket.listen(1024)?.into_std()
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
