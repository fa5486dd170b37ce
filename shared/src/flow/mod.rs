//! KSeF protocol flows over any [`Transport`](crate::transport::Transport): public keys,
//! login (KSeF token or XAdES certificate), refresh/logout, online sessions, sending and
//! polling invoices, UPO, metadata query, download, export with high-water mark, KSeF
//! tokens, certificates, authentication sessions and permission grants. Time, randomness
//! and sleeping are parameters.
//!
//! Sequence: /work/shared/ksef-guide.md §0 (happy path), §2–§10, §12.1 (429).
//!
//! One file per group of flows, as [`crate::api`] has one per endpoint group; everything is
//! re-exported here, so the paths stay `ksef_core::flow::…`.

mod auth;
mod auth_sessions;
mod certificates;
mod client;
mod invoices;
mod keys;
mod permissions;
mod sessions;
mod tokens;

pub use auth::{AuthTokens, login_with_certificate, login_with_ksef_token, logout, refresh};
pub use auth_sessions::{list_auth_sessions, revoke_auth_session, revoke_other_auth_sessions};
pub use certificates::{
    certificate_limits, enroll_certificate, enrollment_data, query_certificates, revoke_certificate,
};
pub use client::{KsefClient, PollPolicy};
pub use invoices::{ExportCursor, ExportResult, download_invoice, export_since, query_metadata};
pub use keys::{PublicKeys, ensure_public_keys, fetch_public_keys};
pub use permissions::{
    grant_entity_permissions, grant_person_permissions, query_entity_permissions,
    query_person_permissions, revoke_permission, wait_for_permission_operation,
};
pub use sessions::{
    AcceptedInvoice, OnlineSession, SentInvoice, close_online_session, encrypt_invoice,
    invoice_upo, open_online_session, send_invoice, send_invoice_reusing_session, wait_for_invoice,
    wait_for_session_upo,
};
pub use tokens::{
    create_token, list_tokens, list_tokens_matching, revoke_token, token_status,
    wait_for_token_active,
};
