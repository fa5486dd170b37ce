//! `X-System-Warning` (2.6.0): technical warnings that do not change the result, format
//! `[code]: message | [code]: message`, "normalizowana z użyciem ASCII folding". On TEST
//! the `X-Test-System-Warning` request header is echoed; so here.

use axum::http::HeaderValue;

/// ASCII folding of Polish (and common Latin-1) letters; other non-ASCII characters and
/// control characters become `?`, so the value is always a valid header.
pub fn ascii_fold(text: &str) -> String {
    text.chars()
        .map(|c| match c {
            'ą' => 'a',
            'ć' => 'c',
            'ę' => 'e',
            'ł' => 'l',
            'ń' => 'n',
            'ó' => 'o',
            'ś' => 's',
            'ź' | 'ż' => 'z',
            'Ą' => 'A',
            'Ć' => 'C',
            'Ę' => 'E',
            'Ł' => 'L',
            'Ń' => 'N',
            'Ó' => 'O',
            'Ś' => 'S',
            'Ź' | 'Ż' => 'Z',
            'á' | 'à' | 'ä' | 'â' => 'a',
            'é' | 'è' | 'ë' | 'ê' => 'e',
            'í' | 'ï' => 'i',
            'ö' | 'ô' => 'o',
            'ü' | 'ú' => 'u',
            'ß' => 's',
            c if c == ' ' || c.is_ascii_graphic() => c,
            _ => '?',
        })
        .collect()
}

/// The echo of an `X-Test-System-Warning` value (raw bytes, UTF-8 expected).
pub fn echo(requested: &HeaderValue) -> Option<HeaderValue> {
    let text = String::from_utf8_lossy(requested.as_bytes());
    HeaderValue::from_str(ascii_fold(text.trim()).as_str()).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn polish_letters_fold_to_ascii() {
        assert_eq!(
            ascii_fold("[W001]: Żądanie będzie odrzucane | [W2]: łódź"),
            "[W001]: Zadanie bedzie odrzucane | [W2]: lodz"
        );
        let v = HeaderValue::from_bytes("[X]: zażółć\n".as_bytes())
            .unwrap_or(HeaderValue::from_static("x"));
        assert!(echo(&v).is_some());
    }
}
