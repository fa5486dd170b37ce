//! Permission endpoints (ksef-docs `uprawnienia.md`): grants to a person and to an entity
//! (how a company lets its accountant or accounting office in), revoking a grant, and the
//! status of these asynchronous operations. The queries are in [`query`].

use serde::{Deserialize, Serialize};

pub mod query;

/// A KSeF permission name, as tokens, grants and the 403 `missing-permissions` carry it
/// (`TokenPermissionType`, `PersonPermissionType`, `EntityPermissionType` are subsets).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub enum Permission {
    /// View and download invoices.
    InvoiceRead,
    /// Issue (send) invoices.
    InvoiceWrite,
    /// View permissions and tokens.
    CredentialsRead,
    /// Grant and revoke permissions, manage tokens.
    CredentialsManage,
    /// Manage subunits.
    SubunitManage,
    /// Enforcement (bailiff) operations.
    EnforcementOperations,
    /// Session history and UPO.
    Introspection,
    /// Manage EU VAT entity permissions.
    VatUeManage,
    /// Issue PEF invoices (Peppol providers).
    PefInvoiceWrite,
}

impl Permission {
    /// Every permission, in the order the app lists them.
    pub const ALL: [Self; 9] = [
        Self::InvoiceRead,
        Self::InvoiceWrite,
        Self::CredentialsRead,
        Self::CredentialsManage,
        Self::Introspection,
        Self::SubunitManage,
        Self::EnforcementOperations,
        Self::VatUeManage,
        Self::PefInvoiceWrite,
    ];

    /// The KSeF name (`InvoiceRead`).
    pub fn as_str(self) -> &'static str {
        match self {
            Self::InvoiceRead => "InvoiceRead",
            Self::InvoiceWrite => "InvoiceWrite",
            Self::CredentialsRead => "CredentialsRead",
            Self::CredentialsManage => "CredentialsManage",
            Self::SubunitManage => "SubunitManage",
            Self::EnforcementOperations => "EnforcementOperations",
            Self::Introspection => "Introspection",
            Self::VatUeManage => "VatUeManage",
            Self::PefInvoiceWrite => "PefInvoiceWrite",
        }
    }

    /// The permission named `name`; `None` for a name this version does not know.
    pub fn parse(name: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|p| p.as_str() == name)
    }
}

/// `PermissionState`: `Inactive` is an indirect grant not in force (yet).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum PermissionState {
    /// In force.
    Active,
    /// Not in force.
    Inactive,
}

/// `202` body of every grant and revoke (`PermissionsOperationResponse`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct OperationHandle {
    /// Reference of the operation, for [`operation_status`].
    pub reference_number: String,
}

/// Given and family name (`PersonDetails`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PersonName {
    /// 2–30 characters.
    pub first_name: String,
    /// 2–81 characters.
    pub last_name: String,
}

/// A person known by a certificate fingerprint who has a PESEL or NIP
/// (`PersonByFingerprintWithIdentifierDetails`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PersonWithIdentifier {
    /// 2–30 characters.
    pub first_name: String,
    /// 2–81 characters.
    pub last_name: String,
    /// `Pesel` or `Nip`.
    pub identifier: crate::api::Identifier,
}

/// An identity document (`IdDocument`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct IdDocument {
    /// Kind of document.
    #[serde(rename = "type")]
    pub kind: String,
    /// Series and number.
    pub number: String,
    /// ISO 3166-1 alpha-2 country of issue.
    pub country: String,
}

/// A person known only by a certificate fingerprint
/// (`PersonByFingerprintWithoutIdentifierDetails`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PersonWithoutIdentifier {
    /// 2–30 characters.
    pub first_name: String,
    /// 2–81 characters.
    pub last_name: String,
    /// `YYYY-MM-DD`.
    pub birth_date: String,
    /// The document the person is known by.
    pub id_document: IdDocument,
}

/// Who the grantee is (`PersonPermissionSubjectDetails`): exactly one of the three details,
/// matching `subject_details_type`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PersonDetails {
    /// `PersonByIdentifier`, `PersonByFingerprintWithIdentifier` or
    /// `PersonByFingerprintWithoutIdentifier`.
    pub subject_details_type: String,
    /// For `PersonByIdentifier`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub person_by_id: Option<PersonName>,
    /// For `PersonByFingerprintWithIdentifier`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub person_by_fp_with_id: Option<PersonWithIdentifier>,
    /// For `PersonByFingerprintWithoutIdentifier`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub person_by_fp_no_id: Option<PersonWithoutIdentifier>,
}

impl PersonDetails {
    /// A person who logs in with a PESEL or NIP (trusted profile, a certificate naming them).
    pub fn by_identifier(first_name: &str, last_name: &str) -> Self {
        Self {
            subject_details_type: "PersonByIdentifier".into(),
            person_by_id: Some(PersonName {
                first_name: first_name.into(),
                last_name: last_name.into(),
            }),
            person_by_fp_with_id: None,
            person_by_fp_no_id: None,
        }
    }
}

/// `POST /permissions/persons/grants` — grant a person permissions in the current context
/// (`202`; needs `CredentialsManage`).
pub mod grant_person {
    use http::Method;
    use serde::{Deserialize, Serialize};

    use super::{OperationHandle, Permission, PersonDetails};
    use crate::api::{Body, Endpoint, Identifier, json_response};
    use crate::error::Result;

    /// Request body (`PersonPermissionsGrantRequest`).
    #[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
    #[serde(rename_all = "camelCase")]
    pub struct Request {
        /// `Nip`, `Pesel` or `Fingerprint` of the person.
        pub subject_identifier: Identifier,
        /// Each at most once.
        pub permissions: Vec<Permission>,
        /// 5–256 characters.
        pub description: String,
        /// Name of the person.
        pub subject_details: PersonDetails,
    }

    impl Endpoint for Request {
        type Response = OperationHandle;
        const METHOD: Method = Method::POST;
        fn path(&self) -> String {
            "/permissions/persons/grants".into()
        }
        fn body(&self) -> Result<Body> {
            Body::json(self)
        }
        json_response!();
    }
}

/// `POST /permissions/entities/grants` — grant another entity (an accounting office's NIP)
/// invoice permissions of the current context (`202`; needs `CredentialsManage`).
pub mod grant_entity {
    use http::Method;
    use serde::{Deserialize, Serialize};

    use super::{OperationHandle, Permission};
    use crate::api::{Body, Endpoint, Identifier, json_response};
    use crate::error::Result;

    /// One granted permission (`EntityPermission`): `InvoiceRead` or `InvoiceWrite`.
    #[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
    #[serde(rename_all = "camelCase")]
    pub struct EntityPermission {
        /// The permission.
        #[serde(rename = "type")]
        pub permission: Permission,
        /// Whether the entity may pass it on (indirect grants to its staff).
        #[serde(default)]
        pub can_delegate: bool,
    }

    /// Name of the entity (`EntityDetails`).
    #[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
    #[serde(rename_all = "camelCase")]
    pub struct EntityDetails {
        /// 5–90 characters.
        pub full_name: String,
    }

    /// Request body (`EntityPermissionsGrantRequest`).
    #[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
    #[serde(rename_all = "camelCase")]
    pub struct Request {
        /// `Nip` of the entity.
        pub subject_identifier: Identifier,
        /// Each at most once.
        pub permissions: Vec<EntityPermission>,
        /// 5–256 characters.
        pub description: String,
        /// Name of the entity.
        pub subject_details: EntityDetails,
    }

    impl Request {
        /// Invoice permissions for the entity with `nip`, none of them delegable.
        pub fn invoices(
            nip: &str,
            full_name: &str,
            permissions: &[Permission],
            description: &str,
        ) -> Self {
            Self {
                subject_identifier: Identifier::nip(nip),
                permissions: permissions
                    .iter()
                    .map(|&permission| EntityPermission {
                        permission,
                        can_delegate: false,
                    })
                    .collect(),
                description: description.into(),
                subject_details: EntityDetails {
                    full_name: full_name.into(),
                },
            }
        }
    }

    impl Endpoint for Request {
        type Response = OperationHandle;
        const METHOD: Method = Method::POST;
        fn path(&self) -> String {
            "/permissions/entities/grants".into()
        }
        fn body(&self) -> Result<Body> {
            Body::json(self)
        }
        json_response!();
    }
}

/// `DELETE /permissions/common/grants/{permissionId}` — revoke a person's or entity's grant
/// (`202`; the id comes from a [`query`]).
pub mod revoke {
    use http::Method;

    use super::OperationHandle;
    use crate::api::{Endpoint, encode, json_response};

    /// Request.
    #[derive(Debug, Clone)]
    pub struct Request {
        /// `id` of the grant (36 characters).
        pub permission_id: String,
    }

    impl Endpoint for Request {
        type Response = OperationHandle;
        const METHOD: Method = Method::DELETE;
        fn path(&self) -> String {
            format!("/permissions/common/grants/{}", encode(&self.permission_id))
        }
        json_response!();
    }
}

/// `GET /permissions/operations/{referenceNumber}` — whether a grant or revoke is done
/// (kept 30 days, then `410`).
pub mod operation_status {
    use http::Method;
    use serde::{Deserialize, Serialize};

    use crate::api::{Endpoint, StatusInfo, encode, json_response};

    /// Request.
    #[derive(Debug, Clone)]
    pub struct Request {
        /// From the grant's or revoke's [`OperationHandle`](super::OperationHandle).
        pub reference_number: String,
    }

    /// Status (`PermissionsOperationStatusResponse`).
    #[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
    pub struct Response {
        /// 100 accepted, 200 done, ≥ 400 failed (410 identifiers in a wrong relation,
        /// 420 no permission, 430 wrong context role, 440/450 not allowed, 550 cancelled).
        pub status: StatusInfo,
    }

    impl Endpoint for Request {
        type Response = Response;
        const METHOD: Method = Method::GET;
        fn path(&self) -> String {
            format!("/permissions/operations/{}", encode(&self.reference_number))
        }
        json_response!();
    }
}
