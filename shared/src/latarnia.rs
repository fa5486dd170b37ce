//! KSeF availability: MF's status service "Latarnia" (`GET /status`, `GET /messages` at
//! `https://api-latarnia.ksef.mf.gov.pl`, TEST `https://api-latarnia-test.ksef.mf.gov.pl`, no DEMO)
//! and what Kwit tells the user about it. Latarnia is a separate service that has had outages
//! of its own (ksef-latarnia #28, #31), so not reaching it is [`Availability::Unreachable`],
//! never "KSeF is down". The advice follows `tryby-offline.md`.

use serde::{Deserialize, Deserializer};
use time::format_description::well_known::Rfc3339;
use time::{Date, Month, OffsetDateTime, UtcOffset, Weekday};

use crate::error::Language;
use crate::transport::{HttpRequest, Transport};

/// The overall state Latarnia reports.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum Status {
    Available,
    Maintenance,
    Failure,
    TotalFailure,
}

/// One of MF's messages (a maintenance announcement, a failure's start or end).
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Message {
    #[serde(default, deserialize_with = "text_or_number")]
    pub id: Option<String>,
    #[serde(default, deserialize_with = "text_or_number")]
    pub event_id: Option<String>,
    #[serde(default)]
    pub category: Option<Status>,
    /// `FAILURE_START`, `FAILURE_END` or `MAINTENANCE_ANNOUNCEMENT`.
    #[serde(default, rename = "type")]
    pub kind: Option<String>,
    #[serde(default)]
    pub title: String,
    #[serde(default)]
    pub text: String,
    #[serde(default)]
    pub start: Option<String>,
    #[serde(default)]
    pub end: Option<String>,
}

/// `GET /status`: `messages` is absent while KSeF is available.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct StatusResponse {
    pub status: Status,
    #[serde(default)]
    pub messages: Vec<Message>,
}

/// Identifiers are strings in some answers and numbers in others: keep them as text.
fn text_or_number<'de, D: Deserializer<'de>>(d: D) -> Result<Option<String>, D::Error> {
    Ok(match Option::<serde_json::Value>::deserialize(d)? {
        Some(serde_json::Value::String(s)) => Some(s),
        Some(serde_json::Value::Number(n)) => Some(n.to_string()),
        _ => None,
    })
}

/// `GET {base}/status`; `base` is Latarnia's host or the relay's `/latarnia/{env}`.
pub fn status_request(base: &str) -> HttpRequest {
    get(format!("{}/status", base.trim_end_matches('/')))
}

/// `GET {base}/messages`.
pub fn messages_request(base: &str) -> HttpRequest {
    get(format!("{}/messages", base.trim_end_matches('/')))
}

fn get(uri: String) -> HttpRequest {
    let mut request = HttpRequest::new(Vec::new());
    *request.uri_mut() = uri.parse().unwrap_or_default();
    request.headers_mut().insert(
        http::header::ACCEPT,
        http::HeaderValue::from_static("application/json"),
    );
    request
}

/// What a check found out.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Availability {
    /// Latarnia answered: the status, its messages and (while available) the announcements
    /// published for later.
    Known {
        status: StatusResponse,
        announced: Vec<Message>,
    },
    /// Latarnia did not answer usefully (network, gateway page, another shape): why, briefly.
    Unreachable(String),
}

/// Asks Latarnia; while KSeF is available it also reads the published messages, where
/// planned maintenance is announced ahead.
pub async fn check<T: Transport>(transport: &T, base: &str) -> Availability {
    let status: StatusResponse = match fetch(transport, status_request(base)).await {
        Ok(status) => status,
        Err(why) => return Availability::Unreachable(why),
    };
    let announced = if status.status == Status::Available {
        fetch::<Vec<Message>, _>(transport, messages_request(base))
            .await
            .unwrap_or_default()
    } else {
        Vec::new()
    };
    Availability::Known { status, announced }
}

async fn fetch<V: serde::de::DeserializeOwned, T: Transport>(
    transport: &T,
    request: HttpRequest,
) -> Result<V, String> {
    let response = transport
        .send(request)
        .await
        .map_err(|e| format!("network: {e}"))?;
    if !response.status().is_success() {
        return Err(format!("HTTP {}", response.status().as_u16()));
    }
    serde_json::from_slice(response.body()).map_err(|_| "unexpected answer".to_owned())
}

/// How loud a notice is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Level {
    Info,
    Warning,
    Danger,
}

/// What the notice is about.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NoticeKind {
    /// Maintenance announced for later (KSeF available now).
    PlannedMaintenance,
    /// Maintenance now: KSeF is unavailable (the "offline" mode of the law).
    Maintenance,
    /// A failure announced by MF (the emergency mode, "tryb awaryjny").
    Failure,
    /// A total failure: invoices are issued outside KSeF.
    TotalFailure,
    /// Latarnia did not answer: KSeF's state is unknown.
    Unreachable,
}

/// A banner's content: the kind, MF's own title and text, the window.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Notice {
    pub kind: NoticeKind,
    pub title: String,
    pub text: String,
    pub start: Option<OffsetDateTime>,
    pub end: Option<OffsetDateTime>,
}

fn parse_time(text: &Option<String>) -> Option<OffsetDateTime> {
    OffsetDateTime::parse(text.as_deref()?, &Rfc3339).ok()
}

/// The notice to show at `now`, if any: the current status, or the next announced
/// maintenance that has not ended; nothing while all is well.
pub fn notice(availability: &Availability, now: OffsetDateTime) -> Option<Notice> {
    let (status, announced) = match availability {
        Availability::Unreachable(why) => {
            return Some(Notice {
                kind: NoticeKind::Unreachable,
                title: String::new(),
                text: why.clone(),
                start: None,
                end: None,
            });
        }
        Availability::Known { status, announced } => (status, announced),
    };
    let from = |kind: NoticeKind, m: Option<&Message>| Notice {
        kind,
        title: m.map(|m| m.title.clone()).unwrap_or_default(),
        text: m.map(|m| m.text.clone()).unwrap_or_default(),
        start: m.and_then(|m| parse_time(&m.start)),
        end: m.and_then(|m| parse_time(&m.end)),
    };
    let current = status.messages.last();
    match status.status {
        Status::Maintenance => Some(from(NoticeKind::Maintenance, current)),
        Status::Failure => Some(from(NoticeKind::Failure, current)),
        Status::TotalFailure => Some(from(NoticeKind::TotalFailure, current)),
        Status::Available => announced
            .iter()
            .filter(|m| m.kind.as_deref() == Some("MAINTENANCE_ANNOUNCEMENT"))
            .filter(|m| {
                parse_time(&m.end)
                    .or_else(|| parse_time(&m.start))
                    .is_some_and(|t| t > now)
            })
            .min_by_key(|m| parse_time(&m.start))
            .map(|m| from(NoticeKind::PlannedMaintenance, Some(m))),
    }
}

impl Notice {
    pub fn level(&self) -> Level {
        match self.kind {
            NoticeKind::PlannedMaintenance | NoticeKind::Unreachable => Level::Info,
            NoticeKind::Maintenance => Level::Warning,
            NoticeKind::Failure | NoticeKind::TotalFailure => Level::Danger,
        }
    }

    /// `start–end` in Polish time, as the user reads it ("5.12.2026 21:00–23:59").
    fn window(&self) -> String {
        match (self.start, self.end) {
            (Some(s), Some(e)) if warsaw(s).date() == warsaw(e).date() => {
                format!("{}–{}", stamp(s), clock(e))
            }
            (Some(s), Some(e)) => format!("{}–{}", stamp(s), stamp(e)),
            (Some(s), None) => stamp(s),
            (None, Some(e)) => format!("–{}", stamp(e)),
            (None, None) => String::new(),
        }
    }

    /// Kwit's advice in `lang` (MF's title and text are shown beside it as published).
    pub fn message(&self, lang: Language) -> String {
        let window = self.window();
        let when = |pl: &str, en: &str| match (window.is_empty(), lang) {
            (true, _) => String::new(),
            (false, Language::Pl) => format!(" {pl} {window}"),
            (false, Language::En) => format!(" {en} {window}"),
        };
        match (self.kind, lang) {
            (NoticeKind::PlannedMaintenance, Language::Pl) => format!(
                "Zaplanowane prace serwisowe KSeF{}. W tym czasie wysyłka do KSeF nie będzie możliwa: wyślij pilne faktury wcześniej.",
                when("—", "—")
            ),
            (NoticeKind::PlannedMaintenance, Language::En) => format!(
                "KSeF maintenance is planned{}. Sending to KSeF will not work then: send urgent invoices before.",
                when("—", "—")
            ),
            (NoticeKind::Maintenance, Language::Pl) => format!(
                "Trwają prace serwisowe KSeF{}. KSeF jest niedostępny: fakturę możesz wystawić w trybie offline i przesłać ją do KSeF do końca następnego dnia roboczego po zakończeniu niedostępności.",
                when("—", "—")
            ),
            (NoticeKind::Maintenance, Language::En) => format!(
                "KSeF maintenance is under way{}. KSeF is unavailable: you may issue the invoice in offline mode and send it to KSeF by the end of the next business day after the unavailability ends.",
                when("—", "—")
            ),
            (NoticeKind::Failure, Language::Pl) => format!(
                "Ministerstwo Finansów ogłosiło awarię KSeF{}. Fakturę możesz wystawić w trybie awaryjnym i przesłać ją do KSeF w ciągu 7 dni roboczych od zakończenia awarii.",
                when("od", "from")
            ),
            (NoticeKind::Failure, Language::En) => format!(
                "The Ministry of Finance has announced a KSeF failure{}. You may issue the invoice in emergency mode and send it to KSeF within 7 business days after the failure ends.",
                when("from", "from")
            ),
            (NoticeKind::TotalFailure, Language::Pl) => format!(
                "Ogłoszono całkowitą awarię KSeF{}. Faktury wystawiasz poza KSeF (papierowo lub elektronicznie, bez obowiązku FA(3)) i nie musisz ich później przesyłać do KSeF.",
                when("od", "from")
            ),
            (NoticeKind::TotalFailure, Language::En) => format!(
                "A total KSeF failure has been announced{}. Issue invoices outside KSeF (on paper or electronically, FA(3) not required); they need not be sent to KSeF later.",
                when("from", "from")
            ),
            (NoticeKind::Unreachable, Language::Pl) => "Nie udało się sprawdzić dostępności KSeF: serwis Latarnia nie odpowiada. To nie znaczy, że KSeF nie działa — wysyłka może się udać.".into(),
            (NoticeKind::Unreachable, Language::En) => "KSeF's availability could not be checked: the Latarnia service does not answer. That does not mean KSeF is down — sending may work.".into(),
        }
    }
}

/// `t` in Polish time: CET, or CEST from the last Sunday of March 01:00 UTC to the last
/// Sunday of October 01:00 UTC.
pub fn warsaw(t: OffsetDateTime) -> OffsetDateTime {
    let utc = t.to_offset(UtcOffset::UTC);
    let year = utc.year();
    let switch = |month: Month| {
        let mut day =
            Date::from_calendar_date(year, month, 31).expect("March and October have 31 days");
        while day.weekday() != Weekday::Sunday {
            day = day.previous_day().expect("a day before the 31st");
        }
        day.with_hms(1, 0, 0).expect("01:00 exists").assume_utc()
    };
    let summer = utc >= switch(Month::March) && utc < switch(Month::October);
    let hours = if summer { 2 } else { 1 };
    utc.to_offset(UtcOffset::from_hms(hours, 0, 0).expect("a valid offset"))
}

fn stamp(t: OffsetDateTime) -> String {
    let w = warsaw(t);
    format!(
        "{}.{:02}.{} {}",
        w.day(),
        u8::from(w.month()),
        w.year(),
        clock(t)
    )
}

fn clock(t: OffsetDateTime) -> String {
    let w = warsaw(t);
    format!("{:02}:{:02}", w.hour(), w.minute())
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::datetime;

    fn known(status: &str, announced: &str) -> Availability {
        Availability::Known {
            status: serde_json::from_str(status).unwrap(),
            announced: serde_json::from_str(announced).unwrap(),
        }
    }

    const NOW: OffsetDateTime = datetime!(2026-12-03 10:00 UTC);

    #[test]
    fn all_well_is_silent() {
        assert_eq!(notice(&known(r#"{"status":"AVAILABLE"}"#, "[]"), NOW), None);
    }

    #[test]
    fn a_failure_advises_the_emergency_mode_with_mf_words() {
        let a = known(
            r#"{"status":"FAILURE","messages":[{"id":7,"eventId":"e1","category":"FAILURE",
                "type":"FAILURE_START","title":"Awaria KSeF","text":"Trwa awaria.",
                "start":"2026-12-03T09:30:00Z","version":1,"published":"2026-12-03T09:31:00Z"}]}"#,
            "[]",
        );
        let n = notice(&a, NOW).unwrap();
        assert_eq!((n.kind, n.level()), (NoticeKind::Failure, Level::Danger));
        assert_eq!(
            (n.title.as_str(), n.text.as_str()),
            ("Awaria KSeF", "Trwa awaria.")
        );
        let pl = n.message(Language::Pl);
        assert!(pl.contains("od 3.12.2026 10:30"), "{pl}");
        assert!(
            pl.contains("trybie awaryjnym") && pl.contains("7 dni roboczych"),
            "{pl}"
        );
        assert!(n.message(Language::En).contains("emergency mode"));
    }

    #[test]
    fn planned_maintenance_is_announced_until_it_ends() {
        let announced = r#"[
            {"type":"MAINTENANCE_ANNOUNCEMENT","category":"MAINTENANCE","title":"Stara",
             "start":"2026-11-01T20:00:00Z","end":"2026-11-01T22:00:00Z"},
            {"type":"MAINTENANCE_ANNOUNCEMENT","category":"MAINTENANCE","title":"Prace",
             "start":"2026-12-05T20:00:00Z","end":"2026-12-05T22:59:00Z"},
            {"type":"FAILURE_END","category":"FAILURE","title":"Koniec awarii"}]"#;
        let a = known(r#"{"status":"AVAILABLE"}"#, announced);
        let n = notice(&a, NOW).unwrap();
        assert_eq!(
            (n.kind, n.title.as_str()),
            (NoticeKind::PlannedMaintenance, "Prace")
        );
        assert!(
            n.message(Language::Pl).contains("5.12.2026 21:00–23:59"),
            "{}",
            n.message(Language::Pl)
        );
        assert_eq!(notice(&a, datetime!(2026-12-06 0:00 UTC)), None);
    }

    #[test]
    fn latarnia_down_is_not_ksef_down() {
        let n = notice(&Availability::Unreachable("HTTP 502".into()), NOW).unwrap();
        assert_eq!((n.kind, n.level()), (NoticeKind::Unreachable, Level::Info));
        assert!(
            n.message(Language::Pl)
                .contains("To nie znaczy, że KSeF nie działa")
        );
    }

    #[test]
    fn polish_time_follows_summer_time() {
        assert_eq!(warsaw(datetime!(2026-07-01 12:00 UTC)).hour(), 14);
        assert_eq!(warsaw(datetime!(2026-12-01 12:00 UTC)).hour(), 13);
        // 2026: summer time from 29 March 01:00 UTC to 25 October 01:00 UTC.
        assert_eq!(warsaw(datetime!(2026-03-29 0:59 UTC)).hour(), 1);
        assert_eq!(warsaw(datetime!(2026-03-29 1:00 UTC)).hour(), 3);
        assert_eq!(warsaw(datetime!(2026-10-25 0:59 UTC)).hour(), 2);
        assert_eq!(warsaw(datetime!(2026-10-25 1:00 UTC)).hour(), 2);
        assert_eq!(
            warsaw(datetime!(2026-10-25 1:00 UTC))
                .offset()
                .whole_hours(),
            1
        );
    }
}
