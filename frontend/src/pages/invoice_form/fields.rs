//! The form's fields: one [`Fields`] handle (the draft, its validation, the lock) that every
//! section takes, so a section is a plain function of it.

use ksef_core::invoice::{InvoiceDraft, ValidationErrors};
use leptos::prelude::*;

use crate::components::text_field;

/// What every section of the form works on.
#[derive(Clone, Copy)]
pub(super) struct Fields {
    /// The invoice as typed.
    pub draft: RwSignal<InvoiceDraft>,
    /// Validation messages once "Sprawdź fakturę" (or a send) asked for them.
    pub errors: Memo<Option<ValidationErrors>>,
    /// The invoice left the browser: nothing may change.
    pub locked: Signal<bool>,
}

impl Fields {
    /// A text field at `path` with its message.
    pub fn text(
        self,
        path: &str,
        label: (&'static str, &'static str),
        get: fn(&InvoiceDraft) -> String,
        set: fn(&mut InvoiceDraft, String),
    ) -> impl IntoView + use<> {
        text_field(
            self.draft,
            self.errors,
            self.locked,
            path.to_owned(),
            label,
            "text",
            get,
            set,
        )
    }

    /// A date field at `path` with its message.
    pub fn date(
        self,
        path: &str,
        label: (&'static str, &'static str),
        get: fn(&InvoiceDraft) -> String,
        set: fn(&mut InvoiceDraft, String),
    ) -> impl IntoView + use<> {
        text_field(
            self.draft,
            self.errors,
            self.locked,
            path.to_owned(),
            label,
            "date",
            get,
            set,
        )
    }
}
