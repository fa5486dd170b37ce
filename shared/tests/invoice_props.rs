//! Property tests: NIP checksum and the arithmetic of FA(3) totals.

use ksef_core::invoice::totals::lines_totals;
use ksef_core::invoice::{Line, PriceBasis, VatRate};
use ksef_core::money::{Decimal, round_money};
use ksef_core::nip::Nip;
use proptest::prelude::*;

fn rate() -> impl Strategy<Value = VatRate> {
    prop::sample::select(VatRate::OFFERED.to_vec())
}

fn line() -> impl Strategy<Value = Line> {
    (1i64..100_000, 0u32..4, 0i64..10_000_000, 0u32..5, rate()).prop_map(|(q, qs, p, ps, rate)| {
        Line {
            description: "x".into(),
            unit: None,
            quantity: Decimal::new(q, qs),
            unit_price: Decimal::new(p, ps),
            rate,
        }
    })
}

fn basis() -> impl Strategy<Value = PriceBasis> {
    prop_oneof![Just(PriceBasis::Net), Just(PriceBasis::Gross)]
}

proptest! {
    #[test]
    fn nips_with_a_computed_check_digit_parse(digits in prop::array::uniform9(0u8..10)) {
        prop_assume!(digits[0] != 0 && (digits[1] != 0 || digits[2] != 0));
        if let Some(check) = Nip::check_digit(&digits) {
            let s: String = digits.iter().chain([check].iter()).map(|d| char::from(b'0' + d)).collect();
            let nip = Nip::parse(&s).unwrap();
            prop_assert_eq!(nip.as_str(), s.as_str());
            // Any single-digit change breaks the checksum.
            for pos in 0..10 {
                let mut b = s.clone().into_bytes();
                b[pos] = b'0' + (b[pos] - b'0' + 1) % 10;
                let changed = String::from_utf8(b).unwrap();
                prop_assert!(Nip::parse(&changed).is_err(), "{} accepted", changed);
            }
        }
    }

    #[test]
    fn totals_add_up(lines in prop::collection::vec(line(), 1..12), basis in basis()) {
        let t = lines_totals(&lines, basis, None);
        let mut net = Decimal::ZERO;
        let mut vat = Decimal::ZERO;
        for r in &t.by_rate {
            prop_assert_eq!(r.gross, r.net + r.vat);
            prop_assert!(r.net.scale() == 2 && r.vat.scale() == 2);
            let sum: Decimal = lines.iter().filter(|l| l.rate == r.rate)
                .map(|l| round_money(l.quantity * l.unit_price)).sum();
            match (r.rate.percent(), basis) {
                (None, _) => prop_assert_eq!((r.net, r.vat), (sum, Decimal::ZERO)),
                (Some(p), PriceBasis::Net) => {
                    prop_assert_eq!(r.net, sum);
                    prop_assert_eq!(r.vat, round_money(sum * p / Decimal::ONE_HUNDRED));
                }
                (Some(p), PriceBasis::Gross) => {
                    prop_assert_eq!(r.gross, sum);
                    // VAT extracted from gross is within half a grosz of the exact value.
                    let exact = sum * p / (Decimal::ONE_HUNDRED + p);
                    prop_assert!((r.vat - exact).abs() <= Decimal::new(5, 3));
                }
            }
            net += r.net;
            vat += r.vat;
        }
        prop_assert_eq!(t.net, net);
        prop_assert_eq!(t.vat, vat);
        prop_assert_eq!(t.gross, net + vat);
    }

    #[test]
    fn advance_split_is_exact(lines in prop::collection::vec(line(), 1..8), cents in 1i64..100_000_000) {
        let order = lines_totals(&lines, PriceBasis::Net, None);
        prop_assume!(!order.gross.is_zero());
        let received = Decimal::new(cents, 2);
        let split = order.split_gross(received, None);
        prop_assert_eq!(split.gross, received);
        for r in &split.by_rate {
            prop_assert_eq!(r.gross, r.net + r.vat);
        }
    }

    #[test]
    fn correcting_nothing_gives_zero(lines in prop::collection::vec(line(), 1..8), basis in basis()) {
        let t = lines_totals(&lines, basis, None);
        let diff = t.minus(&t);
        prop_assert!(diff.gross.is_zero() && diff.net.is_zero() && diff.vat.is_zero());
    }
}
