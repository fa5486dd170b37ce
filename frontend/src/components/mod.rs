//! Small view helpers shared by the invoice pages: bilingual text, form fields that show
//! their validation message right next to the input, and status badges.

pub mod availability;
pub mod public_keys;

use ksef_core::invoice::{InvoiceDraft, ValidationErrors};
use leptos::prelude::*;

use crate::i18n::{Lang, tr};

/// The first validation message for `path` in the user's language.
pub fn field_message(errors: Option<&ValidationErrors>, path: &str, lang: Lang) -> Option<String> {
    let e = errors?.for_path(path).next()?;
    Some(match lang {
        Lang::Pl => e.pl.clone(),
        Lang::En => e.en.clone(),
    })
}

/// Where a form field reads and writes its value in the draft.
pub trait Binding: Fn(&InvoiceDraft) -> String + Clone + Send + Sync + 'static {}
impl<T: Fn(&InvoiceDraft) -> String + Clone + Send + Sync + 'static> Binding for T {}

/// A labelled text input bound to one draft field, with its validation message under it
/// (`data-testid="error-{path}"`, the path as `ksef_core` reports it, e.g. `buyer.nip`).
#[allow(clippy::too_many_arguments)]
pub fn text_field(
    draft: RwSignal<InvoiceDraft>,
    errors: Memo<Option<ValidationErrors>>,
    disabled: Signal<bool>,
    path: String,
    label: (&'static str, &'static str),
    input_type: &'static str,
    get: impl Binding,
    set: impl Fn(&mut InvoiceDraft, String) + Clone + Send + Sync + 'static,
) -> impl IntoView {
    let lang = expect_context::<RwSignal<Lang>>();
    let msg = {
        let path = path.clone();
        move || errors.with(|e| field_message(e.as_ref(), &path, lang.get()))
    };
    let invalid = {
        let msg = msg.clone();
        move || if msg().is_some() { "true" } else { "false" }
    };
    let error_id = format!("error-{path}");
    let described = error_id.clone();
    view! {
        <label class="field">
            <span class="field-label">{move || tr(lang.get(), label.0, label.1)}</span>
            <input
                type=input_type
                name=path.clone()
                data-field=path.clone()
                aria-invalid=invalid
                aria-describedby=described
                prop:disabled=move || disabled.get()
                prop:value=move || draft.with(|d| get(d))
                on:input=move |ev| {
                    let v = event_target_value(&ev);
                    draft.update(|d| set(d, v));
                }
            />
            {move || {
                msg()
                    .map(|m| {
                        view! {
                            <span class="field-error" id=error_id.clone() data-testid=error_id.clone()>
                                {m}
                            </span>
                        }
                    })
            }}
        </label>
    }
}

/// The message for `path` as a standalone line (for errors of a whole group, e.g. `lines`).
pub fn group_error(errors: Memo<Option<ValidationErrors>>, path: &'static str) -> impl IntoView {
    let lang = expect_context::<RwSignal<Lang>>();
    move || {
        errors
            .with(|e| field_message(e.as_ref(), path, lang.get()))
            .map(|m| {
                view! {
                    <p class="field-error" data-testid=format!("error-{path}")>
                        {m}
                    </p>
                }
            })
    }
}

/// A failure's codes and KSeF's words behind a "Szczegóły" toggle (closed: the message above it
/// says what to do).
pub fn details(details: Option<String>, lang: Lang) -> impl IntoView {
    details.map(|text| {
        view! {
            <details class="error-details" data-testid="error-details">
                <summary>{tr(lang, "Szczegóły", "Details")}</summary>
                <p>{text}</p>
            </details>
        }
    })
}

/// The one view of a failure: what happened and what to do, the details behind "Szczegóły",
/// and an optional hint (where to read more). `testid` names it for the tests.
pub fn problem_view(
    problem: Option<crate::api::Problem>,
    lang: Lang,
    testid: &'static str,
    hint: Option<(&'static str, &'static str)>,
) -> impl IntoView {
    problem.map(|p| {
        view! {
            <div class="error" role="alert" data-testid=testid>
                <p>{p.message}</p>
                {details(p.details, lang)}
                {hint.map(|(pl, en)| view! { <p>{tr(lang, pl, en)}</p> })}
            </div>
        }
    })
}
