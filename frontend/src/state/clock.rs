//! The browser clock, in the forms the app needs (ksef-core is told the time, never reads it).

/// Milliseconds since the epoch, from the browser clock.
pub fn now_ms() -> i64 {
    js_sys::Date::now() as i64
}

/// Today's date in the browser's time zone as `YYYY-MM-DD`.
pub fn today_string() -> String {
    let d = js_sys::Date::new_0();
    format!(
        "{:04}-{:02}-{:02}",
        d.get_full_year(),
        d.get_month() + 1,
        d.get_date()
    )
}

/// Today as a date (the form validates "issue date not in the future" against it).
pub fn today() -> time::Date {
    ksef_core::invoice::draft::parse_form_date(&today_string()).unwrap_or(time::Date::MIN)
}

/// The browser-local time of `unix_ms` as `HH:MM:SS` (when a paused sync continues).
pub fn local_hhmm(unix_ms: u64) -> String {
    let d = js_sys::Date::new(&wasm_bindgen::JsValue::from_f64(unix_ms as f64));
    format!(
        "{:02}:{:02}:{:02}",
        d.get_hours(),
        d.get_minutes(),
        d.get_seconds()
    )
}
