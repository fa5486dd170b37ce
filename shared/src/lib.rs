//! Kwit's KSeF domain crate: FA(3) invoices, validation, crypto and the KSeF 2.0
//! protocol flows behind a `Transport` trait. No I/O, no clock, no global RNG,
//! so everything here runs in native `cargo test` and in the browser alike.

pub mod access;
pub mod api;
pub mod batch;
pub mod crypto;
#[cfg(feature = "native-crypto")]
pub mod csr;
pub mod error;
pub mod fa3;
pub mod flow;
pub mod invoice;
pub mod ksef_number;
pub mod latarnia;
pub mod money;
pub mod nip;
pub mod qr;
pub mod send;
pub mod sync;
pub mod transport;
#[cfg(feature = "native-crypto")]
pub mod xades;
