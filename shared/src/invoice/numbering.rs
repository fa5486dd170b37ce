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

    /// The period a number issued on `date` counts in: `YYYY-MM` for monthly series, `YYYY`
    /// for yearly ones, `""` for series that never restart.
    pub fn period_of(&self, date: Date) -> String {
        match self.reset() {
            Reset::Monthly => format!("{:04}-{:02}", date.year(), u8::from(date.month())),
            Reset::Yearly => format!("{:04}", date.year()),
            Reset::Never => String::new(),
        }
    }
}

/// The default numbering series (FAQ: "FV/{n}/{MM}/{YYYY}").
pub const DEFAULT_SERIES: &str = "FV/{n}/{MM}/{YYYY}";

/// The last counter used in one period (see [`NumberingSeries::period_of`]).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PeriodCounter {
    /// The period the counter belongs to.
    pub period: String,
    /// The last number's counter in that period.
    pub last: u32,
}

/// One company's numbering series with its counters, one per period: a number taken for an
/// invoice dated in an earlier month continues that month's count instead of restarting it
/// at 1 and repeating numbers.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SeriesRecord {
    /// The pattern, e.g. `FV/{n}/{MM}/{YYYY}`.
    pub pattern: String,
    /// Last counter per period.
    pub counters: Vec<PeriodCounter>,
}

impl Default for SeriesRecord {
    fn default() -> Self {
        Self {
            pattern: DEFAULT_SERIES.to_owned(),
            counters: Vec::new(),
        }
    }
}

impl SeriesRecord {
    /// Takes the next number for an invoice issued on `date`, advancing its period's counter.
    pub fn advance(&mut self, date: Date) -> Result<String, NumberingError> {
        let series = NumberingSeries::parse(&self.pattern)?;
        let period = series.period_of(date);
        let counter = match self.counters.iter_mut().find(|c| c.period == period) {
            Some(c) => {
                c.last = c.last.saturating_add(1);
                c.last
            }
            None => {
                self.counters.push(PeriodCounter { period, last: 1 });
                1
            }
        };
        Ok(series.format(counter, date))
    }

    /// As stored: the pattern on the first line, then `period last` per line (e.g.
    /// `2026-11 5`). Plain text rather than a serde type: a few hundred bytes of wasm instead
    /// of a few kilobytes.
    pub fn encode(&self) -> String {
        let mut out = self.pattern.clone();
        for c in &self.counters {
            out.push('\n');
            out.push_str(&c.period);
            out.push(' ');
            out.push_str(&c.last.to_string());
        }
        out
    }

    /// Reads [`Self::encode`]'s text back; lines that do not parse are skipped.
    pub fn decode(text: &str) -> Self {
        let mut lines = text.split('\n');
        let pattern = lines.next().unwrap_or(DEFAULT_SERIES).to_owned();
        let counters = lines
            .filter_map(|l| {
                let (period, last) = l.rsplit_once(' ')?;
                Some(PeriodCounter {
                    period: period.to_owned(),
                    last: last.parse().ok()?,
                })
            })
            .collect();
        Self { pattern, counters }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::date;

    fn take(record: &mut SeriesRecord, date: Date) -> String {
        record.advance(date).unwrap()
    }

    #[test]
    fn monthly_series_counts_per_month_and_an_earlier_month_continues_its_own_count() {
        let mut r = SeriesRecord::default();
        assert_eq!(take(&mut r, date!(2026 - 02 - 03)), "FV/1/02/2026");
        assert_eq!(take(&mut r, date!(2026 - 02 - 28)), "FV/2/02/2026");
        assert_eq!(take(&mut r, date!(2026 - 03 - 01)), "FV/1/03/2026");
        // A late invoice for February goes on from February's count, not from 1 again.
        assert_eq!(take(&mut r, date!(2026 - 02 - 27)), "FV/3/02/2026");
        assert_eq!(SeriesRecord::decode(&r.encode()), r);
    }

    #[test]
    fn padded_yearly_and_plain_series() {
        let mut y = SeriesRecord {
            pattern: "{YY}-{nnnn}".into(),
            counters: vec![PeriodCounter {
                period: "2026".into(),
                last: 41,
            }],
        };
        assert_eq!(
            NumberingSeries::parse(&y.pattern).unwrap().reset(),
            Reset::Yearly
        );
        assert_eq!(take(&mut y, date!(2026 - 12 - 31)), "26-0042");
        assert_eq!(take(&mut y, date!(2027 - 01 - 01)), "27-0001");
        let mut p = SeriesRecord {
            pattern: "R{n}".into(),
            counters: vec![PeriodCounter {
                period: String::new(),
                last: 9,
            }],
        };
        assert_eq!(take(&mut p, date!(2030 - 01 - 01)), "R10");
        let mut bad = SeriesRecord {
            pattern: "FV/{MM}".into(),
            counters: Vec::new(),
        };
        assert_eq!(
            bad.advance(date!(2026 - 01 - 01)),
            Err(NumberingError::MissingCounter)
        );
        assert!(bad.counters.is_empty(), "a bad pattern takes no number");
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
