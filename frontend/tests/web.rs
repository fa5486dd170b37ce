//! Browser tests: run in headless Chromium through chromedriver (`wasm-bindgen-test-runner`).
#![cfg(target_arch = "wasm32")]

use kwit_web::KeyTable;
use kwit_web::api::PublicKeyCertificate;
use kwit_web::i18n::Lang;
use leptos::prelude::*;
use wasm_bindgen::JsCast;
use wasm_bindgen_test::*;

wasm_bindgen_test_configure!(run_in_browser);

fn cert(usage: &str, from: &str, to: &str) -> PublicKeyCertificate {
    PublicKeyCertificate {
        certificate: "MIIB".into(),
        public_key_id: Some("abc=".into()),
        valid_from: from.into(),
        valid_to: to.into(),
        usage: vec![usage.into()],
    }
}

fn mount_table(keys: Vec<PublicKeyCertificate>, lang: Lang) -> web_sys::HtmlElement {
    let document = web_sys::window().unwrap().document().unwrap();
    let host = document
        .create_element("section")
        .unwrap()
        .unchecked_into::<web_sys::HtmlElement>();
    document.body().unwrap().append_child(&host).unwrap();
    let mounted = host.clone();
    let handle = leptos::mount::mount_to(mounted, move || {
        provide_context(RwSignal::new(lang));
        view! { <KeyTable keys=keys.clone() /> }
    });
    handle.forget();
    host
}

#[wasm_bindgen_test]
fn key_table_shows_usage_and_validity_in_polish() {
    let host = mount_table(
        vec![
            cert(
                "KsefTokenEncryption",
                "2025-09-29T06:03:19+00:00",
                "2027-09-29T06:03:18+00:00",
            ),
            cert(
                "SymmetricKeyEncryption",
                "2025-10-01T00:00:00+00:00",
                "2027-10-01T00:00:00+00:00",
            ),
        ],
        Lang::Pl,
    );
    let text = host.inner_text();
    assert_eq!(
        host.query_selector_all("[data-testid=key-row]")
            .unwrap()
            .length(),
        2
    );
    assert!(text.contains("szyfrowanie tokena KSeF"), "{text}");
    assert!(text.contains("szyfrowanie klucza faktur"), "{text}");
    assert!(text.contains("2027-09-29"), "{text}");
    assert!(text.contains("Ważny od"), "{text}");
}

#[wasm_bindgen_test]
fn key_table_reports_an_empty_list_instead_of_an_empty_table() {
    let host = mount_table(vec![], Lang::En);
    assert!(host.query_selector("table").unwrap().is_none());
    assert!(host.inner_text().contains("KSeF returned no certificate."));
}
