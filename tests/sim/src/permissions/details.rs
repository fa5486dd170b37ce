//! `subjectDetails` of the subunit and EU grants, checked against their schemas
//! (`PersonPermissionSubjectDetails`, `EuEntityPermissionSubjectDetails`): the type names
//! which of `personById`, `personByFpWithId`, `personByFpNoId`, `entityByFp` must be there.

use serde_json::Value;

use crate::error::ApiError;

/// `PersonPermissionSubjectDetailsType` (subunit administrators).
pub(super) const PERSON_TYPES: [&str; 3] = [
    "PersonByIdentifier",
    "PersonByFingerprintWithIdentifier",
    "PersonByFingerprintWithoutIdentifier",
];

/// `EuEntityPermissionSubjectDetailsType` (EU administrators and representatives).
pub(super) const EU_TYPES: [&str; 3] = [
    "PersonByFingerprintWithIdentifier",
    "PersonByFingerprintWithoutIdentifier",
    "EntityByFingerprint",
];

fn invalid(what: impl Into<String>) -> ApiError {
    ApiError::validation(format!("subjectDetails: {}", what.into()))
}

fn text(obj: &Value, field: &str, min: usize, max: usize) -> Result<(), ApiError> {
    let n = obj[field]
        .as_str()
        .ok_or_else(|| invalid(format!("brak pola {field}.")))?
        .chars()
        .count();
    if (min..=max).contains(&n) {
        Ok(())
    } else {
        Err(invalid(format!(
            "{field} musi mieć od {min} do {max} znaków."
        )))
    }
}

fn names(person: &Value) -> Result<(), ApiError> {
    text(person, "firstName", 2, 30)?;
    text(person, "lastName", 2, 81)
}

/// Checks `details` whose `subjectDetailsType` must be one of `allowed`.
pub(super) fn check(details: &Value, allowed: &[&str]) -> Result<(), ApiError> {
    let kind = details["subjectDetailsType"]
        .as_str()
        .ok_or_else(|| invalid("brak pola subjectDetailsType."))?;
    if !allowed.contains(&kind) {
        return Err(invalid(format!(
            "subjectDetailsType {kind} nie jest tu dozwolony (dozwolone: {}).",
            allowed.join(", ")
        )));
    }
    let field = match kind {
        "PersonByIdentifier" => "personById",
        "PersonByFingerprintWithIdentifier" => "personByFpWithId",
        "PersonByFingerprintWithoutIdentifier" => "personByFpNoId",
        _ => "entityByFp",
    };
    let d = &details[field];
    if !d.is_object() {
        return Err(invalid(format!(
            "dla subjectDetailsType {kind} wymagane jest pole {field}."
        )));
    }
    match field {
        "personById" => names(d),
        "personByFpWithId" => {
            names(d)?;
            let id = &d["identifier"];
            let ok = matches!(id["type"].as_str(), Some("Pesel" | "Nip"))
                && id["value"]
                    .as_str()
                    .is_some_and(|v| (10..=11).contains(&v.len()));
            if ok {
                Ok(())
            } else {
                Err(invalid("identifier musi mieć type Pesel albo Nip i value."))
            }
        }
        "personByFpNoId" => {
            names(d)?;
            let birth = d["birthDate"].as_str().unwrap_or_default();
            let date = time::macros::format_description!("[year]-[month]-[day]");
            time::Date::parse(birth, &date)
                .map_err(|_| invalid("birthDate musi być datą RRRR-MM-DD."))?;
            let doc = &d["idDocument"];
            text(doc, "type", 1, 20)?;
            text(doc, "number", 1, 20)?;
            text(doc, "country", 2, 2)
        }
        _ => {
            text(d, "fullName", 1, 100)?;
            text(d, "address", 1, 512)
        }
    }
}
