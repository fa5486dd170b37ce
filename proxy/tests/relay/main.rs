//! Relay behaviour through `tower::ServiceExt::oneshot`, against a mock KSeF on a real
//! loopback socket (so faults are precise: slow, reset, HTML, garbage); one module per
//! topic, sharing the helpers below and `tests/common`.

#[path = "../common/mod.rs"]
mod common;

mod allow_list;
mod forwarding;
mod headers;
mod routes;
mod streaming;
mod upstream;

use axum::body::Body;
use axum::http::Request;
use clap::Parser as _;
use kwit_relay::{Config, app};

fn config_for(upstream: std::net::SocketAddr, extra: &[&str]) -> Config {
    let sim = format!("http://{upstream}");
    let mut args = vec!["kwit-relay", "--sim-url", sim.as_str(), "--rate-limit", "0"];
    args.extend_from_slice(extra);
    Config::parse_from(args)
}

async fn relay_to_mock(extra: &[&str]) -> axum::Router {
    let upstream = common::serve(common::mock_ksef()).await;
    app(config_for(upstream, extra))
}

/// The answer grants no cross-origin access.
fn no_cors(response: &axum::response::Response) -> bool {
    response
        .headers()
        .get("access-control-allow-origin")
        .is_none()
}

fn get(uri: &str) -> Request<Body> {
    Request::get(uri).body(Body::empty()).unwrap()
}
