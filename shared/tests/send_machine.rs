//! The send machine (`ksef_core::send`) against a canned KSeF that remembers what it received:
//! every transition, and the hard cases — a crash after the POST, a lost answer, a closed
//! session, a rotated key, a duplicate, a full disk — each asserting how many invoices KSeF
//! holds afterwards (never two) and what the device stored.
#![cfg(not(target_arch = "wasm32"))]

use std::cell::RefCell;
use std::collections::VecDeque;
use std::rc::Rc;

use ksef_core::error::Error;
use ksef_core::flow::KsefClient;
use ksef_core::send::{Login, SendCache, SendState, SendStore, Sender, Step, ksef_numbers_in};
use ksef_core::transport::{HttpRequest, HttpResponse, Sleep, Transport};
use serde_json::{Value, json};

#[path = "support/ksef_keys.rs"]
mod ksef_keys;
use ksef_keys::ksef_keys;

const KSEF_NUMBER: &str = "5265877635-20250826-0100001AF629-AF";
const XML: &str = "<Faktura>FV/1/2026 zażółć</Faktura>";

/// What the next invoice POST meets.
#[derive(Clone, Copy, Debug, PartialEq)]
enum Post {
    /// KSeF receives it; the answer arrives.
    Ok,
    /// KSeF receives it, then the connection drops: the answer is lost.
    LoseAnswer,
    /// The request never reaches KSeF (offline).
    Offline,
    /// KSeF says the session is closed (21180): nothing received.
    SessionClosed,
    /// KSeF refuses the request (400, another code): nothing received.
    Refused,
}

/// What the invoice status says.
#[derive(Clone, Copy, Debug, PartialEq)]
enum Status {
    Accepted,
    /// 440: KSeF already has this invoice under [`KSEF_NUMBER`].
    Duplicate,
    Processing,
}

#[derive(Debug)]
struct Fake {
    certificate: String,
    posts: VecDeque<Post>,
    /// 21470 answers before `POST /sessions/online` succeeds.
    unknown_key_opens: u32,
    status: Status,
    sessions_opened: u32,
    key_fetches: u32,
    /// (session, invoice reference, hash) of every invoice KSeF holds.
    received: Vec<(String, String, String)>,
    /// How many invoice POSTs reached the network at all.
    post_attempts: u32,
}

fn response(status: u16, body: Value) -> HttpResponse {
    http::Response::builder()
        .status(status)
        .header("content-type", "application/json")
        .body(serde_json::to_vec(&body).unwrap())
        .unwrap()
}

fn exception(code: i64, description: &str) -> HttpResponse {
    response(
        400,
        json!({"exception": {"exceptionDetailList": [
            {"exceptionCode": code, "exceptionDescription": description, "details": []}
        ]}}),
    )
}

impl Fake {
    fn new(posts: &[Post], status: Status) -> Rc<RefCell<Self>> {
        Rc::new(RefCell::new(Self {
            certificate: ksef_keys().0,
            posts: posts.iter().copied().collect(),
            unknown_key_opens: 0,
            status,
            sessions_opened: 0,
            key_fetches: 0,
            received: Vec::new(),
            post_attempts: 0,
        }))
    }

    fn answer(&mut self, req: &HttpRequest) -> Result<HttpResponse, String> {
        let path = req.uri().path().trim_start_matches("/v2").to_owned();
        let parts: Vec<&str> = path.trim_start_matches('/').split('/').collect();
        match (req.method().as_str(), parts.as_slice()) {
            ("GET", ["security", "public-key-certificates"]) => {
                self.key_fetches += 1;
                let cert = &self.certificate;
                Ok(response(
                    200,
                    json!([{"certificate": cert, "usage": ["SymmetricKeyEncryption"],
                        "validFrom": "2025-01-01T00:00:00Z", "validTo": "2030-01-01T00:00:00Z"}]),
                ))
            }
            ("POST", ["sessions", "online"]) => {
                if self.unknown_key_opens > 0 {
                    self.unknown_key_opens -= 1;
                    return Ok(exception(21470, "Nieznany klucz publiczny"));
                }
                self.sessions_opened += 1;
                Ok(response(
                    201,
                    json!({"referenceNumber": format!("20261202-SO-{:010}-AB", self.sessions_opened),
                        "validUntil": "2026-12-03T12:00:00Z"}),
                ))
            }
            ("POST", ["sessions", "online", session, "invoices"]) => {
                self.post_attempts += 1;
                let body: Value = serde_json::from_slice(req.body()).unwrap();
                let hash = body["invoiceHash"].as_str().unwrap().to_owned();
                let reference = format!("20261202-EE-{:010}-CD", self.received.len() + 1);
                match self.posts.pop_front().unwrap_or(Post::Ok) {
                    Post::Ok => {
                        self.received
                            .push(((*session).to_owned(), reference.clone(), hash));
                        Ok(response(202, json!({"referenceNumber": reference})))
                    }
                    Post::LoseAnswer => {
                        self.received.push(((*session).to_owned(), reference, hash));
                        Err("connection reset".into())
                    }
                    Post::Offline => Err("Failed to fetch".into()),
                    Post::SessionClosed => Ok(exception(21180, "Sesja zamknięta")),
                    Post::Refused => Ok(exception(21405, "Błąd walidacji")),
                }
            }
            ("GET", ["sessions", session, "invoices"]) => {
                let invoices: Vec<Value> = self
                    .received
                    .iter()
                    .filter(|(s, _, _)| s == session)
                    .enumerate()
                    .map(|(i, (_, r, h))| {
                        json!({"ordinalNumber": i + 1, "referenceNumber": r, "invoiceHash": h,
                            "invoicingDate": "2026-12-02T10:00:00Z",
                            "status": {"code": 150, "description": "Trwa przetwarzanie"}})
                    })
                    .collect();
                Ok(response(200, json!({"invoices": invoices})))
            }
            ("GET", ["sessions", _, "invoices", reference]) => {
                let status = match self.status {
                    Status::Accepted => json!({"code": 200, "description": "Sukces"}),
                    Status::Processing => json!({"code": 150, "description": "Trwa przetwarzanie"}),
                    Status::Duplicate => json!({"code": 440, "description": "Duplikat faktury",
                        "details": [format!("Faktura już istnieje: {KSEF_NUMBER}.")]}),
                };
                Ok(response(
                    200,
                    json!({"referenceNumber": reference, "status": status,
                        "ordinalNumber": 1, "invoicingDate": "2026-12-02T10:00:00Z",
                        "ksefNumber": (self.status == Status::Accepted).then_some(KSEF_NUMBER),
                        "upoDownloadUrl": "https://ksef.example/storage/upo/1.xml"}),
                ))
            }
            other => panic!("unexpected request {other:?}"),
        }
    }
}

fn now() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs()
}

fn client(fake: &Rc<RefCell<Fake>>) -> KsefClient<impl Transport, impl Sleep> {
    let f = fake.clone();
    let transport = move |req: HttpRequest| {
        let answer = f.borrow_mut().answer(&req);
        async move { answer }
    };
    KsefClient::new(transport, |_ms: u64| async {}, "https://ksef.example/v2")
}

/// The device's record: every state written, and whether writing fails.
#[derive(Default)]
struct Record {
    writes: Vec<SendState>,
    full: bool,
}

impl Record {
    fn stored(&self) -> SendState {
        self.writes.last().cloned().unwrap_or_default()
    }
}

impl SendStore for Record {
    async fn save(&mut self, state: &SendState) -> Result<(), String> {
        if self.full {
            return Err("QuotaExceededError".into());
        }
        self.writes.push(state.clone());
        Ok(())
    }
}

const LOGIN: Login<'static> = Login {
    reference: "20261202-AU-0000000001-01",
    access_token: "access-token",
};

/// One step as the browser runs it: a client for the environment, the cache kept in app state.
async fn step(
    fake: &Rc<RefCell<Fake>>,
    cache: &mut SendCache,
    record: &mut Record,
    step: Step,
) -> Result<SendState, Error> {
    let mut sender = Sender {
        client: client(fake),
        cache: cache.for_env("test"),
        login: LOGIN,
        now_unix: now(),
    };
    let state = record.stored();
    sender
        .advance(
            record,
            state,
            step,
            Some(XML.to_owned()),
            &mut rand_core::UnwrapErr(getrandom::SysRng),
        )
        .await
}

#[tokio::test]
async fn a_send_records_sending_before_the_post_then_sent_then_accepted() {
    let fake = Fake::new(&[Post::Ok], Status::Accepted);
    let (mut cache, mut record) = (SendCache::default(), Record::default());
    let state = step(&fake, &mut cache, &mut record, Step::Send)
        .await
        .unwrap();
    assert_eq!(state.ksef_number(), Some(KSEF_NUMBER));
    let keys: Vec<&str> = record.writes.iter().map(SendState::key).collect();
    assert_eq!(keys, ["sending", "sent", "accepted"]);
    let SendState::Sending {
        xml,
        invoice_hash,
        session_reference,
        env,
    } = &record.writes[0]
    else {
        unreachable!()
    };
    assert_eq!((xml.as_str(), env.as_str()), (XML, "test"));
    let f = fake.borrow();
    assert_eq!(f.received.len(), 1);
    assert_eq!(
        &f.received[0].2, invoice_hash,
        "the stored hash is the one KSeF got"
    );
    assert_eq!(&f.received[0].0, session_reference);
    assert_eq!(state.env(), Some("test"));
}

#[tokio::test]
async fn a_second_invoice_reuses_the_online_session_and_the_keys() {
    let fake = Fake::new(&[], Status::Accepted);
    let mut cache = SendCache::default();
    for _ in 0..2 {
        let mut record = Record::default();
        step(&fake, &mut cache, &mut record, Step::Send)
            .await
            .unwrap();
    }
    let f = fake.borrow();
    assert_eq!(
        (f.sessions_opened, f.key_fetches, f.received.len()),
        (1, 1, 2)
    );
}

#[tokio::test]
async fn a_lost_answer_stays_sending_and_resuming_finds_the_invoice_without_sending_again() {
    let fake = Fake::new(&[Post::LoseAnswer], Status::Accepted);
    let (mut cache, mut record) = (SendCache::default(), Record::default());
    let err = step(&fake, &mut cache, &mut record, Step::Send)
        .await
        .unwrap_err();
    assert!(matches!(err, Error::Network(_)), "{err:?}");
    assert_eq!(
        record.stored().key(),
        "sending",
        "the outcome is unknown, not lost"
    );

    // After a reload: a new cache (nothing in memory), the same record, the user clicks Send again.
    let mut cache = SendCache::default();
    let state = step(&fake, &mut cache, &mut record, Step::Send)
        .await
        .unwrap();
    assert_eq!(state.ksef_number(), Some(KSEF_NUMBER));
    let f = fake.borrow();
    assert_eq!(f.post_attempts, 1, "never sent twice");
    assert_eq!(f.received.len(), 1);
}

#[tokio::test]
async fn a_crash_before_the_post_left_resumes_to_a_draft_and_sends_once() {
    let fake = Fake::new(&[Post::Offline], Status::Accepted);
    let (mut cache, mut record) = (SendCache::default(), Record::default());
    step(&fake, &mut cache, &mut record, Step::Send)
        .await
        .unwrap_err();
    assert_eq!(record.stored().key(), "sending");

    // Poll (after a reload, no click): KSeF does not have it, so it is a draft again; not sent.
    let state = step(&fake, &mut SendCache::default(), &mut record, Step::Poll)
        .await
        .unwrap();
    assert_eq!(state, SendState::Draft);
    assert!(fake.borrow().received.is_empty(), "polling never sends");

    // The explicit send then goes out once.
    let state = step(&fake, &mut cache, &mut record, Step::Send)
        .await
        .unwrap();
    assert_eq!(state.key(), "accepted");
    assert_eq!(fake.borrow().received.len(), 1);
}

#[tokio::test]
async fn a_closed_session_is_replaced_once_and_the_invoice_goes_out_once() {
    let fake = Fake::new(&[Post::Ok, Post::SessionClosed], Status::Accepted);
    let mut cache = SendCache::default();
    step(&fake, &mut cache, &mut Record::default(), Step::Send)
        .await
        .unwrap();
    let mut record = Record::default();
    let state = step(&fake, &mut cache, &mut record, Step::Send)
        .await
        .unwrap();
    assert_eq!(state.key(), "accepted");
    let f = fake.borrow();
    assert_eq!(f.sessions_opened, 2, "a new session after 21180");
    assert_eq!(
        f.received.len(),
        2,
        "one invoice each, the second in the new session"
    );
    assert_ne!(f.received[0].0, f.received[1].0);
    let SendState::Accepted {
        session_reference, ..
    } = state
    else {
        unreachable!()
    };
    assert_eq!(session_reference, f.received[1].0);
}

#[tokio::test]
async fn a_session_closed_twice_gives_up_as_a_draft_with_the_advice_to_open_a_new_one() {
    let fake = Fake::new(
        &[Post::SessionClosed, Post::SessionClosed],
        Status::Accepted,
    );
    let (mut cache, mut record) = (SendCache::default(), Record::default());
    let err = step(&fake, &mut cache, &mut record, Step::Send)
        .await
        .unwrap_err();
    assert!(matches!(err, Error::NoSession { code: 21180 }), "{err:?}");
    assert_eq!(record.stored(), SendState::Draft, "nothing was received");
    assert!(fake.borrow().received.is_empty());
}

#[tokio::test]
async fn a_rotated_key_is_fetched_again_when_opening_the_session() {
    let fake = Fake::new(&[], Status::Accepted);
    fake.borrow_mut().unknown_key_opens = 1;
    let (mut cache, mut record) = (SendCache::default(), Record::default());
    let state = step(&fake, &mut cache, &mut record, Step::Send)
        .await
        .unwrap();
    assert_eq!(state.key(), "accepted");
    let f = fake.borrow();
    assert_eq!(
        (f.key_fetches, f.sessions_opened, f.received.len()),
        (2, 1, 1)
    );
}

#[tokio::test]
async fn a_refused_post_goes_back_to_a_draft_the_user_can_fix() {
    let fake = Fake::new(&[Post::Refused], Status::Accepted);
    let (mut cache, mut record) = (SendCache::default(), Record::default());
    let err = step(&fake, &mut cache, &mut record, Step::Send)
        .await
        .unwrap_err();
    assert!(matches!(err, Error::Ksef { code: 21405, .. }), "{err:?}");
    assert_eq!(record.stored(), SendState::Draft);
    assert!(record.stored().editable());
}

#[tokio::test]
async fn a_duplicate_is_rejected_with_the_existing_ksef_number() {
    let fake = Fake::new(&[], Status::Duplicate);
    let (mut cache, mut record) = (SendCache::default(), Record::default());
    let state = step(&fake, &mut cache, &mut record, Step::Send)
        .await
        .unwrap();
    let SendState::Rejected {
        code,
        details,
        description,
        invoice_reference,
        ..
    } = &state
    else {
        panic!("{state:?}")
    };
    assert_eq!(*code, 440);
    assert!(invoice_reference.is_some());
    let mut texts = details.clone();
    texts.push(description.clone());
    assert_eq!(ksef_numbers_in(&texts), [KSEF_NUMBER]);
    assert_eq!(record.stored(), state);
    assert!(
        state.editable(),
        "a rejected invoice can be fixed and sent again"
    );
}

#[tokio::test]
async fn a_status_request_asks_once_and_polling_stays_sent_until_final() {
    let fake = Fake::new(&[], Status::Processing);
    let (mut cache, mut record) = (SendCache::default(), Record::default());
    // Polling gives up after the policy's attempts but keeps `Sent`: nothing lost.
    let state = step(&fake, &mut cache, &mut record, Step::Send)
        .await
        .unwrap();
    assert_eq!(state.key(), "sent");
    assert_eq!(record.stored().key(), "sent");
    assert!(state.invoice_reference().is_some());

    fake.borrow_mut().status = Status::Accepted;
    let state = step(&fake, &mut cache, &mut record, Step::Status)
        .await
        .unwrap();
    assert_eq!(state.ksef_number(), Some(KSEF_NUMBER));
    assert_eq!(fake.borrow().post_attempts, 1);
}

#[tokio::test]
async fn a_full_disk_stops_the_send_before_anything_leaves() {
    let fake = Fake::new(&[], Status::Accepted);
    let mut record = Record {
        full: true,
        ..Record::default()
    };
    let err = step(&fake, &mut SendCache::default(), &mut record, Step::Send)
        .await
        .unwrap_err();
    assert!(matches!(err, Error::Storage(_)), "{err:?}");
    assert!(err.to_string().contains("nic nie zostało wysłane"));
    assert_eq!(fake.borrow().post_attempts, 0);
}

#[tokio::test]
async fn accepted_and_rejected_invoices_are_never_sent_again() {
    let fake = Fake::new(&[], Status::Accepted);
    let (mut cache, mut record) = (SendCache::default(), Record::default());
    step(&fake, &mut cache, &mut record, Step::Send)
        .await
        .unwrap();
    let state = step(&fake, &mut cache, &mut record, Step::Send)
        .await
        .unwrap();
    assert_eq!(state.key(), "accepted");
    assert_eq!(fake.borrow().post_attempts, 1);
}

#[tokio::test]
async fn another_environment_does_not_reuse_the_cached_session() {
    let fake = Fake::new(&[], Status::Accepted);
    let mut cache = SendCache::default();
    step(&fake, &mut cache, &mut Record::default(), Step::Send)
        .await
        .unwrap();
    assert!(cache.online_of(LOGIN.reference).is_some());
    cache.for_env("prod");
    assert!(cache.online_of(LOGIN.reference).is_none());
    assert!(cache.keys.is_empty());
}

#[test]
fn stored_states_read_back_and_a_damaged_one_is_refused() {
    let state = SendState::Sent {
        env: "test".into(),
        session_reference: "S".into(),
        invoice_reference: "E".into(),
        invoice_hash: "H".into(),
        xml: XML.into(),
    };
    let text = serde_json::to_string(&state).unwrap();
    assert!(text.contains(r#""state":"sent""#), "{text}");
    assert_eq!(serde_json::from_str::<SendState>(&text).unwrap(), state);
    assert!(serde_json::from_str::<SendState>(r#"{"state":"sent","env":"test"}"#).is_err());
    assert_eq!(
        serde_json::from_str::<SendState>(r#"{"state":"draft"}"#).unwrap(),
        SendState::Draft
    );
}
