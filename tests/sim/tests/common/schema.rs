//! A small validator for the OpenAPI 3.0 schema subset open-api.json uses: `type`,
//! `nullable`, `$ref` into `#/components/schemas`, `allOf`, `required`, `properties`,
//! `items`, `enum`, `minLength`/`maxLength`, `pattern`, `minimum`/`maximum`.
//! Unknown properties are allowed (KSeF removed `additionalProperties:false` on purpose).

use std::sync::OnceLock;

use serde_json::Value;

pub fn spec() -> &'static Value {
    static SPEC: OnceLock<Value> = OnceLock::new();
    SPEC.get_or_init(|| {
        let text = include_str!("../../openapi/open-api.json");
        let mut spec: Value = serde_json::from_str(text).expect("vendored open-api.json parses");
        // 2.1.0 scheduled the removal of the deprecated `authenticationMethod` for
        // 2026-11-16 (api-changelog.md); the 2.6.0 file still lists it as required.
        for name in [
            "AuthenticationOperationStatusResponse",
            "AuthenticationListItem",
        ] {
            if let Some(required) = spec["components"]["schemas"][name]["required"].as_array_mut() {
                required.retain(|f| f != "authenticationMethod");
            }
        }
        spec
    })
}

/// The response schema for `method path status content_type`, if the spec documents one.
pub fn response_schema(
    method: &str,
    path: &str,
    status: u16,
    content_type: &str,
) -> Option<&'static Value> {
    let op = spec()
        .get("paths")?
        .get(path)?
        .get(method.to_ascii_lowercase())?;
    let resp = op.get("responses")?.get(status.to_string())?;
    let resp = resolve(resp);
    let content = resp.get("content")?;
    content
        .get(content_type)
        .or_else(|| content.as_object()?.values().next())?
        .get("schema")
}

fn resolve(v: &Value) -> &Value {
    match v.get("$ref").and_then(Value::as_str) {
        Some(r) => {
            let mut cur = spec();
            for part in r.trim_start_matches("#/").split('/') {
                cur = &cur[part];
            }
            resolve(cur)
        }
        None => v,
    }
}

/// Validates `value` against `schema`; returns the list of violations (empty = valid).
pub fn validate(schema: &Value, value: &Value) -> Vec<String> {
    let mut errors = Vec::new();
    check(schema, value, "$", &mut errors);
    errors
}

fn check(schema: &Value, value: &Value, at: &str, errors: &mut Vec<String>) {
    let schema = resolve(schema);
    if value.is_null() {
        let nullable = schema
            .get("nullable")
            .and_then(Value::as_bool)
            .unwrap_or(false)
            || schema.get("type").is_none()
                && schema.get("allOf").is_none()
                && schema.get("properties").is_none();
        if !nullable {
            errors.push(format!("{at}: null not allowed"));
        }
        return;
    }
    if let Some(all) = schema.get("allOf").and_then(Value::as_array) {
        for s in all {
            check(s, value, at, errors);
        }
    }
    if let Some(t) = schema.get("type").and_then(Value::as_str) {
        let ok = match t {
            "string" => value.is_string(),
            "integer" => value.is_i64() || value.is_u64(),
            "number" => value.is_number(),
            "boolean" => value.is_boolean(),
            "array" => value.is_array(),
            "object" => value.is_object(),
            _ => true,
        };
        if !ok {
            errors.push(format!("{at}: expected {t}, got {value}"));
            return;
        }
    }
    if let Some(e) = schema.get("enum").and_then(Value::as_array)
        && !e.contains(value)
    {
        errors.push(format!("{at}: {value} not in enum {e:?}"));
    }
    if let Some(s) = value.as_str() {
        let len = s.chars().count() as u64;
        if let Some(min) = schema.get("minLength").and_then(Value::as_u64)
            && len < min
        {
            errors.push(format!("{at}: shorter than {min}"));
        }
        if let Some(max) = schema.get("maxLength").and_then(Value::as_u64)
            && len > max
        {
            errors.push(format!("{at}: longer than {max}"));
        }
        if let Some(p) = schema.get("pattern").and_then(Value::as_str) {
            let re = regex::Regex::new(&format!("^(?:{p})$")).expect("pattern compiles");
            if !re.is_match(s) {
                errors.push(format!("{at}: {s:?} does not match {p}"));
            }
        }
    }
    if let Some(n) = value.as_f64() {
        if let Some(min) = schema.get("minimum").and_then(Value::as_f64)
            && n < min
        {
            errors.push(format!("{at}: below minimum {min}"));
        }
        if let Some(max) = schema.get("maximum").and_then(Value::as_f64)
            && n > max
        {
            errors.push(format!("{at}: above maximum {max}"));
        }
    }
    if let Some(obj) = value.as_object() {
        if let Some(req) = schema.get("required").and_then(Value::as_array) {
            for r in req.iter().filter_map(Value::as_str) {
                if !obj.contains_key(r) {
                    errors.push(format!("{at}: missing required {r}"));
                }
            }
        }
        if let Some(props) = schema.get("properties").and_then(Value::as_object) {
            for (k, s) in props {
                if let Some(v) = obj.get(k) {
                    check(s, v, &format!("{at}.{k}"), errors);
                }
            }
        }
    }
    if let (Some(items), Some(arr)) = (schema.get("items"), value.as_array()) {
        for (i, v) in arr.iter().enumerate() {
            check(items, v, &format!("{at}[{i}]"), errors);
        }
    }
}
