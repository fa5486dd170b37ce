//! The app's own errors are written in each language on its own: no message is one
//! "Polish / English" text cut in two at runtime, and each language says what to do.
#![cfg(target_arch = "wasm32")]

use kwit_web::api::{Explain, OrProblem};
use kwit_web::i18n::Lang;
use kwit_web::series::SeriesError;
use kwit_web::store::StorageError;
use kwit_web::vault::VaultError;
use wasm_bindgen_test::*;

wasm_bindgen_test_configure!(run_in_browser);

fn both(e: &impl Explain) -> (String, String) {
    (e.message_in(Lang::Pl), e.message_in(Lang::En))
}

#[wasm_bindgen_test]
fn every_app_error_has_a_polish_and_an_english_message() {
    let errors: Vec<Box<dyn Fn() -> (String, String)>> = vec![
        Box::new(|| both(&VaultError::WrongPassphrase)),
        Box::new(|| both(&VaultError::WeakPassphrase)),
        Box::new(|| both(&VaultError::Locked)),
        Box::new(|| both(&VaultError::Corrupt)),
        Box::new(|| both(&VaultError::Crypto("SecurityError".into()))),
        Box::new(|| both(&StorageError::Open("blocked".into()))),
        Box::new(|| both(&StorageError::Io("QuotaExceededError".into()))),
        Box::new(|| both(&SeriesError::Pattern("FV".into()))),
        Box::new(|| both(&SeriesError::Date)),
        Box::new(|| both(&SeriesError::NoCompany)),
    ];
    for message in errors {
        let (pl, en) = message();
        assert_ne!(pl, en);
        assert!(!pl.contains(" / ") && !en.contains(" / "), "{pl} | {en}");
        assert!(pl.len() > 20 && en.len() > 20, "{pl} | {en}");
    }
    // The cause travels into both languages.
    let (pl, en) = both(&StorageError::Io("QuotaExceededError".into()));
    assert!(pl.contains("QuotaExceededError") && en.contains("QuotaExceededError"));
    assert!(en.contains("Reload the page"), "{en}");
}

#[wasm_bindgen_test]
fn a_failed_result_becomes_a_problem_in_the_users_language() {
    let failed: Result<(), VaultError> = Err(VaultError::Locked);
    let problem = failed.clone().or_problem(Lang::En).unwrap_err();
    assert_eq!(
        problem.message,
        "The vault is locked: unlock it with your passphrase."
    );
    assert_eq!(problem.details, None);
    let problem = failed.or_problem(Lang::Pl).unwrap_err();
    assert_eq!(
        problem.message,
        "Sejf jest zablokowany — odblokuj go hasłem."
    );
}
