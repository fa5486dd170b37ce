//! Reading invoices: the metadata query across pages.

use ksef_core::flow;
use serde_json::json;

use super::{client, response};

#[tokio::test]
async fn metadata_query_follows_pages() {
    let item = |n: &str| {
        json!({"ksefNumber": n, "invoiceNumber": "FV/1", "issueDate": "2026-01-05", "seller": {"nip": "5265877635", "name": "A"},
        "netAmount": 100.0, "grossAmount": 123.0, "vatAmount": 23.0, "currency": "PLN", "permanentStorageDate": "2026-01-05T10:00:00Z"})
    };
    let (client, log, _) = client(move |req, _| {
        let offset = req.uri().query().unwrap().contains("pageOffset=1");
        if offset {
            response(
                200,
                json!({"hasMore": false, "isTruncated": false, "invoices": [item("5265877635-20250626-010080DD2B5E-26")]}),
            )
        } else {
            response(
                200,
                json!({"hasMore": true, "isTruncated": false, "permanentStorageHwmDate": "2026-01-06T00:00:00Z",
                "invoices": [item("5265877635-20250729-01004014E040-00")]}),
            )
        }
    });
    let filters = ksef_core::api::invoices::InvoiceQueryFilters {
        subject_type: "Subject2".into(),
        date_range: ksef_core::api::invoices::DateRange {
            date_type: "PermanentStorage".into(),
            from: "2026-01-01T00:00:00Z".into(),
            to: None,
            restrict_to_permanent_storage_hwm_date: Some(true),
        },
        ksef_number: None,
        invoice_number: None,
        seller_nip: None,
    };
    let (invoices, hwm) = flow::query_metadata(&client, "access", &filters, 100, 10)
        .await
        .unwrap();
    assert_eq!(invoices.len(), 2);
    assert_eq!(hwm.as_deref(), Some("2026-01-06T00:00:00Z"));
    let uris: Vec<String> = log.borrow().iter().map(|(_, u, _, _)| u.clone()).collect();
    assert!(
        uris[0].ends_with("/invoices/query/metadata?sortOrder=Asc&pageOffset=0&pageSize=100"),
        "{uris:?}"
    );
    assert!(uris[1].contains("pageOffset=1"));
}
