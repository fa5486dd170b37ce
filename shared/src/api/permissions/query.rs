//! Permission queries, one page at a time (`pageOffset` from 0 while `hasMore`): the grants
//! in force or made in the current context ([`persons`], which lists entities too, so it is
//! where a company sees its accounting office), and the invoice permissions the current
//! context received from others ([`entities`], the accounting office's side).

use serde::{Deserialize, Serialize};

use super::{Permission, PermissionState};
use crate::api::Identifier;

/// `?pageOffset=&pageSize=` of the permission queries (size 10–100).
fn page_query(page_offset: u32, page_size: u32) -> String {
    format!(
        "?pageOffset={page_offset}&pageSize={}",
        page_size.clamp(10, 100)
    )
}

/// Name of a person (`PermissionsSubjectPersonDetails`, the fields Kwit shows).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SubjectPerson {
    /// `PersonByIdentifier`, ….
    pub subject_details_type: String,
    /// Given name.
    pub first_name: String,
    /// Family name.
    pub last_name: String,
    /// PESEL or NIP, when the grant named one.
    #[serde(default)]
    pub person_identifier: Option<Identifier>,
}

/// Name of an entity (`PermissionsSubjectEntityDetails`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SubjectEntity {
    /// `EntityByIdentifier` or `EntityByFingerprint`.
    pub subject_details_type: String,
    /// Full name.
    pub full_name: String,
    /// Address.
    #[serde(default)]
    pub address: Option<String>,
}

/// One grant to a person or entity (`PersonPermission`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PersonGrant {
    /// `permissionId` for [`revoke`](super::revoke).
    pub id: String,
    /// Who holds it.
    pub authorized_identifier: Identifier,
    /// The context it works in (for subunit administrators).
    #[serde(default)]
    pub context_identifier: Option<Identifier>,
    /// For indirect grants: the client (`AllPartners` for all).
    #[serde(default)]
    pub target_identifier: Option<Identifier>,
    /// Who granted it (`System` without a value).
    pub author_identifier: Identifier,
    /// The permission's KSeF name; a string so a newer name still parses (see
    /// [`permission`](Self::permission)).
    pub permission_scope: String,
    /// Given at the grant.
    pub description: String,
    /// A person holder's name.
    #[serde(default)]
    pub subject_person_details: Option<SubjectPerson>,
    /// An entity holder's name.
    #[serde(default)]
    pub subject_entity_details: Option<SubjectEntity>,
    /// In force or not.
    pub permission_state: PermissionState,
    /// Since when.
    pub start_date: String,
    /// Whether it may be passed on.
    #[serde(default)]
    pub can_delegate: bool,
}

impl PersonGrant {
    /// The permission, if this version knows its name.
    pub fn permission(&self) -> Option<Permission> {
        Permission::parse(&self.permission_scope)
    }
}

/// `POST /permissions/query/persons/grants?pageOffset&pageSize` (needs `CredentialsManage`,
/// `CredentialsRead` or `SubunitManage`).
pub mod persons {
    use http::Method;
    use serde::{Deserialize, Serialize};

    use super::{PersonGrant, page_query};
    use crate::api::permissions::{Permission, PermissionState};
    use crate::api::{Body, Endpoint, Identifier, json_response};
    use crate::error::Result;

    /// Which list (`PersonPermissionsQueryType`).
    #[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
    pub enum QueryType {
        /// Everyone who may work in the current context.
        PermissionsInCurrentContext,
        /// What the caller granted in the current context.
        PermissionsGrantedInCurrentContext,
    }

    /// Filters (`PersonPermissionsQueryRequest`); absent ones do not filter.
    #[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
    #[serde(rename_all = "camelCase")]
    pub struct Filter {
        /// Who granted.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        pub author_identifier: Option<Identifier>,
        /// Who holds.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        pub authorized_identifier: Option<Identifier>,
        /// Context of subunit grants.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        pub context_identifier: Option<Identifier>,
        /// Client of indirect grants.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        pub target_identifier: Option<Identifier>,
        /// Only these permissions.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        pub permission_types: Option<Vec<Permission>>,
        /// Only in force / not.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        pub permission_state: Option<PermissionState>,
        /// Which list.
        pub query_type: QueryType,
    }

    impl Filter {
        /// Everything of the list `query_type`.
        pub fn all(query_type: QueryType) -> Self {
            Self {
                author_identifier: None,
                authorized_identifier: None,
                context_identifier: None,
                target_identifier: None,
                permission_types: None,
                permission_state: None,
                query_type,
            }
        }
    }

    /// Request: filters in the body, the page in the query.
    #[derive(Debug, Clone)]
    pub struct Request {
        /// Filters.
        pub filter: Filter,
        /// Page number from 0.
        pub page_offset: u32,
        /// 10–100.
        pub page_size: u32,
    }

    /// One page (`QueryPersonPermissionsResponse`).
    #[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
    #[serde(rename_all = "camelCase")]
    pub struct Response {
        /// Grants.
        pub permissions: Vec<PersonGrant>,
        /// Whether the next page has more.
        #[serde(default)]
        pub has_more: bool,
    }

    impl Endpoint for Request {
        type Response = Response;
        const METHOD: Method = Method::POST;
        fn path(&self) -> String {
            format!(
                "/permissions/query/persons/grants{}",
                page_query(self.page_offset, self.page_size)
            )
        }
        fn body(&self) -> Result<Body> {
            Body::json(&self.filter)
        }
        json_response!();
    }
}

/// `POST /permissions/query/entities/grants?pageOffset&pageSize` — invoice permissions the
/// current context's entity received (needs `CredentialsManage` or `CredentialsRead`).
pub mod entities {
    use http::Method;
    use serde::{Deserialize, Serialize};

    use super::page_query;
    use crate::api::permissions::Permission;
    use crate::api::{Body, Endpoint, Identifier, json_response};
    use crate::error::Result;

    /// Filter (`EntityPermissionsQueryRequest`).
    #[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
    #[serde(rename_all = "camelCase")]
    pub struct Filter {
        /// Only grants from this context (`Nip` or `InternalId`).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        pub context_identifier: Option<Identifier>,
    }

    /// Request: the filter in the body, the page in the query.
    #[derive(Debug, Clone, Default)]
    pub struct Request {
        /// Filter.
        pub filter: Filter,
        /// Page number from 0.
        pub page_offset: u32,
        /// 10–100.
        pub page_size: u32,
    }

    /// One received grant (`EntityPermissionItem`).
    #[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
    #[serde(rename_all = "camelCase")]
    pub struct EntityGrant {
        /// Grant id.
        pub id: String,
        /// The context that granted it (whose invoices).
        pub context_identifier: Identifier,
        /// `InvoiceRead` or `InvoiceWrite`, as a string (see [`permission`](Self::permission)).
        pub permission_scope: String,
        /// Given at the grant.
        pub description: String,
        /// Since when.
        pub start_date: String,
        /// Whether it may be passed on.
        #[serde(default)]
        pub can_delegate: bool,
    }

    impl EntityGrant {
        /// The permission, if this version knows its name.
        pub fn permission(&self) -> Option<Permission> {
            Permission::parse(&self.permission_scope)
        }
    }

    /// One page (`QueryEntityPermissionsResponse`).
    #[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
    #[serde(rename_all = "camelCase")]
    pub struct Response {
        /// Grants.
        pub permissions: Vec<EntityGrant>,
        /// Whether the next page has more.
        #[serde(default)]
        pub has_more: bool,
    }

    impl Endpoint for Request {
        type Response = Response;
        const METHOD: Method = Method::POST;
        fn path(&self) -> String {
            format!(
                "/permissions/query/entities/grants{}",
                page_query(self.page_offset, self.page_size)
            )
        }
        fn body(&self) -> Result<Body> {
            Body::json(&self.filter)
        }
        json_response!();
    }
}
