//! The app's pages (see [`crate::Page`]).

pub mod access;
pub mod companies;
pub mod invoice_form;
pub mod invoices;
pub mod ksef_invoices;
pub mod start;
