//! Invoice number series such as `FV/{n}/{MM}/{YYYY}`.
//!
//! Tokens: `{n}` counter, `{nnn}` counter zero-padded to the number of `n`s, `{DD}`, `{MM}`,
//! `{YYYY}`, `{YY}`. The counter restarts each month when the pattern has `{MM}`, each year
//! when it has only a year, and never otherwise — so numbers stay unique (P_2 duplicates are
//! rejected by KSeF per seller and invoice kind).

use serde::{Deserialize, Serialize};
use time::Date;

/// Why a pattern is unusable.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum NumberingError {
    #[error("Wzorzec numeru musi zawierać {{n}} / The number pattern must contain {{n}}")]
    MissingCounter,
    #[error("Nieznany znacznik {{{0}}} we wzorcu / Unknown token {{{0}}} in the pattern")]
    UnknownToken(String),
    #[error("Niezamknięty nawias {{ we wzorcu / Unclosed {{ in the pattern")]
    Unclosed,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
enum Part {
    Text(String),
    Counter { width: usize },
    Day,
    Month,
    Year4,
    Year2,
}

/// A parsed numbering pattern.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct NumberingSeries {
    pattern: String,
    parts: Vec<Part>,
}

/// When the counter starts again from 1.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum Reset {
    Monthly,
    Yearly,
    Never,
}

impl NumberingSeries {
    /// Parses a pattern like `FV/{n}/{MM}/{YYYY}`.
    pub fn parse(pattern: &str) -> Result<Self, NumberingError> {
        let mut parts = Vec::new();
        let mut rest = pattern;
        while let Some(start) = rest.find('{') {
            if start > 0 {
                parts.push(Part::Text(rest[..start].to_owned()));
            }
            let after = &rest[start + 1..];
            let end = after.find('}').ok_or(NumberingError::Unclosed)?;
            let token = &after[..end];
            parts.push(match token {
                "DD" => Part::Day,
                "MM" => Part::Month,
                "YYYY" => Part::Year4,
                "YY" => Part::Year2,
                t if !t.is_empty() && t.chars().all(|c| c == 'n') => Part::Counter {
                    width: if t.len() == 1 { 0 } else { t.len() },
                },
                t => return Err(NumberingError::UnknownToken(t.to_owned())),
            });
            rest = &after[end + 1..];
        }
        if !rest.is_empty() {
            parts.push(Part::Text(rest.to_owned()));
        }
        if !parts.iter().any(|p| matches!(p, Part::Counter { .. })) {
            return Err(NumberingError::MissingCounter);
        }
        Ok(Self {
            pattern: pattern.to_owned(),
            parts,
        })
    }

    /// The pattern as typed.
    pub fn pattern(&self) -> &str {
        &self.pattern
    }

    /// When the counter restarts.
    pub fn reset(&self) -> Reset {
        if self.parts.iter().any(|p| matches!(p, Part::Month)) {
            Reset::Monthly
        } else if self
            .parts
            .iter()
            .any(|p| matches!(p, Part::Year4 | Part::Year2))
        {
            Reset::Yearly
        } else {
            Reset::Never
        }
    }

    /// The number for `counter` issued on `date`.
    pub fn format(&self, counter: u32, date: Date) -> String {
        let mut out = String::new();
        for p in &self.parts {
            match p {
                Part::Text(t) => out.push_str(t),
                Part::Counter { width } => out.push_str(&format!("{counter:0width$}")),
                Part::Day => out.push_str(&format!("{:02}", date.day())),
                Part::Month => out.push_str(&format!("{:02}", u8::from(date.month()))),
                Part::Year4 => out.push_str(&format!("{:04}", date.year())),
                Part::Year2 => out.push_str(&format!("{:02}", date.year().rem_euclid(100))),
            }
        }
        out
    }

    /// The counter inside a number issued from this series (`FV/12/02/2026` → 12), so the
    /// app can continue a series the user started elsewhere. `None` if it does not match.
    pub fn counter_of(&self, number: &str) -> Option<u32> {
        let mut rest = number;
        let mut counter = None;
        for p in &self.parts {
            let take_digits = |rest: &str, exact: Option<usize>| -> Option<usize> {
                let n = rest.bytes().take_while(u8::is_ascii_digit).count();
                match exact {
                    Some(e) if n >= e => Some(e),
                    Some(_) => None,
                    None if n > 0 => Some(n),
                    None => None,
                }
            };
            let used = match p {
                Part::Text(t) => rest.starts_with(t.as_str()).then_some(t.len())?,
                Part::Counter { .. } => {
                    let n = take_digits(rest, None)?;
                    counter = Some(rest[..n].parse().ok()?);
                    n
                }
                Part::Day | Part::Month | Part::Year2 => take_digits(rest, Some(2))?,
                Part::Year4 => take_digits(rest, Some(4))?,
            };
            rest = &rest[used..];
        }
        if rest.is_empty() { counter } else { None }
    }

    /// Next counter and number, given the last used counter and its date (`None` if the
    /// series is unused). The counter restarts at 1 when `date` is in a new period.
    pub fn next(&self, last: Option<(u32, Date)>, date: Date) -> (u32, String) {
        let counter = match last {
            None => 1,
            Some((n, last_date)) => {
                let same_period = match self.reset() {
                    Reset::Monthly => {
                        last_date.year() == date.year() && last_date.month() == date.month()
                    }
                    Reset::Yearly => last_date.year() == date.year(),
                    Reset::Never => true,
                };
                if same_period { n.saturating_add(1) } else { 1 }
            }
        };
        (counter, self.format(counter, date))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::date;

    #[test]
    fn monthly_series_counts_and_restarts() {
        let s = NumberingSeries::parse("FV/{n}/{MM}/{YYYY}").unwrap();
        assert_eq!(
            s.next(None, date!(2026 - 02 - 03)),
            (1, "FV/1/02/2026".into())
        );
        assert_eq!(
            s.next(Some((7, date!(2026 - 02 - 01))), date!(2026 - 02 - 28)),
            (8, "FV/8/02/2026".into())
        );
        assert_eq!(
            s.next(Some((7, date!(2026 - 02 - 01))), date!(2026 - 03 - 01)),
            (1, "FV/1/03/2026".into())
        );
    }

    #[test]
    fn padded_yearly_and_plain_series() {
        let s = NumberingSeries::parse("{YY}-{nnnn}").unwrap();
        assert_eq!(s.reset(), Reset::Yearly);
        assert_eq!(
            s.next(Some((41, date!(2026 - 01 - 05))), date!(2026 - 12 - 31))
                .1,
            "26-0042"
        );
        assert_eq!(
            s.next(Some((41, date!(2025 - 12 - 31))), date!(2026 - 01 - 01))
                .1,
            "26-0001"
        );
        let p = NumberingSeries::parse("R{n}").unwrap();
        assert_eq!(
            p.next(Some((9, date!(2020 - 01 - 01))), date!(2026 - 01 - 01))
                .1,
            "R10"
        );
    }

    #[test]
    fn reads_the_counter_back() {
        let s = NumberingSeries::parse("FV/{n}/{MM}/{YYYY}").unwrap();
        assert_eq!(s.counter_of("FV/12/02/2026"), Some(12));
        assert_eq!(s.counter_of("FV/12/2/2026"), None);
        assert_eq!(s.counter_of("FA/12/02/2026"), None);
        assert_eq!(s.counter_of("FV/12/02/2026x"), None);
        let p = NumberingSeries::parse("{YY}-{nnnn}").unwrap();
        assert_eq!(p.counter_of("26-0042"), Some(42));
    }

    #[test]
    fn bad_patterns() {
        assert_eq!(
            NumberingSeries::parse("FV/{MM}"),
            Err(NumberingError::MissingCounter)
        );
        assert_eq!(
            NumberingSeries::parse("FV/{x}/{n}"),
            Err(NumberingError::UnknownToken("x".into()))
        );
        assert_eq!(
            NumberingSeries::parse("FV/{n"),
            Err(NumberingError::Unclosed)
        );
    }
}
