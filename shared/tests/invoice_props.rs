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

proptest! {
    /// Whatever is typed into the form, validation and live totals answer without panicking.
    #[test]
    fn any_form_input_is_handled(
        q in prop_oneof!["[1-9][0-9]{0,5}([.,][0-9]{1,3})?", "[0-9 ,.eE+-]{0,40}"],
        p in prop_oneof!["[0-9]{1,6}([.,][0-9]{1,2})?", "[0-9 ,.-]{0,40}"],
        rate in "(23|8|5|0 WDT|zw|oo|np II|x)",
        nip in prop_oneof![Just("7352765225".to_owned()), "\\PC{0,14}"],
        number in prop_oneof![Just("FV/1".to_owned()), "\\PC{0,20}"],
        kind in 0u8..4,
    ) {
        use ksef_core::invoice::{InvoiceDraft, KindCode, LineDraft};
        let mut d = InvoiceDraft {
            number,
            issue_date: "2026-02-01".into(),
            kind: [KindCode::Vat, KindCode::Kor, KindCode::Zal, KindCode::Roz][kind as usize],
            advance_received: p.clone(),
            advances_paid: q.clone(),
            ..InvoiceDraft::default()
        };
        d.buyer.nip = nip;
        d.buyer.name = "B".into();
        d.seller.nip = "5265877635".into();
        d.seller.name = "S".into();
        d.seller.address_line1 = "ul. A 1".into();
        let l = LineDraft { description: "x".into(), unit: String::new(), quantity: q, unit_price: p, rate };
        d.lines = vec![l.clone(), l.clone()];
        d.correction.lines_before = vec![l];
        let _ = d.live_totals();
        if let Ok(inv) = d.validate() {
            let _ = inv.to_fa3_xml(time::macros::datetime!(2026-02-01 10:00 UTC));
        }
    }

    /// Arbitrary text never panics the FA(3) reader or the NIP/EU VAT parsers.
    #[test]
    fn arbitrary_text_is_rejected_not_panicking(s in "\\PC{0,64}") {
        let _ = ksef_core::fa3::read_fa3(&s);
        let _ = Nip::parse(&s);
        let _ = ksef_core::nip::EuVatNumber::parse(&s);
        let _ = ksef_core::invoice::NumberingSeries::parse(&s).map(|n| n.counter_of(&s));
        let _ = ksef_core::invoice::validate::is_ksef_number_shape(&s);
        let _ = ksef_core::invoice::validate::is_valid_account(&s);
    }

    /// Huge amounts inside a well-formed invoice are read without overflow panics.
    #[test]
    fn huge_amounts_in_xml_do_not_panic(v in "[1-9][0-9]{0,27}(\\.[0-9]{1,2})?", q in "0\\.00000[1-9]|[1-9][0-9]{0,27}") {
        let xml = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/../samples/fa3/csharp-invoice-template-fa-3.xml"))
            .unwrap()
            .replace("#nip#", "5265877635")
            .replace("#invoice_number#", "1")
            .replace("<P_11>18.00</P_11>", &format!("<P_11>{v}</P_11>"))
            .replace("<P_8B>20.00</P_8B>", &format!("<P_8B>{q}</P_8B>"))
            .replace("<P_15>53.63</P_15>", &format!("<P_15>{v}</P_15>"));
        if let Ok(read) = ksef_core::fa3::read_fa3(&xml) {
            let _ = read.totals_mismatches();
            let _ = read.invoice.check(None);
        }
    }
}
