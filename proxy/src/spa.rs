//! Serving the Trunk build: caching rules, and `index.html`'s CSP (the base CSP of
//! `headers.rs` plus the hashes of its inline scripts).
//!
//! Hashed assets (`name-<hex hash>.js`, `_bg.wasm`, `.css`) never change, so they are
//! cached for a year as `immutable`; `index.html` and the service worker must always be
//! fresh, or users would be stuck on an old release. Unknown paths without a file
//! extension are SPA routes and get `index.html`.

use std::path::{Path, PathBuf};

use axum::body::Body;
use axum::extract::Request;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use base64::Engine as _;
use sha2::{Digest as _, Sha256};

use crate::headers::BASE_CSP;

/// Names of files that must never be cached by the browser's HTTP cache.
const NEVER_CACHED: &[&str] = &[
    "index.html",
    "sw.js",
    "service-worker.js",
    "manifest.webmanifest",
    "manifest.json",
];

/// `Cache-Control` for a served file name.
pub(crate) fn cache_control_for(file_name: &str) -> &'static str {
    if NEVER_CACHED.contains(&file_name) {
        "no-store"
    } else if is_hashed(file_name) {
        "public, max-age=31536000, immutable"
    } else {
        "no-cache"
    }
}

/// Trunk names hashed outputs `stem-<16 hex>.ext` or `stem-<16 hex>_bg.wasm`.
fn is_hashed(file_name: &str) -> bool {
    file_name.split('-').skip(1).any(|part| {
        let hex_len = part.bytes().take_while(u8::is_ascii_hexdigit).count();
        let after = &part[hex_len..];
        (12..=64).contains(&hex_len) && (after.starts_with('.') || after.starts_with("_bg."))
    })
}

/// Reads `index.html` and answers it with a CSP that additionally admits exactly the
/// inline loader script(s) Trunk wrote into it, by SHA-256 hash — never
/// `'unsafe-inline'`. Read per request so a rebuild is picked up without a restart.
pub(crate) async fn index(dir: &Path) -> Response {
    let path = dir.join("index.html");
    match tokio::fs::read_to_string(&path).await {
        Ok(html) => {
            let csp = csp_with_inline_hashes(&html);
            let mut response = (StatusCode::OK, html).into_response();
            let headers = response.headers_mut();
            headers.insert(
                header::CONTENT_TYPE,
                HeaderValue::from_static("text/html; charset=utf-8"),
            );
            headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
            if let Ok(value) = HeaderValue::from_str(&csp) {
                headers.insert(header::CONTENT_SECURITY_POLICY, value);
            }
            response
        }
        Err(_) => (
            StatusCode::SERVICE_UNAVAILABLE,
            "Aplikacja nie jest zbudowana (brak index.html). / The app is not built (index.html missing).",
        )
            .into_response(),
    }
}

/// The base CSP with `'sha256-…'` sources for every inline `<script>` in `html`.
pub(crate) fn csp_with_inline_hashes(html: &str) -> String {
    let hashes: Vec<String> = inline_scripts(html)
        .map(|body| {
            let digest = Sha256::digest(body.as_bytes());
            format!(
                "'sha256-{}'",
                base64::engine::general_purpose::STANDARD.encode(digest)
            )
        })
        .collect();
    if hashes.is_empty() {
        return BASE_CSP.to_owned();
    }
    BASE_CSP.replacen(
        "script-src 'self' 'wasm-unsafe-eval'",
        &format!("script-src 'self' 'wasm-unsafe-eval' {}", hashes.join(" ")),
        1,
    )
}

/// Bodies of `<script>` elements without a `src` attribute.
fn inline_scripts(html: &str) -> impl Iterator<Item = &str> {
    let mut rest = html;
    std::iter::from_fn(move || {
        loop {
            let start = rest.find("<script")?;
            let tag_end = start + rest[start..].find('>')?;
            let tag = &rest[start..tag_end];
            let body_start = tag_end + 1;
            let body_len = rest[body_start..].find("</script")?;
            let body = &rest[body_start..body_start + body_len];
            rest = &rest[body_start + body_len..];
            if !tag.contains(" src=") && !body.trim().is_empty() {
                return Some(body);
            }
        }
    })
}

/// Serves one SPA request: a file from `dir`, or `index.html` for app routes.
pub(crate) async fn serve(dir: PathBuf, req: Request) -> Response {
    let path = req.uri().path().to_owned();
    if path == "/" || path == "/index.html" {
        return index(&dir).await;
    }
    let file_name = path.rsplit('/').next().unwrap_or_default().to_owned();
    let service = tower_http::services::ServeDir::new(&dir)
        .append_index_html_on_directories(false)
        .precompressed_br()
        .precompressed_gzip();
    let response = match tower::ServiceExt::oneshot(service, req).await {
        Ok(response) => response.map(Body::new),
        Err(never) => match never {},
    };
    if response.status() == StatusCode::NOT_FOUND {
        // `/invoices/42` is an app route; `/missing-1234.js` is a missing file.
        if !file_name.contains('.') {
            return index(&dir).await;
        }
        return (StatusCode::NOT_FOUND, "Nie znaleziono. / Not found.").into_response();
    }
    let mut response = response;
    if response.status().is_success() || response.status() == StatusCode::NOT_MODIFIED {
        response.headers_mut().insert(
            header::CACHE_CONTROL,
            HeaderValue::from_static(cache_control_for(&file_name)),
        );
        // The body depends on Accept-Encoding (the build's `.br`/`.gz` copies): caches must
        // keep one per encoding.
        response
            .headers_mut()
            .insert(header::VARY, HeaderValue::from_static("accept-encoding"));
    }
    response
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn trunk_outputs_are_immutable_others_are_not() {
        assert_eq!(
            cache_control_for("kwit-web-3f9a2c4b5d6e7f80_bg.wasm"),
            "public, max-age=31536000, immutable"
        );
        assert_eq!(
            cache_control_for("kwit-web-3f9a2c4b5d6e7f80.js"),
            "public, max-age=31536000, immutable"
        );
        assert_eq!(
            cache_control_for("style-0123456789abcdef.css"),
            "public, max-age=31536000, immutable"
        );
        assert_eq!(cache_control_for("index.html"), "no-store");
        assert_eq!(cache_control_for("sw.js"), "no-store");
        assert_eq!(cache_control_for("icon-192.png"), "no-cache");
        assert_eq!(cache_control_for("kwit-web.js"), "no-cache");
    }

    #[test]
    fn inline_loader_is_admitted_by_hash_only() {
        let html = r#"<html><head><script src="/a.js"></script>
<script type="module">import init from '/x.js'; init();</script></head></html>"#;
        let csp = csp_with_inline_hashes(html);
        let digest = Sha256::digest(b"import init from '/x.js'; init();");
        let expected = base64::engine::general_purpose::STANDARD.encode(digest);
        assert!(csp.contains(&format!("'sha256-{expected}'")), "{csp}");
        assert!(!csp.contains("unsafe-inline"));
        assert_eq!(csp.matches("'sha256-").count(), 1);
        assert_eq!(csp_with_inline_hashes("<p>no scripts</p>"), BASE_CSP);
    }
}
