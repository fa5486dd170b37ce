//! Kwit's certificate crypto, run in a Web Worker so that the first load of the app does not
//! carry RSA, P-256, C14N and CSR code (the 400 KB first-load budget): the worker module is
//! fetched only when a certificate is used.
//!
//! The app and the worker exchange JSON text messages: an [`Envelope`] with a [`Request`] one
//! way, an [`Envelope`] with a [`Reply`] (same `id`) the other way. Id 0 is the worker's
//! `ready` reply once it listens. The operations live here so they are testable natively;
//! `main.rs` only wires them to `postMessage`. Private keys arrive and leave as PKCS#8 PEM in
//! memory only: the app seals them with its vault before anything is stored.

mod protocol;
pub use protocol::{Envelope, Failure, KeyAlgorithm, Reply, Request};

/// The operations need ksef-core's pure-Rust RSA and P-256; the app's first load takes only
/// the protocol above (`default-features = false`), the worker everything.
#[cfg(feature = "worker")]
mod operations;
#[cfg(feature = "worker")]
pub use operations::*;
