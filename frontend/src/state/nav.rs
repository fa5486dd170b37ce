//! Where the user is: the pages addressed by URL hash (`#/{slug}`), and the invoice form's
//! address (`?draft=ID`), changed without reloading so the in-memory login stays.

use crate::i18n::Lang;

/// The pages of the app, addressed by URL hash (`#/{slug}`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Page {
    /// Start: current company, session state, KSeF public keys (diagnostics).
    Start,
    /// Companies (podmioty).
    Companies,
    /// Credentials, vault and KSeF login.
    Access,
    /// Fakturowanie: the invoice form (draft id in `?draft=`), with Wyślij do KSeF.
    Invoicing,
    /// Invoices issued in Kwit and their KSeF state.
    Invoices,
    /// Faktury KSeF: the invoices KSeF holds for the company, synced and searched locally.
    KsefInvoices,
}

impl Page {
    /// Every page, in navigation order.
    pub const ALL: &'static [Page] = &[
        Page::Start,
        Page::Companies,
        Page::Access,
        Page::Invoicing,
        Page::Invoices,
        Page::KsefInvoices,
    ];

    /// The hash slug.
    pub fn slug(self) -> &'static str {
        match self {
            Self::Start => "",
            Self::Companies => "companies",
            Self::Access => "access",
            Self::Invoicing => "fakturowanie",
            Self::Invoices => "faktury",
            Self::KsefInvoices => "faktury-ksef",
        }
    }

    /// The navigation label.
    pub fn title(self, lang: Lang) -> &'static str {
        match (self, lang) {
            (Self::Start, Lang::Pl) => "Start",
            (Self::Start, Lang::En) => "Start",
            (Self::Companies, Lang::Pl) => "Firmy",
            (Self::Companies, Lang::En) => "Companies",
            (Self::Access, Lang::Pl) => "Dostęp i logowanie",
            (Self::Access, Lang::En) => "Access and login",
            (Self::Invoicing, Lang::Pl) => "Fakturowanie",
            (Self::Invoicing, Lang::En) => "Invoicing",
            (Self::Invoices, Lang::Pl) => "Wystawione faktury",
            (Self::Invoices, Lang::En) => "Issued invoices",
            (Self::KsefInvoices, Lang::Pl) => "Faktury KSeF",
            (Self::KsefInvoices, Lang::En) => "KSeF invoices",
        }
    }

    /// The page for a location hash (`#/companies`); unknown means Start.
    pub fn from_hash(hash: &str) -> Page {
        let slug = hash.trim_start_matches('#').trim_start_matches('/');
        Self::ALL
            .iter()
            .copied()
            .find(|p| p.slug() == slug)
            .unwrap_or(Page::Start)
    }
}

/// The route of the form.
pub const FORM_HASH: &str = "#/fakturowanie";

/// The address of the form for draft `id` (hash routing; the id in the query survives reloads).
pub fn form_href(id: &str) -> String {
    format!("/?draft={id}{FORM_HASH}")
}

/// Opens the form for draft `id` (or a new draft) without reloading the page, so the KSeF
/// login, which lives in memory only, is kept.
pub fn go_to_form(id: Option<&str>) {
    let Some(location) = web_sys::window().map(|w| w.location()) else {
        return;
    };
    let hash = location.hash().unwrap_or_default();
    match id {
        Some(id) => replace_url(&format!("/?draft={id}{hash}")),
        None => replace_url(&format!("/?new=1{hash}")),
    }
    let _ = location.set_hash(FORM_HASH);
}

/// Drops `?draft=` from the address (the company changed: its own last draft opens).
pub fn forget_open_draft() {
    let hash = web_sys::window()
        .and_then(|w| w.location().hash().ok())
        .unwrap_or_default();
    replace_url(&format!("/{hash}"));
}

/// The address's hash (`#/companies`).
pub fn current_hash() -> String {
    web_sys::window()
        .and_then(|w| w.location().hash().ok())
        .unwrap_or_default()
}

pub fn query_param(name: &str) -> Option<String> {
    let search = web_sys::window()?.location().search().ok()?;
    let params = web_sys::UrlSearchParams::new_with_str(&search).ok()?;
    params.get(name).filter(|v| !v.is_empty())
}

pub fn replace_url(url: &str) {
    if let Some(history) = web_sys::window().and_then(|w| w.history().ok()) {
        let _ = history.replace_state_with_url(&wasm_bindgen::JsValue::NULL, "", Some(url));
    }
}
