//! ksef-sim: a local KSeF 2.0 simulator that follows `open-api.json` on the wire, with real
//! crypto and in-memory state. See `ARCHITECTURE.md` for how the modules fit together.

pub mod auth;
pub mod batch;
pub mod certificates;
pub mod clock;
pub mod collective;
pub mod config;
pub mod control;
pub mod error;
pub mod export;
pub mod fa3check;
pub mod invoices;
pub mod jwt;
pub mod keys;
pub mod ksef_number;
pub mod latarnia;
pub mod limits;
pub mod permissions;
pub mod persist;
pub mod policy;
pub mod query;
pub mod server;
pub mod sessions;
pub mod state;
pub mod storage;
pub mod system_warning;
pub mod targz;
pub mod testdata;
pub mod testdata_limits;
pub mod tokens;
pub mod upo;
pub mod util;
pub mod xades;

pub use config::SimConfig;
pub use error::ApiError;
pub use server::{RunningSim, app, spawn};
pub use state::{AppState, DemoInfo};
