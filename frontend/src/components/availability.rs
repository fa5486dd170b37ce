//! The KSeF availability banner: what Latarnia (MF's status service, through the relay's
//! `/latarnia/{env}`) says about the current company's environment — planned maintenance,
//! maintenance now, a failure — with Kwit's advice beside MF's own words. Checked at start,
//! when the company or its environment changes, every 10 minutes and when the network comes
//! back (never while offline). DEMO has no Latarnia; nothing is shown while all is well. Latarnia not answering is
//! told apart from KSeF being down (ksef-core's `latarnia::notice`).

use ksef_core::latarnia::{self, Availability, Level, NoticeKind};
use leptos::prelude::*;
use leptos::task::spawn_local;

use crate::api::Env;
use crate::i18n::tr;
use crate::net::FetchTransport;
use crate::state::AppCtx;

const EVERY: std::time::Duration = std::time::Duration::from_secs(10 * 60);

fn kind_slug(kind: NoticeKind) -> &'static str {
    match kind {
        NoticeKind::PlannedMaintenance => "planned-maintenance",
        NoticeKind::Maintenance => "maintenance",
        NoticeKind::Failure => "failure",
        NoticeKind::TotalFailure => "total-failure",
        NoticeKind::Unreachable => "unreachable",
    }
}

fn browser_online() -> bool {
    web_sys::window().is_none_or(|w| w.navigator().on_line())
}

#[component]
pub fn AvailabilityBanner() -> impl IntoView {
    let ctx = expect_context::<AppCtx>();
    let found = RwSignal::new(None::<(Env, Availability)>);
    let check = move || {
        let env = ctx.env();
        if env == Env::Demo {
            found.set(None);
            return;
        }
        // Without a network nothing can be learnt, and "Latarnia does not answer" would be
        // wrong: the last answer stays until the network is back (the `online` check below).
        if !browser_online() {
            return;
        }
        spawn_local(async move {
            let base = format!("/latarnia/{}", env.slug());
            let availability = latarnia::check(&FetchTransport, &base).await;
            if matches!(availability, Availability::Unreachable(_)) && !browser_online() {
                return;
            }
            found.set(Some((env, availability)));
        });
    };
    Effect::new(move |previous: Option<Env>| {
        let env = ctx.env();
        if previous != Some(env) {
            check();
        }
        env
    });
    let _ = set_interval_with_handle(check, EVERY);
    let _ = window_event_listener(leptos::ev::online, move |_| check());

    move || {
        let lang = ctx.lang.get();
        let (env, availability) = found.get()?;
        if env != ctx.env() {
            return None;
        }
        let now = time::OffsetDateTime::from_unix_timestamp(crate::state::clock::now_ms() / 1000)
            .unwrap_or(time::OffsetDateTime::UNIX_EPOCH);
        let notice = latarnia::notice(&availability, now)?;
        let level = match notice.level() {
            Level::Info => "info",
            Level::Warning => "warning",
            Level::Danger => "danger",
        };
        let heading = match notice.kind {
            NoticeKind::Unreachable => tr(
                lang,
                "Latarnia KSeF nie odpowiada",
                "KSeF Latarnia does not answer",
            ),
            _ => tr(lang, "Komunikat Latarni KSeF", "KSeF Latarnia notice"),
        };
        let from_mf = notice.kind != NoticeKind::Unreachable
            && !(notice.title.is_empty() && notice.text.is_empty());
        let mf = from_mf.then(|| {
            view! {
                <p class="mf" data-testid="availability-mf">
                    {tr(lang, "Ministerstwo Finansów: ", "Ministry of Finance: ")}
                    <strong>{notice.title.clone()}</strong>
                    " " {notice.text.clone()}
                </p>
            }
        });
        Some(view! {
            <div
                class=format!("availability {level}")
                role="status"
                data-testid="availability"
                data-kind=kind_slug(notice.kind)
            >
                <strong>{heading}</strong>
                <p data-testid="availability-advice">{notice.message(lang.core())}</p>
                {mf}
            </div>
        })
    }
}
