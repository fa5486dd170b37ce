//! What the current credential may do in KSeF (FAQ "Nie widzę akcji KSeF"): for each KSeF
//! action the app offers, allowed or not, and if not, which permission (or which kind of
//! login) is missing and how to get it, in Polish and English.
//!
//! The app knows a credential's permissions without asking KSeF: a KSeF token's are fixed at
//! creation (`requestedPermissions`), a certificate naming the company's own NIP is its Owner
//! (all invoice and administration permissions, ksef-guide §9). The rules follow the
//! `x-required-permissions` of open-api.json and the login-method limits of ksef-docs.

use serde::{Deserialize, Serialize};

use crate::api::permissions::Permission;
use crate::error::Language;

/// How the credential logs in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum LoginMethod {
    /// A KSeF token: its permissions are fixed at creation.
    KsefToken,
    /// A XAdES signature (KSeF or qualified certificate): the permissions are those of the
    /// person or entity in the company's context.
    Certificate,
}

/// A credential as far as access goes: how it logs in and the permissions it carries.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Credential {
    /// How it logs in.
    pub method: LoginMethod,
    /// Its permissions in the company's context.
    pub permissions: Vec<Permission>,
}

impl Credential {
    /// From permission names (a token's `requestedPermissions`, the app's stored list);
    /// names this version does not know are left out.
    pub fn from_names<S: AsRef<str>>(method: LoginMethod, names: &[S]) -> Self {
        Self {
            method,
            permissions: names
                .iter()
                .filter_map(|n| Permission::parse(n.as_ref()))
                .collect(),
        }
    }

    /// A certificate naming the company's own NIP: the Owner (everything but the EU-entity,
    /// enforcement and Peppol permissions).
    pub fn owner_certificate() -> Self {
        Self {
            method: LoginMethod::Certificate,
            permissions: vec![
                Permission::InvoiceRead,
                Permission::InvoiceWrite,
                Permission::CredentialsRead,
                Permission::CredentialsManage,
                Permission::SubunitManage,
                Permission::Introspection,
            ],
        }
    }

    /// Whether it carries `permission`.
    pub fn has(&self, permission: Permission) -> bool {
        self.permissions.contains(&permission)
    }
}

/// A KSeF action the app offers.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Action {
    /// Open a session and send invoices.
    SendInvoices,
    /// Query, download and sync invoices (issued and received).
    ReadInvoices,
    /// The session history and its UPOs.
    ViewSessions,
    /// Generate a KSeF token.
    GenerateToken,
    /// List all of the company's tokens (without it, only your own).
    ListTokens,
    /// Revoke any of the company's tokens (without it, only your own).
    RevokeTokens,
    /// See who has which permissions.
    ViewPermissions,
    /// Grant and revoke permissions (the accountant's access).
    ManagePermissions,
    /// Enroll a KSeF certificate (Authentication or Offline).
    EnrollCertificate,
    /// Revoke a KSeF certificate.
    RevokeCertificate,
    /// List your KSeF certificates and their limits.
    ListCertificates,
    /// List and revoke the company's authentication sessions.
    ManageAuthSessions,
}

impl Action {
    /// Every action, in the order the app shows them.
    pub const ALL: [Self; 12] = [
        Self::SendInvoices,
        Self::ReadInvoices,
        Self::ViewSessions,
        Self::GenerateToken,
        Self::ListTokens,
        Self::RevokeTokens,
        Self::ViewPermissions,
        Self::ManagePermissions,
        Self::EnrollCertificate,
        Self::RevokeCertificate,
        Self::ListCertificates,
        Self::ManageAuthSessions,
    ];

    /// Any of these permissions allows it (empty: none needed), the first is the one to ask
    /// for; and whether it needs a signature login.
    fn needs(self) -> (&'static [Permission], bool) {
        use Permission as P;
        match self {
            Self::SendInvoices => (
                &[
                    P::InvoiceWrite,
                    P::PefInvoiceWrite,
                    P::EnforcementOperations,
                ],
                false,
            ),
            Self::ReadInvoices => (&[P::InvoiceRead], false),
            Self::ViewSessions => (
                &[
                    P::Introspection,
                    P::InvoiceWrite,
                    P::PefInvoiceWrite,
                    P::EnforcementOperations,
                ],
                false,
            ),
            // ksef-docs: only after a XAdES login; the token gets only permissions you hold.
            Self::GenerateToken => (&[], true),
            Self::ListTokens => (&[P::CredentialsRead, P::CredentialsManage], false),
            Self::RevokeTokens | Self::ManagePermissions => (&[P::CredentialsManage], false),
            Self::ViewPermissions => (&[P::CredentialsRead, P::CredentialsManage], false),
            // ksef-docs: enrollment and revocation are refused after a KSeF token login.
            Self::EnrollCertificate | Self::RevokeCertificate => (&[], true),
            Self::ListCertificates | Self::ManageAuthSessions => (&[], false),
        }
    }

    /// What it is, after "Nie można" (Polish genitive of negation) or "Cannot".
    fn phrase(self, lang: Language) -> &'static str {
        match (self, lang) {
            (Self::SendInvoices, Language::Pl) => "wysyłać faktur",
            (Self::SendInvoices, Language::En) => "send invoices",
            (Self::ReadInvoices, Language::Pl) => "pobierać faktur",
            (Self::ReadInvoices, Language::En) => "fetch invoices",
            (Self::ViewSessions, Language::Pl) => "przeglądać historii sesji i UPO",
            (Self::ViewSessions, Language::En) => "view the session history and UPOs",
            (Self::GenerateToken, Language::Pl) => "wygenerować tokena KSeF",
            (Self::GenerateToken, Language::En) => "generate a KSeF token",
            (Self::ListTokens, Language::Pl) => "przeglądać wszystkich tokenów KSeF firmy",
            (Self::ListTokens, Language::En) => "list all of the company's KSeF tokens",
            (Self::RevokeTokens, Language::Pl) => "unieważniać tokenów KSeF innych osób",
            (Self::RevokeTokens, Language::En) => "revoke other people's KSeF tokens",
            (Self::ViewPermissions, Language::Pl) => "przeglądać uprawnień",
            (Self::ViewPermissions, Language::En) => "view permissions",
            (Self::ManagePermissions, Language::Pl) => "nadawać ani odbierać uprawnień",
            (Self::ManagePermissions, Language::En) => "grant or revoke permissions",
            (Self::EnrollCertificate, Language::Pl) => "wnioskować o certyfikat KSeF",
            (Self::EnrollCertificate, Language::En) => "enroll a KSeF certificate",
            (Self::RevokeCertificate, Language::Pl) => "unieważnić certyfikatu KSeF",
            (Self::RevokeCertificate, Language::En) => "revoke a KSeF certificate",
            (Self::ListCertificates, Language::Pl) => "przeglądać certyfikatów KSeF",
            (Self::ListCertificates, Language::En) => "list KSeF certificates",
            (Self::ManageAuthSessions, Language::Pl) => "zarządzać sesjami logowania",
            (Self::ManageAuthSessions, Language::En) => "manage login sessions",
        }
    }
}

/// Why an action is refused, stable for the UI and tests.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DeniedCode {
    /// The KSeF token lacks the permission: a new token is needed (permissions are fixed).
    TokenLacksPermission,
    /// The person or entity holds no grant of the permission in the company's context.
    NoGrant,
    /// The action needs a signature (certificate) login; a KSeF token is not enough.
    CertificateLoginRequired,
}

/// An action the credential may not perform, and what is missing.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Denied {
    /// The action.
    pub action: Action,
    /// Why.
    pub code: DeniedCode,
    /// The permission to get (`None` when the login method is what is missing).
    pub missing: Option<Permission>,
}

impl Denied {
    /// What is refused and how to get it, in `lang`.
    pub fn message(&self, lang: Language) -> String {
        let action = self.action.phrase(lang);
        let name = self.missing.map_or("", Permission::as_str);
        let what = self.missing.map_or("", |p| describe(p, lang));
        match (self.code, lang) {
            (DeniedCode::TokenLacksPermission, Language::Pl) => format!(
                "Nie można {action}: token KSeF, którym się logujesz, nie ma uprawnienia {name} ({what}) — zaloguj się certyfikatem, wygeneruj nowy token z tym uprawnieniem i ustaw go jako domyślny."
            ),
            (DeniedCode::TokenLacksPermission, Language::En) => format!(
                "Cannot {action}: the KSeF token you log in with lacks the {name} permission ({what}); log in with a certificate, generate a new token with it and set that token as the default."
            ),
            (DeniedCode::NoGrant, Language::Pl) => format!(
                "Nie można {action}: nie masz uprawnienia {name} ({what}) w tej firmie — poproś jej właściciela lub osobę z uprawnieniem CredentialsManage o nadanie go w KSeF dla Twojego NIP lub PESEL."
            ),
            (DeniedCode::NoGrant, Language::En) => format!(
                "Cannot {action}: you do not hold the {name} permission ({what}) for this company; ask its owner, or someone with CredentialsManage, to grant it in KSeF to your NIP or PESEL."
            ),
            (DeniedCode::CertificateLoginRequired, Language::Pl) => format!(
                "Nie można {action} po zalogowaniu tokenem KSeF — zaloguj się certyfikatem (certyfikatem KSeF lub podpisem kwalifikowanym) i spróbuj ponownie."
            ),
            (DeniedCode::CertificateLoginRequired, Language::En) => format!(
                "Cannot {action} after a KSeF token login: log in with a certificate (a KSeF certificate or a qualified signature) and try again."
            ),
        }
    }
}

/// Whether `credential` may perform `action`, and if not, why and how to get it.
pub fn check(credential: &Credential, action: Action) -> Result<(), Denied> {
    let (any_of, certificate) = action.needs();
    if certificate && credential.method == LoginMethod::KsefToken {
        return Err(Denied {
            action,
            code: DeniedCode::CertificateLoginRequired,
            missing: None,
        });
    }
    match any_of.first() {
        Some(&wanted) if !any_of.iter().any(|&p| credential.has(p)) => Err(Denied {
            action,
            code: match credential.method {
                LoginMethod::KsefToken => DeniedCode::TokenLacksPermission,
                LoginMethod::Certificate => DeniedCode::NoGrant,
            },
            missing: Some(wanted),
        }),
        _ => Ok(()),
    }
}

/// Every action the app offers with its verdict for `credential`, in [`Action::ALL`] order.
pub fn actions(credential: &Credential) -> Vec<(Action, Result<(), Denied>)> {
    Action::ALL
        .into_iter()
        .map(|a| (a, check(credential, a)))
        .collect()
}

/// What `permission` allows, in plain words, in `lang`.
pub fn describe(permission: Permission, lang: Language) -> &'static str {
    use Permission as P;
    match (permission, lang) {
        (P::InvoiceRead, Language::Pl) => "przeglądanie i pobieranie faktur firmy",
        (P::InvoiceRead, Language::En) => "viewing and downloading the company's invoices",
        (P::InvoiceWrite, Language::Pl) => "wystawianie i wysyłanie faktur w imieniu firmy",
        (P::InvoiceWrite, Language::En) => "issuing and sending invoices for the company",
        (P::CredentialsRead, Language::Pl) => "przeglądanie uprawnień i tokenów KSeF firmy",
        (P::CredentialsRead, Language::En) => "viewing the company's permissions and KSeF tokens",
        (P::CredentialsManage, Language::Pl) => {
            "nadawanie i odbieranie uprawnień oraz zarządzanie tokenami KSeF firmy"
        }
        (P::CredentialsManage, Language::En) => {
            "granting and revoking permissions and managing the company's KSeF tokens"
        }
        (P::Introspection, Language::Pl) => "przeglądanie historii sesji i pobieranie UPO",
        (P::Introspection, Language::En) => "viewing the session history and downloading UPOs",
        (P::SubunitManage, Language::Pl) => "zarządzanie jednostkami podrzędnymi",
        (P::SubunitManage, Language::En) => "managing subunits",
        (P::EnforcementOperations, Language::Pl) => {
            "operacje egzekucyjne (organ egzekucyjny, komornik)"
        }
        (P::EnforcementOperations, Language::En) => {
            "enforcement operations (enforcement authority, bailiff)"
        }
        (P::VatUeManage, Language::Pl) => "zarządzanie uprawnieniami podmiotów unijnych (VAT UE)",
        (P::VatUeManage, Language::En) => "managing the permissions of EU VAT entities",
        (P::PefInvoiceWrite, Language::Pl) => "wystawianie faktur PEF (dostawcy usług Peppol)",
        (P::PefInvoiceWrite, Language::En) => "issuing PEF invoices (Peppol providers)",
    }
}

/// Both languages, Polish first, as [`Error`](crate::error::Error) shows itself.
impl std::fmt::Display for Denied {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{} / {}",
            self.message(Language::Pl),
            self.message(Language::En)
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_invoice_token_may_send_and_read_but_not_administer() {
        let token = Credential::from_names(
            LoginMethod::KsefToken,
            &["InvoiceRead", "InvoiceWrite", "SomethingNew"],
        );
        assert_eq!(token.permissions.len(), 2, "unknown names are left out");
        assert_eq!(check(&token, Action::SendInvoices), Ok(()));
        assert_eq!(check(&token, Action::ReadInvoices), Ok(()));
        assert_eq!(check(&token, Action::ViewSessions), Ok(()), "InvoiceWrite");
        assert_eq!(check(&token, Action::ManageAuthSessions), Ok(()));
        let denied = check(&token, Action::ManagePermissions).unwrap_err();
        assert_eq!(denied.code, DeniedCode::TokenLacksPermission);
        assert_eq!(denied.missing, Some(Permission::CredentialsManage));
        let pl = denied.message(Language::Pl);
        assert!(
            pl.contains("CredentialsManage") && pl.contains("wygeneruj nowy token"),
            "{pl}"
        );
        assert!(!denied.message(Language::En).contains(" / "));
        for action in [
            Action::GenerateToken,
            Action::EnrollCertificate,
            Action::RevokeCertificate,
        ] {
            let denied = check(&token, action).unwrap_err();
            assert_eq!(
                denied.code,
                DeniedCode::CertificateLoginRequired,
                "{action:?}"
            );
            assert_eq!(denied.missing, None);
            assert!(
                denied
                    .message(Language::En)
                    .contains("log in with a certificate")
            );
        }
    }

    #[test]
    fn a_read_only_token_is_told_which_permission_to_get() {
        let token = Credential::from_names(LoginMethod::KsefToken, &["InvoiceRead"]);
        let denied = check(&token, Action::SendInvoices).unwrap_err();
        assert_eq!(denied.missing, Some(Permission::InvoiceWrite));
        assert!(denied.message(Language::En).starts_with(
            "Cannot send invoices: the KSeF token you log in with lacks the InvoiceWrite permission"
        ));
        let denied = check(&token, Action::ViewSessions).unwrap_err();
        assert_eq!(denied.missing, Some(Permission::Introspection));
    }

    #[test]
    fn the_owner_may_do_everything_and_a_grantee_asks_the_company() {
        let owner = Credential::owner_certificate();
        assert!(actions(&owner).iter().all(|(_, v)| v.is_ok()));
        let accountant = Credential::from_names(LoginMethod::Certificate, &["InvoiceRead"]);
        let verdicts = actions(&accountant);
        assert_eq!(verdicts.len(), Action::ALL.len());
        let send = verdicts
            .iter()
            .find(|(a, _)| *a == Action::SendInvoices)
            .unwrap();
        let denied = send.1.unwrap_err();
        assert_eq!(denied.code, DeniedCode::NoGrant);
        assert!(
            denied
                .message(Language::Pl)
                .contains("poproś jej właściciela")
        );
        assert_eq!(check(&accountant, Action::EnrollCertificate), Ok(()));
        assert!(denied.to_string().contains(" / Cannot send invoices"));
    }

    #[test]
    fn every_permission_is_explained_in_both_languages() {
        for p in Permission::ALL {
            assert_eq!(Permission::parse(p.as_str()), Some(p));
            assert!(!describe(p, Language::Pl).is_empty());
            assert_ne!(describe(p, Language::Pl), describe(p, Language::En));
        }
    }
}
