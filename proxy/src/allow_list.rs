//! What the relay forwards at all, decided before anything is sent: the path
//! allow-list, the methods, and the `Origin` rule.
//!
//! The raw (still percent-encoded) request path is parsed here instead of trusting the
//! router's decoding: every segment must be plain unreserved characters, so encoded
//! slashes or dots, `..`, `@`, `:` and absolute URLs can never reach the upstream URL.

use axum::http::{HeaderMap, Method, header};

use crate::config::Environment;
use crate::error::RelayError;

/// Longest accepted path (after `/ksef/{env}/`) and query, in bytes.
pub(crate) const MAX_PATH_LEN: usize = 1024;
pub(crate) const MAX_QUERY_LEN: usize = 4096;

/// The methods KSeF uses, the only ones forwarded (a CORS preflight grants the same,
/// `headers.rs`).
pub(crate) const FORWARDED_METHODS: [Method; 5] = [
    Method::GET,
    Method::HEAD,
    Method::POST,
    Method::PUT,
    Method::DELETE,
];

/// Which upstream tree a request goes to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Tree {
    /// The API (`/v2/...`).
    Api,
    /// SAS storage links (`/storage/...`): UPO, batch parts, export parts.
    Storage,
    /// KSeF's availability service (`/latarnia/{env}/status|messages`), on its own host.
    Latarnia,
}

impl Tree {
    pub(crate) fn segment(self) -> &'static str {
        match self {
            Self::Api => "v2",
            Self::Storage => "storage",
            Self::Latarnia => "",
        }
    }
}

/// A parsed relay path.
#[derive(Debug, PartialEq, Eq)]
pub(crate) struct Target<'a> {
    pub(crate) env: Environment,
    pub(crate) tree: Tree,
    /// Validated rest of the path, without a leading slash.
    pub(crate) rest: &'a str,
}

/// The only two things Latarnia answers.
const LATARNIA_PATHS: [&str; 2] = ["status", "messages"];

/// Splits and validates `/ksef/{env}/{v2|storage}/{rest}` or `/latarnia/{env}/{status|messages}`
/// from the raw path.
pub(crate) fn parse_target(raw_path: &str) -> Result<Target<'_>, RelayError> {
    if let Some(after) = raw_path.strip_prefix("/latarnia/") {
        let (env_seg, rest) = after.split_once('/').ok_or(RelayError::UnknownRoute)?;
        let env = Environment::from_segment(env_seg).ok_or(RelayError::UnknownRoute)?;
        if !LATARNIA_PATHS.contains(&rest) {
            return Err(RelayError::UnknownRoute);
        }
        return Ok(Target {
            env,
            tree: Tree::Latarnia,
            rest,
        });
    }
    if raw_path.len() > MAX_PATH_LEN + "/ksef/storage/storage/".len() {
        return Err(RelayError::UriTooLong);
    }
    let after = raw_path
        .strip_prefix("/ksef/")
        .ok_or(RelayError::UnknownRoute)?;
    let (env_seg, after) = after.split_once('/').ok_or(RelayError::UnknownRoute)?;
    let env = Environment::from_segment(env_seg).ok_or(RelayError::UnknownRoute)?;
    let (tree_seg, rest) = after.split_once('/').ok_or(RelayError::UnknownRoute)?;
    let tree = match tree_seg {
        "v2" => Tree::Api,
        "storage" => Tree::Storage,
        _ => return Err(RelayError::UnknownRoute),
    };
    if rest.is_empty() {
        return Err(RelayError::UnknownRoute);
    }
    validate_rest(rest)?;
    Ok(Target { env, tree, rest })
}

/// Every segment non-empty, not a dot segment, and made of RFC 3986 unreserved
/// characters only (no `%`, so no encoded slash, dot, `@` or CRLF can sneak in).
fn validate_rest(rest: &str) -> Result<(), RelayError> {
    for segment in rest.split('/') {
        let plain = segment
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~'));
        if segment.is_empty() || segment == "." || segment == ".." || !plain {
            return Err(RelayError::ForbiddenPath);
        }
    }
    Ok(())
}

/// `Origin` must be absent (non-browser or same-origin GET), the relay's own origin
/// (its host equals `Host`), or a configured one. Anything else is another website
/// trying to spend this relay's IP reputation with KSeF.
pub(crate) fn origin_allowed(headers: &HeaderMap, allowed: &[String]) -> bool {
    let Some(origin) = headers.get(header::ORIGIN) else {
        return true;
    };
    let Ok(origin) = origin.to_str() else {
        return false;
    };
    if allowed.iter().any(|a| a.eq_ignore_ascii_case(origin)) {
        return true;
    }
    let authority = origin
        .strip_prefix("https://")
        .or_else(|| origin.strip_prefix("http://"));
    let host = headers.get(header::HOST).and_then(|h| h.to_str().ok());
    matches!((authority, host), (Some(a), Some(h)) if a.eq_ignore_ascii_case(h))
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::http::HeaderValue;

    #[test]
    fn parses_api_and_storage_paths() {
        assert_eq!(
            parse_target("/ksef/test/v2/auth/challenge").ok(),
            Some(Target {
                env: Environment::Test,
                tree: Tree::Api,
                rest: "auth/challenge"
            })
        );
        assert_eq!(
            parse_target("/ksef/sim/storage/01/abc/session-upo/upo_00.xml")
                .map(|t| (t.env, t.tree))
                .ok(),
            Some((Environment::Sim, Tree::Storage))
        );
    }

    #[test]
    fn latarnia_takes_only_status_and_messages() {
        assert_eq!(
            parse_target("/latarnia/prod/status").ok(),
            Some(Target {
                env: Environment::Prod,
                tree: Tree::Latarnia,
                rest: "status"
            })
        );
        assert!(parse_target("/latarnia/test/messages").is_ok());
        for path in [
            "/latarnia/prod/",
            "/latarnia/prod/status/x",
            "/latarnia/prod/../v2/auth/challenge",
            "/latarnia/prod/%73tatus",
            "/latarnia/elsewhere/status",
            "/latarnia/status",
        ] {
            assert!(
                matches!(parse_target(path), Err(RelayError::UnknownRoute)),
                "{path}"
            );
        }
    }

    #[test]
    fn refuses_escapes() {
        for path in [
            "/ksef/test/v2/../../etc/passwd",
            "/ksef/test/v2/auth/..",
            "/ksef/test/v2/./auth",
            "/ksef/test/v2/auth//challenge",
            "/ksef/test/v2/%2e%2e/x",
            "/ksef/test/v2/a%2Fb",
            "/ksef/test/v2/a%252Fb",
            "/ksef/test/v2/@evil.example",
            "/ksef/test/v2/user@evil.example/x",
            "/ksef/test/v2/http:/evil.example",
            "/ksef/test/v2/[::1]/x",
            "/ksef/test/v2/a%0d%0aHost:%20evil",
            "/ksef/test/v2/a\\b",
            "/ksef/test/v2/",
        ] {
            assert!(parse_target(path).is_err(), "{path}");
        }
        for path in [
            "/ksef/evil.example/v2/x",
            "/ksef/test/v3/x",
            "/ksef//v2/x",
            "/ksef/test",
        ] {
            assert!(
                matches!(parse_target(path), Err(RelayError::UnknownRoute)),
                "{path}"
            );
        }
    }

    #[test]
    fn refuses_oversized_paths() {
        let long = format!("/ksef/test/v2/{}", "a".repeat(MAX_PATH_LEN + 10));
        assert!(matches!(parse_target(&long), Err(RelayError::UriTooLong)));
    }

    #[test]
    fn origin_rules() {
        let mut h = HeaderMap::new();
        assert!(origin_allowed(&h, &[]));
        h.insert(header::HOST, HeaderValue::from_static("kwit.example.com"));
        h.insert(
            header::ORIGIN,
            HeaderValue::from_static("https://kwit.example.com"),
        );
        assert!(origin_allowed(&h, &[]));
        h.insert(
            header::ORIGIN,
            HeaderValue::from_static("https://evil.example"),
        );
        assert!(!origin_allowed(&h, &[]));
        assert!(origin_allowed(&h, &["https://evil.example".to_owned()]));
        h.insert(header::ORIGIN, HeaderValue::from_static("null"));
        assert!(!origin_allowed(&h, &[]));
    }
}
