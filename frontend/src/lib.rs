//! Kwit in the browser: a Leptos client-side-rendered app. Components stay thin; the rules
//! live in `ksef-core` and in the plain service modules here. The layers, and which may
//! import which, are drawn in `frontend/README.md`:
//!
//! - [`app`]: the shell ([`App`]): header, tabs, lock screen, the page shown;
//! - [`pages`]: a folder (or file) per page, a component per section;
//! - [`state`]: [`state::AppCtx`] (signals, the database handle, the login, caches), navigation,
//!   the clock, keeping the login across reloads; never imports a page;
//! - services: [`send`], [`batch`], [`received`], [`session`], [`drafts`], [`series`], [`company`], [`credentials`],
//!   [`ownership`], [`signer`], [`sync_worker`], [`vault`], [`webcrypto`], [`store`], [`net`], [`api`],
//!   [`i18n`];
//! - [`components`]: small shared views.

pub mod api;
pub mod app;
pub mod batch;
pub mod company;
pub mod components;
pub mod credentials;
pub mod drafts;
pub mod i18n;
pub mod login;
pub mod net;
pub mod ownership;
pub mod pages;
pub mod received;
pub mod send;
pub mod series;
pub mod session;
pub mod signer;
pub mod state;
pub mod store;
pub mod sync_worker;
pub mod vault;
pub mod webcrypto;

pub use app::App;
pub use components::public_keys::{KeyTable, PublicKeys};
