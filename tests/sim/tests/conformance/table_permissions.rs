//! The request builders of the conformance walk for the permissions and `/testdata`
//! operations.

use serde_json::json;

use super::Builder;
use super::setup::{CLIENT_NIP, EU_VAT, GROUP_MEMBER, eu_admin_grant};
use super::table::{open, req, with};

/// A valid NIP that is neither the demo company nor a context of the calls above.
const TD_COMPANY: &str = "3936518395";
const OFFICE_NIP: &str = "7010002137";
const PESEL: &str = "15062788702";

/// Grants, operations and queries, in call order.
pub fn permissions() -> Vec<(&'static str, &'static str, Builder)> {
    vec![
        ("GET", "/permissions/attachments/status", |c| {
            req("/permissions/attachments/status", &c.access)
        }),
        ("POST", "/permissions/persons/grants", |c| {
            with(
                "/permissions/persons/grants",
                &c.access,
                json!({"subjectIdentifier": {"type": "Pesel", "value": PESEL}, "permissions": ["InvoiceRead"],
                    "description": "Księgowa", "subjectDetails": {"subjectDetailsType": "PersonByIdentifier",
                    "personById": {"firstName": "Anna", "lastName": "Kowalska"}}}),
            )
        }),
        ("POST", "/permissions/entities/grants", |c| {
            with(
                "/permissions/entities/grants",
                &c.access,
                json!({"subjectIdentifier": {"type": "Nip", "value": OFFICE_NIP},
                    "permissions": [{"type": "InvoiceRead", "canDelegate": false}],
                    "description": "Biuro rachunkowe", "subjectDetails": {"fullName": "Biuro Rachunkowe Sp. z o.o."}}),
            )
        }),
        ("POST", "/permissions/authorizations/grants", |c| {
            with(
                "/permissions/authorizations/grants",
                &c.access,
                json!({"subjectIdentifier": {"type": "Nip", "value": OFFICE_NIP}, "permission": "SelfInvoicing",
                    "description": "Samofakturowanie", "subjectDetails": {"fullName": "Biuro Rachunkowe Sp. z o.o."}}),
            )
        }),
        ("GET", "/permissions/operations/{referenceNumber}", |c| {
            req(
                format!("/permissions/operations/{}", c.permission_operation),
                &c.access,
            )
        }),
        ("POST", "/permissions/query/personal/grants", |c| {
            with("/permissions/query/personal/grants", &c.access, json!({}))
        }),
        ("POST", "/permissions/query/persons/grants", |c| {
            with(
                "/permissions/query/persons/grants",
                &c.access,
                json!({"queryType": "PermissionsInCurrentContext"}),
            )
        }),
        ("POST", "/permissions/query/entities/grants", |c| {
            with("/permissions/query/entities/grants", &c.access, json!({}))
        }),
        ("POST", "/permissions/query/authorizations/grants", |c| {
            with(
                "/permissions/query/authorizations/grants",
                &c.access,
                json!({"queryType": "Granted"}),
            )
        }),
        ("POST", "/permissions/indirect/grants", |c| {
            with(
                "/permissions/indirect/grants",
                &c.access,
                json!({"subjectIdentifier": {"type": "Pesel", "value": PESEL},
                    "targetIdentifier": {"type": "Nip", "value": CLIENT_NIP},
                    "permissions": ["InvoiceRead"], "description": "Księgowa klienta",
                    "subjectDetails": {"subjectDetailsType": "PersonByIdentifier",
                        "personById": {"firstName": "Anna", "lastName": "Kowalska"}}}),
            )
        }),
        ("POST", "/permissions/subunits/grants", |c| {
            with(
                "/permissions/subunits/grants",
                &c.access,
                json!({"subjectIdentifier": {"type": "Pesel", "value": PESEL},
                    "contextIdentifier": {"type": "InternalId", "value": c.x.subunit_id},
                    "description": "Administrator oddziału", "subunitName": "Oddział Kraków",
                    "subjectDetails": {"subjectDetailsType": "PersonByIdentifier",
                        "personById": {"firstName": "Anna", "lastName": "Kowalska"}}}),
            )
        }),
        ("POST", "/permissions/query/subunits/grants", |c| {
            with("/permissions/query/subunits/grants", &c.access, json!({}))
        }),
        ("GET", "/permissions/query/entities/roles", |c| {
            req("/permissions/query/entities/roles", &c.access)
        }),
        (
            "POST",
            "/permissions/query/subordinate-entities/roles",
            |c| {
                with(
                    "/permissions/query/subordinate-entities/roles",
                    &c.access,
                    json!({"subordinateEntityIdentifier": {"type": "Nip", "value": GROUP_MEMBER}}),
                )
            },
        ),
        (
            "POST",
            "/permissions/eu-entities/administration/grants",
            |c| {
                with(
                    "/permissions/eu-entities/administration/grants",
                    &c.access,
                    eu_admin_grant(&"A1".repeat(32), &c.x.eu_context),
                )
            },
        ),
        ("POST", "/permissions/eu-entities/grants", |c| {
            with(
                "/permissions/eu-entities/grants",
                &c.x.eu_access,
                json!({"subjectIdentifier": {"type": "Fingerprint", "value": "B2".repeat(32)},
                    "permissions": ["InvoiceRead", "InvoiceWrite"], "description": "Reprezentant podmiotu unijnego",
                    "subjectDetails": {"subjectDetailsType": "EntityByFingerprint",
                        "entityByFp": {"fullName": "Firma G.m.b.H.", "address": "Berlin, Unter den Linden 1"}}}),
            )
        }),
        ("POST", "/permissions/query/eu-entities/grants", |c| {
            with(
                "/permissions/query/eu-entities/grants",
                &c.x.eu_access,
                json!({"vatUeIdentifier": EU_VAT}),
            )
        }),
    ]
}

/// The TEST environment's `/testdata` operations.
pub fn testdata() -> Vec<(&'static str, &'static str, Builder)> {
    vec![
        ("POST", "/testdata/subject", |_| {
            open(
                "/testdata/subject",
                json!({"subjectNip": TD_COMPANY, "subjectType": "VatGroup", "description": "Grupa VAT testowa",
                    "subunits": [{"subjectNip": "7762811692", "description": "Członek grupy"}]}),
            )
        }),
        ("POST", "/testdata/person", |_| {
            open(
                "/testdata/person",
                json!({"nip": "7762811692", "pesel": PESEL, "isBailiff": false, "description": "Osoba testowa"}),
            )
        }),
        ("POST", "/testdata/permissions", |_| {
            open(
                "/testdata/permissions",
                json!({"contextIdentifier": {"type": "Nip", "value": TD_COMPANY},
                    "authorizedIdentifier": {"type": "Nip", "value": OFFICE_NIP},
                    "permissions": [{"permissionType": "InvoiceRead", "description": "Odczyt faktur"}]}),
            )
        }),
        ("POST", "/testdata/attachment", |_| {
            open("/testdata/attachment", json!({"nip": TD_COMPANY}))
        }),
        ("POST", "/testdata/attachment/revoke", |_| {
            open("/testdata/attachment/revoke", json!({"nip": TD_COMPANY}))
        }),
        ("POST", "/testdata/permissions/revoke", |_| {
            open(
                "/testdata/permissions/revoke",
                json!({"contextIdentifier": {"type": "Nip", "value": TD_COMPANY},
                    "authorizedIdentifier": {"type": "Nip", "value": OFFICE_NIP}}),
            )
        }),
        ("POST", "/testdata/context/block", |_| {
            open(
                "/testdata/context/block",
                json!({"contextIdentifier": {"type": "Nip", "value": TD_COMPANY}}),
            )
        }),
        ("POST", "/testdata/context/unblock", |_| {
            open(
                "/testdata/context/unblock",
                json!({"contextIdentifier": {"type": "Nip", "value": TD_COMPANY}}),
            )
        }),
        ("POST", "/testdata/person/remove", |_| {
            open("/testdata/person/remove", json!({"nip": "7762811692"}))
        }),
        ("POST", "/testdata/subject/remove", |_| {
            open(
                "/testdata/subject/remove",
                json!({"subjectNip": TD_COMPANY}),
            )
        }),
    ]
}

/// Revoking the grants made in `prepare`.
pub fn revokes() -> Vec<(&'static str, &'static str, Builder)> {
    vec![
        ("DELETE", "/permissions/common/grants/{permissionId}", |c| {
            req(
                format!("/permissions/common/grants/{}", c.person_permission_id),
                &c.access,
            )
        }),
        (
            "DELETE",
            "/permissions/authorizations/grants/{permissionId}",
            |c| {
                req(
                    format!(
                        "/permissions/authorizations/grants/{}",
                        c.authorization_permission_id
                    ),
                    &c.access,
                )
            },
        ),
    ]
}
