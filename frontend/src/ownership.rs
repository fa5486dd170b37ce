//! Every draft, invoice, numbering series and KSeF session belongs to one company. These
//! rules decide what a company sees and whether an invoice may go out: an invoice leaves
//! only under the company that issues it, with that company's NIP as the seller and a
//! KSeF login in that company's context — never under whichever login is in memory.

use crate::company::Company;
use crate::drafts::DraftRecord;
use crate::i18n::Lang;
use crate::i18n::tr;
use crate::session::Session;

/// Whether `record` is `company`'s. Records from before companies were recorded on them
/// (empty `company_id`) belong to the company whose NIP is their seller's, so none is lost.
pub fn belongs_to(record: &DraftRecord, company: &Company) -> bool {
    if record.company_id.is_empty() {
        record.draft.seller.nip.trim() == company.nip
    } else {
        record.company_id == company.id
    }
}

/// The company (among `companies`) a record belongs to.
pub fn owner<'a>(record: &DraftRecord, companies: &'a [Company]) -> Option<&'a Company> {
    companies.iter().find(|c| belongs_to(record, c))
}

/// Whether `session` is a KSeF login of `company` as it is now (same company, NIP and
/// environment): a login made before the company's NIP was changed is not.
pub fn session_of(session: &Session, company: &Company) -> bool {
    session.company_id == company.id && session.nip == company.nip && session.env == company.env
}

/// Why an invoice may not be sent now. Nothing is sent and nothing changes in the draft.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum SendRefusal {
    /// No company is chosen (Firmy).
    NoCompany,
    /// The draft is another company's than the one chosen in the header.
    OtherCompany {
        /// The draft's company, as "name (NIP)", if it still exists.
        owner: Option<String>,
    },
    /// The draft's seller NIP is not the company's (the company's NIP was changed).
    SellerNip {
        /// The seller NIP on the draft.
        draft_nip: String,
        /// The company's NIP.
        company_nip: String,
    },
    /// No KSeF login for this company (or only one from before its NIP changed).
    NotLoggedIn,
}

impl SendRefusal {
    /// What happened and what to do, in the user's language.
    pub fn message(&self, lang: Lang) -> String {
        match self {
            Self::NoCompany => tr(
                lang,
                "Najpierw dodaj firmę (Firmy) — faktura jest wystawiana w jej imieniu.",
                "Add a company first (Companies): the invoice is issued in its name.",
            )
            .to_owned(),
            Self::OtherCompany { owner } => match (owner, lang) {
                (Some(o), Lang::Pl) => format!(
                    "Ta faktura należy do firmy {o}, a wybrana jest inna. Przełącz firmę, aby ją otworzyć lub wysłać."
                ),
                (Some(o), Lang::En) => format!(
                    "This invoice belongs to {o}, but another company is selected. Switch the company to open or send it."
                ),
                (None, _) => tr(
                    lang,
                    "Ta faktura należy do firmy, której już nie ma w Kwit. Nic nie zostało wysłane.",
                    "This invoice belongs to a company no longer in Kwit. Nothing was sent.",
                )
                .to_owned(),
            },
            Self::SellerNip {
                draft_nip,
                company_nip,
            } => match lang {
                Lang::Pl => format!(
                    "NIP sprzedawcy ({draft_nip}) nie jest NIP-em firmy ({company_nip}): otwórz fakturę ponownie."
                ),
                Lang::En => format!(
                    "The seller NIP ({draft_nip}) is not the company's ({company_nip}): open the invoice again."
                ),
            },
            Self::NotLoggedIn => tr(
                lang,
                "Ta firma nie jest zalogowana do KSeF. Zaloguj się w zakładce Dostęp i logowanie, a potem wyślij fakturę — szkic jest zapisany.",
                "This company is not logged in to KSeF. Log in under Access and login, then send the invoice; the draft is saved.",
            )
            .to_owned(),
        }
    }
}

/// Whether `record` may be sent now: it is the current company's, its seller NIP is the
/// company's, and `session` is that company's login.
pub fn check_send(
    record: &DraftRecord,
    current: Option<&Company>,
    companies: &[Company],
    session: Option<&Session>,
) -> Result<(), SendRefusal> {
    let company = current.ok_or(SendRefusal::NoCompany)?;
    if !belongs_to(record, company) {
        return Err(SendRefusal::OtherCompany {
            owner: owner(record, companies).map(|c| format!("{} ({})", c.name, c.nip)),
        });
    }
    let draft_nip = record.draft.seller.nip.trim();
    if draft_nip != company.nip {
        return Err(SendRefusal::SellerNip {
            draft_nip: draft_nip.to_owned(),
            company_nip: company.nip.clone(),
        });
    }
    match session {
        Some(s) if session_of(s, company) => Ok(()),
        _ => Err(SendRefusal::NotLoggedIn),
    }
}
