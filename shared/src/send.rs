//! The send machine: where one invoice stands on its way to a KSeF number ([`SendState`]) and
//! the steps that move it ([`Sender`]), with no browser in it, so every transition — a crash
//! after the POST, a lost answer, a closed session, a duplicate — is tested natively.
//!
//! No duplicates, nothing lost: the state is written through [`SendStore`] BEFORE the invoice
//! leaves ([`SendState::Sending`], with the session and the invoice hash). A send cut off by a
//! reload, a lost connection or a crash is resumed by looking the hash up in the session's
//! invoice list, never by sending again.

use crate::crypto::Encrypter;
use serde::{Deserialize, Serialize};

use crate::api;
use crate::error::{Error, Result};
use crate::flow::{self, AcceptedInvoice, KsefClient, OnlineSession, PublicKeys, SentInvoice};
use crate::transport::{Sleep, Transport};

/// Where an invoice stands on its way to a KSeF number.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "state", rename_all = "snake_case", try_from = "StoredSendState")]
pub enum SendState {
    /// Still being edited; never left the device.
    #[default]
    Draft,
    /// The request is (or was, before a crash) on its way. The session and the invoice hash
    /// are recorded first, so the outcome can be found in the session's invoice list.
    Sending {
        /// Environment name (`sim`, `test`...), as the caller names it.
        env: String,
        /// Online session `referenceNumber`.
        session_reference: String,
        /// Base64 SHA-256 of the FA(3) XML (`invoiceHash`).
        invoice_hash: String,
        /// The exact XML sent, so a resumed send can never differ from the first one.
        xml: String,
    },
    /// KSeF took it and gave an invoice reference number; processing.
    Sent {
        /// Environment name.
        env: String,
        /// Online session `referenceNumber`.
        session_reference: String,
        /// Invoice `referenceNumber` (`…-EE-…`).
        invoice_reference: String,
        /// `invoiceHash`.
        invoice_hash: String,
        /// The XML sent.
        xml: String,
    },
    /// KSeF assigned the KSeF number.
    Accepted {
        /// Environment name.
        env: String,
        /// Online session `referenceNumber`.
        session_reference: String,
        /// Invoice `referenceNumber`.
        invoice_reference: String,
        /// The KSeF number.
        ksef_number: String,
        /// The UPO link as KSeF gave it.
        upo_url: Option<String>,
        /// When KSeF received it.
        acquisition_date: Option<String>,
        /// The XML sent.
        xml: String,
    },
    /// KSeF refused the invoice; the details say why.
    Rejected {
        /// Environment name.
        env: String,
        /// Online session `referenceNumber`.
        session_reference: String,
        /// Invoice `referenceNumber`, if KSeF gave one.
        invoice_reference: Option<String>,
        /// KSeF's status code (440 duplicate, 410 no permission, 450 invalid...).
        code: i64,
        /// KSeF's description.
        description: String,
        /// KSeF's details.
        details: Vec<String>,
    },
}

/// [`SendState`] as stored: one flat object with a `state` tag (what the derived internally
/// tagged format writes). Reading it through this plain struct instead of serde's buffered
/// tagged-enum path saves about 20 KB of wasm.
#[derive(Deserialize)]
struct StoredSendState {
    state: String,
    #[serde(default)]
    env: Option<String>,
    #[serde(default)]
    session_reference: Option<String>,
    #[serde(default)]
    invoice_reference: Option<String>,
    #[serde(default)]
    invoice_hash: Option<String>,
    #[serde(default)]
    ksef_number: Option<String>,
    #[serde(default)]
    upo_url: Option<String>,
    #[serde(default)]
    acquisition_date: Option<String>,
    #[serde(default)]
    xml: Option<String>,
    #[serde(default)]
    code: Option<i64>,
    #[serde(default)]
    description: Option<String>,
    #[serde(default)]
    details: Option<Vec<String>>,
}

/// A stored send state that lacks a field its `state` needs.
#[derive(Debug)]
pub struct MissingField(&'static str);

impl std::fmt::Display for MissingField {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "send state without `{}`", self.0)
    }
}

impl TryFrom<StoredSendState> for SendState {
    type Error = MissingField;

    fn try_from(s: StoredSendState) -> Result<Self, MissingField> {
        fn need<T>(v: Option<T>, name: &'static str) -> Result<T, MissingField> {
            v.ok_or(MissingField(name))
        }
        Ok(match s.state.as_str() {
            "draft" => Self::Draft,
            "sending" => Self::Sending {
                env: need(s.env, "env")?,
                session_reference: need(s.session_reference, "session_reference")?,
                invoice_hash: need(s.invoice_hash, "invoice_hash")?,
                xml: need(s.xml, "xml")?,
            },
            "sent" => Self::Sent {
                env: need(s.env, "env")?,
                session_reference: need(s.session_reference, "session_reference")?,
                invoice_reference: need(s.invoice_reference, "invoice_reference")?,
                invoice_hash: need(s.invoice_hash, "invoice_hash")?,
                xml: need(s.xml, "xml")?,
            },
            "accepted" => Self::Accepted {
                env: need(s.env, "env")?,
                session_reference: need(s.session_reference, "session_reference")?,
                invoice_reference: need(s.invoice_reference, "invoice_reference")?,
                ksef_number: need(s.ksef_number, "ksef_number")?,
                upo_url: s.upo_url,
                acquisition_date: s.acquisition_date,
                xml: need(s.xml, "xml")?,
            },
            "rejected" => Self::Rejected {
                env: need(s.env, "env")?,
                session_reference: need(s.session_reference, "session_reference")?,
                invoice_reference: s.invoice_reference,
                code: need(s.code, "code")?,
                description: need(s.description, "description")?,
                details: need(s.details, "details")?,
            },
            _ => return Err(MissingField("state")),
        })
    }
}

impl SendState {
    /// A stable key for tests and styling.
    pub fn key(&self) -> &'static str {
        match self {
            Self::Draft => "draft",
            Self::Sending { .. } => "sending",
            Self::Sent { .. } => "sent",
            Self::Accepted { .. } => "accepted",
            Self::Rejected { .. } => "rejected",
        }
    }

    /// Only drafts (and rejected invoices, after fixing) may be edited and sent.
    pub fn editable(&self) -> bool {
        matches!(self, Self::Draft | Self::Rejected { .. })
    }

    /// On its way: the outcome is asked of KSeF, never found by sending again.
    pub fn in_flight(&self) -> bool {
        matches!(self, Self::Sending { .. } | Self::Sent { .. })
    }

    /// The environment an invoice that left the device went to.
    pub fn env(&self) -> Option<&str> {
        match self {
            Self::Draft => None,
            Self::Sending { env, .. }
            | Self::Sent { env, .. }
            | Self::Accepted { env, .. }
            | Self::Rejected { env, .. } => Some(env),
        }
    }

    /// The invoice reference number, once KSeF gave one.
    pub fn invoice_reference(&self) -> Option<&str> {
        match self {
            Self::Sent {
                invoice_reference, ..
            }
            | Self::Accepted {
                invoice_reference, ..
            } => Some(invoice_reference),
            Self::Rejected {
                invoice_reference, ..
            } => invoice_reference.as_deref(),
            _ => None,
        }
    }

    /// The KSeF number of an accepted invoice.
    pub fn ksef_number(&self) -> Option<&str> {
        match self {
            Self::Accepted { ksef_number, .. } => Some(ksef_number),
            _ => None,
        }
    }
}

/// Where the send state is kept (the browser: the invoice's IndexedDB record). [`Sender`]
/// writes through it before every request that could change what KSeF holds, and after
/// every answer.
#[allow(async_fn_in_trait)] // used on one thread (the browser) and in tests; no Send bound
pub trait SendStore {
    /// Stores `state`; an error stops the step before anything leaves.
    async fn save(&mut self, state: &SendState) -> Result<(), String>;
}

/// What the machine keeps between sends: KSeF's public keys and the open online session,
/// with the login it was opened under (an online session belongs to that login's context).
#[derive(Clone, Debug, Default)]
pub struct SendCache {
    /// The environment the keys and the session are for.
    pub env: String,
    /// KSeF's public keys (empty until fetched).
    pub keys: PublicKeys,
    /// The online session and the login `referenceNumber` it was opened under.
    pub online: Option<(String, OnlineSession)>,
}

impl SendCache {
    /// The cache for `env`: emptied when it held another environment's keys and session.
    pub fn for_env(&mut self, env: &str) -> &mut Self {
        if self.env != env {
            *self = Self {
                env: env.to_owned(),
                ..Self::default()
            };
        }
        self
    }

    /// The online session opened under login `login_reference`, if any.
    pub fn online_of(&self, login_reference: &str) -> Option<&OnlineSession> {
        self.online
            .as_ref()
            .filter(|(l, _)| l == login_reference)
            .map(|(_, o)| o)
    }
}

/// The KSeF login a step runs under.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Login<'a> {
    /// Authentication `referenceNumber` (the online session belongs to it).
    pub reference: &'a str,
    /// Access token. Secret.
    pub access_token: &'a str,
}

/// What the user asked for.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Step {
    /// "Wyślij do KSeF": send (only an editable invoice), then follow it to a final status.
    Send,
    /// "Pobierz status": one status request.
    Status,
    /// Carry on after a reload or a new login: resume a cut-off send, follow it to the end.
    Poll,
}

/// Runs the steps of one environment's client under one login.
pub struct Sender<'a, T, S> {
    /// The client of the environment the invoice goes (or went) to.
    pub client: KsefClient<T, S>,
    /// Keys and online session, kept by the caller across sends.
    pub cache: &'a mut SendCache,
    /// The login.
    pub login: Login<'a>,
    /// The time now (seconds since the epoch), for the public keys' validity.
    pub now_unix: u64,
}

impl<T: Transport, S: Sleep> Sender<'_, T, S> {
    /// Carries out `step` from `state` and returns where the invoice stands (already stored).
    /// `xml` is the FA(3) to send, needed only when `step` is [`Step::Send`] and `state` is
    /// editable. On an error the stored state is the last one reached, so nothing is lost and
    /// a retry asks KSeF before it sends.
    pub async fn advance<St: SendStore, R: Encrypter + ?Sized>(
        &mut self,
        store: &mut St,
        mut state: SendState,
        step: Step,
        xml: Option<String>,
        rng: &mut R,
    ) -> Result<SendState> {
        // 1. A send cut off earlier is resumed by asking KSeF, never by sending again.
        if matches!(state, SendState::Sending { .. }) {
            state = self.resume(store, state).await?;
        }
        // 2. Send only on an explicit "Wyślij do KSeF", and only what KSeF does not have.
        if step == Step::Send && state.editable() {
            let xml = xml.ok_or_else(|| {
                Error::InvalidInput("brak faktury do wysłania / no invoice to send".into())
            })?;
            state = self.send(store, xml, rng).await?;
        }
        // 3. Status: once, or with backoff until final.
        if matches!(state, SendState::Sent { .. }) {
            state = self
                .check_status(store, state, step != Step::Status)
                .await?;
        }
        Ok(state)
    }

    /// Sends `xml`: opens (or reuses) the online session, records [`SendState::Sending`]
    /// (awaited), sends, records [`SendState::Sent`].
    pub async fn send<St: SendStore, R: Encrypter + ?Sized>(
        &mut self,
        store: &mut St,
        xml: String,
        rng: &mut R,
    ) -> Result<SendState> {
        let env = self.cache.env.clone();
        let mut retried = false;
        loop {
            let session = self.online_session(rng).await?;
            let request = flow::encrypt_invoice(&session, xml.as_bytes(), false, rng).await?;
            let sending = SendState::Sending {
                env: env.clone(),
                session_reference: session.reference_number.clone(),
                invoice_hash: request.invoice_hash.clone(),
                xml: xml.clone(),
            };
            // Stored BEFORE the request leaves: the outcome can always be found again.
            store.save(&sending).await.map_err(Error::Storage)?;
            match self
                .client
                .execute(&request, Some(self.login.access_token))
                .await
            {
                Ok(r) => {
                    let sent = SendState::Sent {
                        env,
                        session_reference: session.reference_number,
                        invoice_reference: r.reference_number,
                        invoice_hash: request.invoice_hash,
                        xml,
                    };
                    save_quietly(store, &sent).await;
                    return Ok(sent);
                }
                // KSeF refused the request itself (session closed or expired): nothing was
                // received, so a fresh session and one more try cannot duplicate.
                Err(Error::NoSession { .. }) if !retried => {
                    retried = true;
                    self.cache.online = None;
                }
                // The answer is lost, not necessarily the invoice: stay `Sending`, resume by status.
                Err(e @ (Error::Network(_) | Error::Http { .. })) => return Err(e),
                // A definite refusal: the invoice was not received; back to a draft.
                Err(e) => {
                    save_quietly(store, &SendState::Draft).await;
                    return Err(e);
                }
            }
        }
    }

    /// Resumes a send whose answer was lost: finds the invoice by its hash in its session.
    /// Not found (and the lookup succeeded) means KSeF never got it: back to a draft.
    pub async fn resume<St: SendStore>(
        &mut self,
        store: &mut St,
        state: SendState,
    ) -> Result<SendState> {
        let SendState::Sending {
            env,
            session_reference,
            invoice_hash,
            xml,
        } = state
        else {
            return Ok(state);
        };
        let found = find_by_hash(
            &self.client,
            self.login.access_token,
            &session_reference,
            &invoice_hash,
        )
        .await?;
        let state = match found {
            // In a batch session (`…-SB-…`) an invoice is listed only once the package is
            // processed: until then it stays on its way (the batch carries on, `batch.rs`).
            None if session_reference.contains("-SB-") => {
                return Ok(SendState::Sending {
                    env,
                    session_reference,
                    invoice_hash,
                    xml,
                });
            }
            Some(invoice) => SendState::Sent {
                env,
                session_reference,
                invoice_reference: invoice.reference_number,
                invoice_hash,
                xml,
            },
            None => SendState::Draft,
        };
        save_quietly(store, &state).await;
        Ok(state)
    }

    /// Asks KSeF for the status once (`poll = false`) or until final with backoff.
    pub async fn check_status<St: SendStore>(
        &mut self,
        store: &mut St,
        state: SendState,
        poll: bool,
    ) -> Result<SendState> {
        let SendState::Sent {
            env,
            session_reference,
            invoice_reference,
            invoice_hash,
            xml,
        } = state
        else {
            return Ok(state);
        };
        let sent = SentInvoice {
            session_reference_number: session_reference,
            invoice_reference_number: invoice_reference,
            invoice_hash,
        };
        let policy = self.client.poll;
        if !poll {
            self.client.poll.max_attempts = 0;
        }
        let outcome = flow::wait_for_invoice(&self.client, self.login.access_token, &sent).await;
        self.client.poll = policy;
        let state = match outcome {
            Ok(AcceptedInvoice {
                ksef_number,
                upo_download_url,
                acquisition_date,
            }) => SendState::Accepted {
                env,
                session_reference: sent.session_reference_number,
                invoice_reference: sent.invoice_reference_number,
                ksef_number,
                upo_url: upo_download_url,
                acquisition_date,
                xml,
            },
            Err(Error::InvoiceRejected {
                code,
                description,
                details,
            }) => SendState::Rejected {
                env,
                session_reference: sent.session_reference_number,
                invoice_reference: Some(sent.invoice_reference_number),
                code,
                description,
                details,
            },
            // Not final yet: still `Sent`; the next status request carries on.
            Err(Error::StillProcessing { .. }) => {
                return Ok(SendState::Sent {
                    env,
                    session_reference: sent.session_reference_number,
                    invoice_reference: sent.invoice_reference_number,
                    invoice_hash: sent.invoice_hash,
                    xml,
                });
            }
            Err(e) => return Err(e),
        };
        save_quietly(store, &state).await;
        Ok(state)
    }

    /// The online session of this login: the cached one, or a new one (public keys fetched
    /// when missing or outdated).
    async fn online_session<R: Encrypter + ?Sized>(
        &mut self,
        rng: &mut R,
    ) -> Result<OnlineSession> {
        if let Some(open) = self.cache.online_of(self.login.reference) {
            return Ok(open.clone());
        }
        let session = flow::open_online_session(
            &self.client,
            &mut self.cache.keys,
            self.login.access_token,
            self.now_unix,
            rng,
        )
        .await?;
        self.cache.online = Some((self.login.reference.to_owned(), session.clone()));
        Ok(session)
    }
}

/// Stores a state reached after an answer. A failure here loses nothing KSeF holds: the
/// stored state is then an earlier one, from which the next step asks KSeF again.
async fn save_quietly<St: SendStore>(store: &mut St, state: &SendState) {
    let _ = store.save(state).await;
}

/// The invoice with `invoice_hash` among the invoices of session `session_reference`, following
/// continuation tokens.
pub async fn find_by_hash<T: Transport, S: Sleep>(
    client: &KsefClient<T, S>,
    access_token: &str,
    session_reference: &str,
    invoice_hash: &str,
) -> Result<Option<api::sessions::invoice_status::Response>> {
    let mut continuation_token = None;
    // A session holds at most 10,000 invoices (PRD): ten pages of 1,000.
    for _ in 0..20 {
        let page = client
            .execute(
                &api::sessions::invoices::Request {
                    reference_number: session_reference.to_owned(),
                    page_size: 1000,
                    continuation_token: continuation_token.take(),
                },
                Some(access_token),
            )
            .await?;
        if let Some(found) = page
            .invoices
            .into_iter()
            .find(|i| i.invoice_hash.as_deref() == Some(invoice_hash))
        {
            return Ok(Some(found));
        }
        match page.continuation_token {
            Some(t) if !t.is_empty() => continuation_token = Some(t),
            _ => return Ok(None),
        }
    }
    Ok(None)
}

/// KSeF numbers mentioned in a rejection's texts (a 440 duplicate names the existing invoice).
pub fn ksef_numbers_in(texts: &[String]) -> Vec<String> {
    let mut found: Vec<String> = Vec::new();
    for word in texts.iter().flat_map(|t| {
        t.split(|c: char| c.is_whitespace() || matches!(c, ',' | ';' | '(' | ')' | '\'' | '"'))
    }) {
        let word = word.trim_end_matches('.');
        if crate::ksef_number::KsefNumber::parse(word).is_ok() && !found.iter().any(|f| f == word) {
            found.push(word.to_owned());
        }
    }
    found
}
