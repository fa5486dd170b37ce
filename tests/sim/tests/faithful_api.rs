//! Issue 15 (sima half): PRD limits by default, session limits, storage links that expire
//! like a blob host's, the asynchronous HWM refusal of exports, TarGz exports, wording,
//! and KSeF-shaped answers for unknown routes — over real HTTP, bodies checked against
//! open-api.json.

mod common;

use std::time::Duration;

use common::flows::*;
use common::*;
use ksef_sim::SimConfig;
use reqwest::Method;
use serde_json::{Value, json};

async fn demo_access(sim: &ksef_sim::RunningSim) -> String {
    login(sim, &sim.demo.ksef_token, &sim.demo.nip).await.0
}

fn night() -> bool {
    ksef_sim::clock::is_night(time::OffsetDateTime::now_utc())
}

#[tokio::test]
async fn production_limits_are_the_default_and_trip_with_the_documented_answer() {
    let sim = start_prd().await;
    let access = demo_access(&sim).await;
    let r = get(&sim, "/rate-limits", "/rate-limits", Some(&access)).await;
    assert_eq!(r.status, 200);
    let metadata_per_second = if night() { 16 } else { 8 };
    assert_eq!(r.body["invoiceMetadata"]["perSecond"], metadata_per_second);
    assert_eq!(
        r.body["onlineSession"],
        json!({"perSecond": 10, "perMinute": 30, "perHour": 120})
    );
    // `other` (per endpoint): 10/s and 30/min — at most 30 more calls trip one of them.
    let mut tripped = None;
    for _ in 0..31 {
        let r = call(
            &sim,
            Method::GET,
            "/limits/context",
            "/limits/context",
            Some(&access),
            None,
            &[("x-error-format", "problem-details")],
        )
        .await;
        if r.status == 429 {
            tripped = Some(r);
            break;
        }
        assert_eq!(r.status, 200, "{}", r.body);
    }
    let r = tripped.expect("PRD limits trip within 31 calls");
    assert!(r.content_type.starts_with("application/problem+json"));
    let retry: u64 = r.headers["retry-after"].to_str().unwrap().parse().unwrap();
    assert!(retry >= 1);
    let detail = r.body["detail"].as_str().unwrap();
    assert!(
        detail.starts_with("Przekroczono limit 10 żądań na sekundę.")
            || detail.starts_with("Przekroczono limit 30 żądań na minutę."),
        "{detail}"
    );
    assert!(detail.ends_with(&format!("Spróbuj ponownie po {retry} sekundach.")));
    // The classic format says the same in `status.details`.
    let r = get(&sim, "/limits/context", "/limits/context", Some(&access)).await;
    assert_eq!(r.status, 429);
    assert_eq!(r.body["status"]["code"], 429);
    sim.shutdown().await;
}

#[tokio::test]
async fn generous_profile_and_testdata_rate_limits_change_what_rate_limits_reports() {
    let sim = start().await;
    let access = demo_access(&sim).await;
    let r = client()
        .post(format!("{}/sim/rate-limits", sim.base_url))
        .json(&json!({"profile": "generous"}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 204);
    let factor = if night() { 2 } else { 1 };
    let r = get(&sim, "/rate-limits", "/rate-limits", Some(&access)).await;
    assert_eq!(r.body["invoiceDownload"]["perSecond"], 80 * factor);

    // Own values for this context (TEST's POST /testdata/rate-limits).
    let own = |n: u32| json!({"perSecond": n, "perMinute": n * 10, "perHour": n * 100});
    let groups = [
        "onlineSession",
        "batchSession",
        "invoiceSend",
        "invoiceStatus",
        "sessionList",
        "sessionInvoiceList",
        "sessionMisc",
        "invoiceMetadata",
        "invoiceExport",
        "invoiceExportStatus",
        "invoiceDownload",
        "other",
    ];
    let mut rate_limits = serde_json::Map::new();
    for g in groups {
        rate_limits.insert(g.into(), own(3));
    }
    let r = post(
        &sim,
        "/testdata/rate-limits",
        "/testdata/rate-limits",
        Some(&access),
        Some(json!({"rateLimits": rate_limits})),
    )
    .await;
    assert_eq!(r.status, 200, "{}", r.body);
    let r = get(&sim, "/rate-limits", "/rate-limits", Some(&access)).await;
    assert_eq!(r.body["other"], own(3));
    // 3 per second on /rate-limits itself: the next calls trip at once.
    let mut codes = Vec::new();
    for _ in 0..4 {
        codes.push(
            get(&sim, "/limits/subject", "/limits/subject", Some(&access))
                .await
                .status
                .as_u16(),
        );
    }
    assert!(codes.contains(&429), "{codes:?}");

    // PRD values on demand, whatever the simulator-wide profile.
    tokio::time::sleep(Duration::from_millis(1100)).await;
    let r = post(
        &sim,
        "/testdata/rate-limits/production",
        "/testdata/rate-limits/production",
        Some(&access),
        None,
    )
    .await;
    // The `other` bucket of this endpoint is fresh; it answers.
    assert_eq!(r.status, 200, "{}", r.body);
    tokio::time::sleep(Duration::from_millis(1100)).await;
    let r = get(&sim, "/rate-limits", "/rate-limits", Some(&access)).await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(r.body["invoiceDownload"]["perSecond"], 8);
    let r = call(
        &sim,
        Method::DELETE,
        "/testdata/rate-limits",
        "/testdata/rate-limits",
        Some(&access),
        None,
        &[],
    )
    .await;
    assert_eq!(r.status, 200);
    sim.shutdown().await;
}

#[tokio::test]
async fn session_limits_report_and_enforce_invoice_count_and_size() {
    let sim = start().await;
    let access = demo_access(&sim).await;
    let r = get(&sim, "/limits/context", "/limits/context", Some(&access)).await;
    assert_eq!(
        r.body["onlineSession"],
        json!({"maxInvoiceSizeInMB": 1, "maxInvoiceWithAttachmentSizeInMB": 3, "maxInvoices": 10000})
    );

    // Default 1 MB (10^6 B): an invoice of 1 000 001+ bytes is refused.
    let session = open_online_session(&sim, &access, &KEY, &IV).await;
    let xml = invoice(&sim.demo.nip, "FV/BIG/1");
    let padded = xml.replacen("<Fa>", &format!("<Fa>{}", " ".repeat(1_000_001)), 1);
    let r = send_raw(&sim, &access, &session, padded.as_bytes()).await;
    assert_eq!(r.status, 400, "{}", r.body);
    assert_eq!(r.code(), 21405);
    assert!(r.body.to_string().contains("1 MB"), "{}", r.body);

    // Two invoices per session as the context's limit: the second send is 21155.
    let limits =
        json!({"maxInvoiceSizeInMB": 1, "maxInvoiceWithAttachmentSizeInMB": 3, "maxInvoices": 1});
    let r = post(
        &sim,
        "/testdata/limits/context/session",
        "/testdata/limits/context/session",
        Some(&access),
        Some(json!({"onlineSession": limits, "batchSession": limits})),
    )
    .await;
    assert_eq!(r.status, 200, "{}", r.body);
    let r = get(&sim, "/limits/context", "/limits/context", Some(&access)).await;
    assert_eq!(r.body["onlineSession"]["maxInvoices"], 1);
    let session = open_online_session(&sim, &access, &KEY, &IV).await;
    let first = send_raw(
        &sim,
        &access,
        &session,
        invoice(&sim.demo.nip, "FV/L/1").as_bytes(),
    )
    .await;
    assert_eq!(first.status, 202, "{}", first.body);
    let second = send_raw(
        &sim,
        &access,
        &session,
        invoice(&sim.demo.nip, "FV/L/2").as_bytes(),
    )
    .await;
    assert_eq!(second.status, 400);
    assert_eq!(second.code(), 21155);
    assert_eq!(
        second.body["exception"]["exceptionDetailList"][0]["details"][0],
        format!(
            "Sesja o numerze referencyjnym {session} osiągnęła dozwolony limit liczby faktur 1."
        )
    );
    let r = call(
        &sim,
        Method::DELETE,
        "/testdata/limits/context/session",
        "/testdata/limits/context/session",
        Some(&access),
        None,
        &[],
    )
    .await;
    assert_eq!(r.status, 200);
    let r = get(&sim, "/limits/context", "/limits/context", Some(&access)).await;
    assert_eq!(r.body["onlineSession"]["maxInvoices"], 10000);
    sim.shutdown().await;
}

#[tokio::test]
async fn unknown_routes_and_methods_answer_with_a_body() {
    let sim = start().await;
    let access = demo_access(&sim).await;
    for (method, path, status) in [
        (
            Method::POST,
            "/v2/sessions/20250101-SO-0000000000-0000000000-00",
            405u16,
        ),
        (Method::PUT, "/v2/invoices/exports", 405),
        (Method::GET, "/v2/no/such/endpoint", 404),
        (Method::DELETE, "/storage/exports/a/b", 405),
    ] {
        let r = client()
            .request(method.clone(), format!("{}{path}", sim.base_url))
            .bearer_auth(&access)
            .send()
            .await
            .unwrap();
        assert_eq!(r.status().as_u16(), status, "{method} {path}");
        let ct = r.headers()["content-type"].to_str().unwrap().to_string();
        assert!(ct.contains("json"), "{ct}");
        let body: Value = r.json().await.unwrap();
        assert_eq!(body["status"], status, "{body}");
        assert!(!body["detail"].as_str().unwrap_or("").is_empty(), "{body}");
        assert_eq!(body["instance"], path);
    }
    sim.shutdown().await;
}

#[tokio::test]
async fn upo_links_use_the_public_url_and_expire_like_a_blob_host() {
    let mut config = SimConfig::for_tests_generous();
    config.public_url = Some("https://kwit.example.test/ksef/sim".into());
    config.storage_link_ttl = Duration::from_secs(2);
    let sim = start_with(config).await;
    let access = demo_access(&sim).await;
    let (_, _, status) = send_one(&sim, &access, &sim.demo.nip, "FV/UPO/1").await;
    assert_eq!(status["status"]["code"], 200, "{status}");
    let url = status["upoDownloadUrl"].as_str().unwrap();
    let public = "https://kwit.example.test/ksef/sim/storage/upo/";
    assert!(url.starts_with(public), "{url}");
    // The relay forwards `{public}/storage/...` to the simulator's `/storage/...`.
    let local = url.replacen("https://kwit.example.test/ksef/sim", &sim.base_url, 1);
    let r = client().get(&local).send().await.unwrap();
    assert_eq!(r.status(), 200);
    assert!(r.text().await.unwrap().contains("Potwierdzenie"));

    // An altered signature: 403 AuthenticationFailed, XML, as Azure answers.
    let forged = format!("{local}0");
    let r = client().get(&forged).send().await.unwrap();
    assert_eq!(r.status(), 403);
    assert_eq!(r.headers()["x-ms-error-code"], "AuthenticationFailed");
    assert!(
        r.headers()["content-type"]
            .to_str()
            .unwrap()
            .contains("xml")
    );
    assert!(
        r.text()
            .await
            .unwrap()
            .contains("<Code>AuthenticationFailed</Code>")
    );

    // Past `upoDownloadUrlExpirationDate`: 403 too.
    let expires = time::OffsetDateTime::parse(
        status["upoDownloadUrlExpirationDate"].as_str().unwrap(),
        &time::format_description::well_known::Rfc3339,
    )
    .unwrap();
    let wait = expires - time::OffsetDateTime::now_utc() + time::Duration::milliseconds(200);
    if wait.is_positive() {
        tokio::time::sleep(wait.try_into().unwrap()).await;
    }
    let r = client().get(&local).send().await.unwrap();
    assert_eq!(r.status(), 403);
    assert!(
        r.text()
            .await
            .unwrap()
            .contains("AuthenticationErrorDetail")
    );
    sim.shutdown().await;
}

#[tokio::test]
async fn a_signed_link_to_a_blob_that_is_gone_is_404_blob_not_found() {
    let sim = start().await;
    let access = demo_access(&sim).await;
    let (_, _, status) = send_one(&sim, &access, &sim.demo.nip, "FV/GONE/1").await;
    let url = status["upoDownloadUrl"].as_str().unwrap().to_string();
    let r = client()
        .post(format!("{}/sim/reset", sim.base_url))
        .send()
        .await
        .unwrap();
    assert!(r.status().is_success());
    let r = client().get(&url).send().await.unwrap();
    assert_eq!(r.status(), 404);
    assert_eq!(r.headers()["x-ms-error-code"], "BlobNotFound");
    assert!(
        r.text()
            .await
            .unwrap()
            .contains("The specified blob does not exist.")
    );
    sim.shutdown().await;
}

fn storage_filters(from: time::OffsetDateTime, restrict: bool) -> Value {
    let from = from
        .format(&time::format_description::well_known::Rfc3339)
        .unwrap();
    json!({"subjectType": "Subject1", "dateRange": {"dateType": "PermanentStorage", "from": from,
        "restrictToPermanentStorageHwmDate": restrict}})
}

#[tokio::test]
async fn hwm_lags_and_exports_after_it_end_in_status_420() {
    let mut config = SimConfig::for_tests_generous();
    config.hwm_lag = Duration::from_secs(30);
    let sim = start_with(config).await;
    let access = demo_access(&sim).await;
    let before = time::OffsetDateTime::now_utc() - time::Duration::minutes(1);
    let (_, _, status) = send_one(&sim, &access, &sim.demo.nip, "FV/HWM/1").await;
    let ksef = status["ksefNumber"].as_str().unwrap().to_string();

    // Without the restriction the fresh invoice is listed; the HWM trails by ~30 s.
    let r = post(
        &sim,
        "/invoices/query/metadata",
        "/invoices/query/metadata",
        Some(&access),
        Some(storage_filters(before, false)),
    )
    .await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert!(
        r.body["invoices"]
            .as_array()
            .unwrap()
            .iter()
            .any(|i| i["ksefNumber"] == ksef)
    );
    let hwm = time::OffsetDateTime::parse(
        r.body["permanentStorageHwmDate"].as_str().unwrap(),
        &time::format_description::well_known::Rfc3339,
    )
    .unwrap();
    let lag = time::OffsetDateTime::now_utc() - hwm;
    assert!(
        lag >= time::Duration::seconds(29) && lag < time::Duration::seconds(60),
        "{lag}"
    );
    // With it, only what is at or before the HWM: not the invoice just stored.
    let r = post(
        &sim,
        "/invoices/query/metadata",
        "/invoices/query/metadata",
        Some(&access),
        Some(storage_filters(before, true)),
    )
    .await;
    assert!(
        !r.body["invoices"]
            .as_array()
            .unwrap()
            .iter()
            .any(|i| i["ksefNumber"] == ksef)
    );

    // `from` after the HWM: the metadata query says 21183 at once…
    let late = time::OffsetDateTime::now_utc() - time::Duration::seconds(5);
    let r = post(
        &sim,
        "/invoices/query/metadata",
        "/invoices/query/metadata",
        Some(&access),
        Some(storage_filters(late, true)),
    )
    .await;
    assert_eq!(r.status, 400);
    assert_eq!(r.code(), 21183);
    let d = &r.body["exception"]["exceptionDetailList"][0];
    assert_eq!(
        d["exceptionDescription"],
        "Zakres filtrowania wykracza poza dostępny zakres danych."
    );
    // …an export accepts the request and ends in status 420.
    let r = post(
        &sim,
        "/invoices/exports",
        "/invoices/exports",
        Some(&access),
        Some(json!({"encryption": encryption(&sim).await, "filters": storage_filters(late, true)})),
    )
    .await;
    assert_eq!(r.status, 201, "{}", r.body);
    let status = wait_export(&sim, &access, r.body["referenceNumber"].as_str().unwrap()).await;
    assert_eq!(status["status"]["code"], 420, "{status}");
    assert_eq!(
        status["status"]["description"],
        "Zakres filtrowania wykracza poza dostępny zakres danych"
    );
    assert_eq!(
        status["status"]["details"][0],
        "Parametr dateRange.from jest późniejszy niż PermanentStorageHwmDate przy włączonym restrictToPermanentStorageHwmDate."
    );
    sim.shutdown().await;
}

#[tokio::test]
async fn targz_export_parts_unpack_with_tar_and_expire_with_the_package() {
    let mut config = SimConfig::for_tests_generous();
    config.export_package_ttl = Duration::from_secs(3);
    let sim = start_with(config).await;
    let access = demo_access(&sim).await;
    let (_, _, status) = send_one(&sim, &access, &sim.demo.nip, "FV/TGZ/1").await;
    let ksef = status["ksefNumber"].as_str().unwrap().to_string();
    let from = time::OffsetDateTime::now_utc() - time::Duration::days(1);
    let r = post(
        &sim,
        "/invoices/exports",
        "/invoices/exports",
        Some(&access),
        Some(
            json!({"encryption": encryption(&sim).await, "filters": storage_filters(from, false),
            "compressionType": "TarGz"}),
        ),
    )
    .await;
    assert_eq!(r.status, 201, "{}", r.body);
    let status_ref = r.body["referenceNumber"].as_str().unwrap().to_string();
    let status = wait_export(&sim, &access, &status_ref).await;
    assert_eq!(status["status"]["code"], 200, "{status}");
    let mut plain = Vec::new();
    let parts = status["package"]["parts"].as_array().unwrap();
    for p in parts {
        assert!(
            p["partName"].as_str().unwrap().ends_with(".tar.gz.aes"),
            "{p}"
        );
        let bytes = client()
            .get(p["url"].as_str().unwrap())
            .send()
            .await
            .unwrap()
            .bytes()
            .await
            .unwrap();
        plain.extend(decrypt(&bytes));
    }
    let dir = std::env::temp_dir().join(format!("ksef-sim-tgz-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let file = dir.join("export.tar.gz");
    std::fs::write(&file, &plain).unwrap();
    let out = std::process::Command::new("tar")
        .arg("-tzf")
        .arg(&file)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let listing = String::from_utf8(out.stdout).unwrap();
    assert!(
        listing.lines().any(|l| l == format!("{ksef}.xml")),
        "{listing}"
    );
    assert!(listing.lines().any(|l| l == "_metadata.json"), "{listing}");
    let _ = std::fs::remove_dir_all(&dir);

    // Unknown compression types are a validation error, not a silent ZIP.
    let r = post(
        &sim,
        "/invoices/exports",
        "/invoices/exports",
        Some(&access),
        Some(
            json!({"encryption": encryption(&sim).await, "filters": storage_filters(from, false),
            "compressionType": "Rar"}),
        ),
    )
    .await;
    assert_eq!(r.code(), 21405);

    // The part links stop at `expirationDate` = `packageExpirationDate`; the status then
    // says 210 (the package expired) until its own retention ends.
    assert_eq!(parts[0]["expirationDate"], status["packageExpirationDate"]);
    let url = parts[0]["url"].as_str().unwrap().to_string();
    tokio::time::sleep(Duration::from_millis(3300)).await;
    let r = client().get(&url).send().await.unwrap();
    assert_eq!(r.status(), 403);
    let reference = status_ref;
    let r = get(
        &sim,
        "/invoices/exports/{referenceNumber}",
        &format!("/invoices/exports/{reference}"),
        Some(&access),
    )
    .await;
    assert_eq!(r.body["status"]["code"], 210, "{}", r.body);
    assert_eq!(
        r.body["status"]["description"],
        "Eksport faktur wygasł i nie jest już dostępny do pobrania"
    );
    sim.shutdown().await;
}

#[tokio::test]
async fn auth_status_words_and_fields_follow_the_spec() {
    let sim = start().await;
    let (reference, auth_token) = start_token_login(&sim, "not-a-real-token", &sim.demo.nip).await;
    let status = wait_auth(&sim, &reference, &auth_token).await;
    assert_eq!(status["status"]["code"], 450);
    assert_eq!(
        status["status"]["description"],
        "Uwierzytelnianie zakończone niepowodzeniem z powodu błędnego tokenu"
    );
    assert_eq!(status["status"]["details"], json!(["Nieprawidłowy token"]));
    // `authenticationMethod` was removed on 2026-11-16; its successor stays.
    assert!(status.get("authenticationMethod").is_none(), "{status}");
    assert_eq!(status["authenticationMethodInfo"]["category"], "Token");

    let access = demo_access(&sim).await;
    let r = get(&sim, "/auth/sessions", "/auth/sessions", Some(&access)).await;
    let item = &r.body["items"][0];
    assert!(item.get("authenticationMethod").is_none(), "{item}");
    assert!(item["authenticationMethodInfo"]["code"].is_string());

    // X-System-Warning: TEST echoes X-Test-System-Warning, ASCII-folded.
    let r = client()
        .post(format!("{}/v2/auth/challenge", sim.base_url))
        .header(
            "x-test-system-warning",
            "[W1]: Żądanie zostanie odrzucone".as_bytes(),
        )
        .send()
        .await
        .unwrap();
    assert_eq!(
        r.headers()["x-system-warning"],
        "[W1]: Zadanie zostanie odrzucone"
    );
    sim.shutdown().await;
}
