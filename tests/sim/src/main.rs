//! `ksef-sim [--listen ADDR] [--public-url URL] [--state-file PATH] [--rate-limits P]`

use std::process::ExitCode;

use ksef_sim::SimConfig;

fn usage() -> &'static str {
    "Użycie / usage: ksef-sim [--listen ADDR] [--public-url URL] [--state-file PATH] [--rate-limits production|generous|off] [--key-rotation] [--export-part-size BYTES]\n  --public-url: base of storage links (UPO, export parts), http or https, e.g. https://kwit.example.com/ksef/sim (the relay's route)\n  --rate-limits: production (default; KSeF PRD values, also TEST's since 2.5.0), generous (10x), off\n  --export-part-size: export parts before encryption, at most 50000000 (KSeF's size, the default)"
}

fn parse_args() -> Result<SimConfig, String> {
    let mut config = SimConfig {
        print_demo: true,
        ..SimConfig::default()
    };
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        let mut value = |name: &str| {
            args.next().ok_or(format!(
                "Brak wartości dla {name} / missing value for {name}"
            ))
        };
        match arg.as_str() {
            "--listen" => {
                let v = value("--listen")?;
                config.listen = v
                    .parse()
                    .map_err(|_| format!("Nieprawidłowy adres / invalid address: {v}"))?;
            }
            "--public-url" => {
                let v = value("--public-url")?;
                if !(v.starts_with("http://") || v.starts_with("https://")) {
                    return Err(format!(
                        "--public-url musi zaczynać się od http:// lub https:// / must start with http:// or https://: {v}"
                    ));
                }
                config.public_url = Some(v);
            }
            "--state-file" => config.state_file = Some(value("--state-file")?.into()),
            "--rate-limits" => {
                let v = value("--rate-limits")?;
                config.rate_profile = serde_json::from_value(serde_json::Value::String(v.clone()))
                    .map_err(|_| format!("Nieznany profil / unknown profile: {v}"))?;
            }
            "--key-rotation" => config.key_rotation = true,
            "--export-part-size" => {
                let v = value("--export-part-size")?;
                config.export_part_size = v
                    .parse()
                    .ok()
                    .filter(|n| (1..=ksef_sim::export::MAX_PART_SIZE).contains(n))
                    .ok_or(format!(
                        "Nieprawidłowy rozmiar części / invalid part size: {v}"
                    ))?;
            }
            "-h" | "--help" => return Err(usage().into()),
            other => {
                return Err(format!(
                    "Nieznana opcja / unknown option: {other}\n{}",
                    usage()
                ));
            }
        }
    }
    Ok(config)
}

#[tokio::main]
async fn main() -> ExitCode {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env().unwrap_or_else(|_| "info".into()),
        )
        .init();
    let config = match parse_args() {
        Ok(c) => c,
        Err(msg) => {
            eprintln!("{msg}");
            return ExitCode::from(2);
        }
    };
    let sim = match ksef_sim::spawn(config).await {
        Ok(s) => s,
        Err(e) => {
            eprintln!("Nie można uruchomić symulatora / cannot start the simulator: {e}");
            return ExitCode::FAILURE;
        }
    };
    // The demo token is printed on purpose: it is a throw-away credential of a local simulator.
    println!("KSeF simulator listening on {}/v2", sim.base_url);
    println!(
        "Demo company: {} (NIP {})",
        sim.demo.company_name, sim.demo.nip
    );
    println!("Demo KSeF token: {}", sim.demo.ksef_token);
    println!("Control API: {}/sim/demo", sim.base_url);
    if let Some(path) = &sim.state.config.state_file {
        println!("State file: {}", path.display());
    }
    stop_requested().await;
    println!("Zatrzymywanie / stopping (requests in flight are finished)…");
    sim.shutdown().await;
    ExitCode::SUCCESS
}

/// Ctrl+C (SIGINT) or SIGTERM (service managers, `kill`, container stops).
async fn stop_requested() {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{SignalKind, signal};
        match signal(SignalKind::terminate()) {
            Ok(mut term) => {
                tokio::select! {
                    _ = tokio::signal::ctrl_c() => {}
                    _ = term.recv() => {}
                }
                return;
            }
            Err(e) => eprintln!("SIGTERM handler unavailable: {e}"),
        }
    }
    let _ = tokio::signal::ctrl_c().await;
}
