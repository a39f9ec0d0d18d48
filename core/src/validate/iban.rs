//! Bank account identifiers: IBAN (ISO 13616) and BIC (ISO 9362).

use super::{quoted, FieldError};

/// Length of a full IBAN for each country of the SWIFT IBAN registry (release 101), sorted by
/// country code. Territories that use another country's IBAN (Åland: FI, Guadeloupe: FR, Jersey:
/// GB…) are not listed on their own, as in the registry.
#[rustfmt::skip]
const IBAN_LENGTHS: [(&str, usize); 89] = [
    ("AD", 24), ("AE", 23), ("AL", 28), ("AT", 20), ("AZ", 28), ("BA", 20), ("BE", 16),
    ("BG", 22), ("BH", 22), ("BI", 27), ("BR", 29), ("BY", 28), ("CH", 21), ("CR", 22),
    ("CY", 28), ("CZ", 24), ("DE", 22), ("DJ", 27), ("DK", 18), ("DO", 28), ("EE", 20),
    ("EG", 29), ("ES", 24), ("FI", 18), ("FK", 18), ("FO", 18), ("FR", 27), ("GB", 22),
    ("GE", 22), ("GI", 23), ("GL", 18), ("GR", 27), ("GT", 28), ("HN", 28), ("HR", 21),
    ("HU", 28), ("IE", 22), ("IL", 23), ("IQ", 23), ("IS", 26), ("IT", 27), ("JO", 30),
    ("KW", 30), ("KZ", 20), ("LB", 28), ("LC", 32), ("LI", 21), ("LT", 20), ("LU", 20),
    ("LV", 21), ("LY", 25), ("MC", 27), ("MD", 24), ("ME", 22), ("MK", 19), ("MN", 20),
    ("MR", 27), ("MT", 31), ("MU", 30), ("NI", 28), ("NL", 18), ("NO", 15), ("OM", 23),
    ("PK", 24), ("PL", 28), ("PS", 29), ("PT", 25), ("QA", 29), ("RO", 24), ("RS", 22),
    ("RU", 33), ("SA", 24), ("SC", 31), ("SD", 18), ("SE", 24), ("SI", 19), ("SK", 24),
    ("SM", 27), ("SO", 23), ("ST", 25), ("SV", 28), ("TL", 23), ("TN", 24), ("TR", 26),
    ("UA", 29), ("VA", 22), ("VG", 24), ("XK", 20), ("YE", 30),
];

fn iban_length(country: &str) -> Option<usize> {
    IBAN_LENGTHS
        .binary_search_by(|(code, _)| (*code).cmp(country))
        .ok()
        .and_then(|i| IBAN_LENGTHS.get(i))
        .map(|&(_, length)| length)
}

/// The input without whitespace, in uppercase.
fn compact(input: &str) -> String {
    input
        .chars()
        .filter(|c| !c.is_whitespace())
        .map(|c| c.to_ascii_uppercase())
        .collect()
}

/// Checks an IBAN: spaces are dropped and letters uppercased, then the country code, the length
/// for that country and the mod-97 check digits are verified. Returns the IBAN without spaces,
/// in uppercase.
pub fn iban(field: &str, input: &str) -> Result<String, FieldError> {
    let error = |reason: String| Err(FieldError::new(field, reason));
    let compact = compact(input);
    if compact.is_empty() {
        return error("IBAN is empty".to_string());
    }
    let shown = quoted(input.trim());
    if !compact.bytes().all(|b| b.is_ascii_alphanumeric()) {
        return error(format!("{shown} may only hold letters, digits and spaces"));
    }
    // All ASCII from here on: byte slicing is safe.
    if compact.len() < 4 {
        return error(format!("{shown} is too short for an IBAN"));
    }
    let country = &compact[..2];
    if !country.bytes().all(|b| b.is_ascii_uppercase()) {
        return error(format!(
            "{shown} does not start with a country code, as in FR76…"
        ));
    }
    let Some(expected) = iban_length(country) else {
        return error(if super::country::is_country(country) {
            format!("{shown}: {country} does not use IBAN")
        } else {
            format!("{shown} does not start with a known IBAN country code")
        });
    };
    let check_digits = &compact[2..4];
    if !check_digits.bytes().all(|b| b.is_ascii_digit()) {
        return error(format!(
            "{shown} must have two check digits after {country}"
        ));
    }
    if compact.len() != expected {
        return error(format!(
            "{shown} has {} characters but a {country} IBAN has {expected}",
            compact.len()
        ));
    }
    if matches!(check_digits, "00" | "01" | "99") || mod97(&compact) != 1 {
        return error(format!(
            "{shown}: checksum does not match: check the digits"
        ));
    }
    Ok(compact)
}

/// ISO 7064 MOD 97-10 of an uppercase alphanumeric IBAN: the first four characters moved to the
/// end, letters read as 10 to 35.
fn mod97(compact: &str) -> u32 {
    let (head, tail) = compact.split_at(4);
    tail.bytes()
        .chain(head.bytes())
        .fold(0u32, |rest, b| match b {
            b'0'..=b'9' => (rest * 10 + u32::from(b - b'0')) % 97,
            _ => (rest * 100 + u32::from(b - b'A') + 10) % 97,
        })
}

/// Checks a BIC (SWIFT code): 4 letters for the bank, an ISO country code, 2 letters or digits for
/// the location and, optionally, 3 for the branch. Spaces are dropped. Returns it in uppercase.
pub fn bic(field: &str, input: &str) -> Result<String, FieldError> {
    let error = |reason: String| Err(FieldError::new(field, reason));
    let compact = compact(input);
    if compact.is_empty() {
        return error("BIC is empty".to_string());
    }
    let shown = quoted(input.trim());
    if !compact.bytes().all(|b| b.is_ascii_alphanumeric()) {
        return error(format!("{shown} may only hold letters and digits"));
    }
    if compact.len() != 8 && compact.len() != 11 {
        return error(format!(
            "{shown} has {} characters but a BIC has 8 or 11",
            compact.len()
        ));
    }
    // All ASCII and 8 or 11 bytes long from here on: byte slicing is safe.
    if !compact[..4].bytes().all(|b| b.is_ascii_uppercase()) {
        return error(format!("{shown} must start with 4 letters for the bank"));
    }
    let country = &compact[4..6];
    if !super::country::is_country(country) {
        return error(format!(
            "{shown}: {country:?} (5th and 6th characters) is not an ISO 3166 country code"
        ));
    }
    Ok(compact)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check(input: &str, expected: Result<&str, &str>) {
        check_with(iban, input, expected);
    }

    fn check_bic(input: &str, expected: Result<&str, &str>) {
        check_with(bic, input, expected);
    }

    fn check_with(
        validate: fn(&str, &str) -> Result<String, FieldError>,
        input: &str,
        expected: Result<&str, &str>,
    ) {
        let got = validate("bank.account", input);
        super::super::assert_validates("bank.account", &got, input, expected);
    }

    #[test]
    #[rustfmt::skip]
    fn good_ibans() {
        check("FR76 3000 6000 0112 3456 7890 189", Ok("FR7630006000011234567890189"));
        check("fr7630006000011234567890189", Ok("FR7630006000011234567890189"));
        check("  FR76 3000 6000 0112 3456 7890 189\n", Ok("FR7630006000011234567890189"));
        check("DE89 3704 0044 0532 0130 00", Ok("DE89370400440532013000"));
        check("GB29 NWBK 6016 1331 9268 19", Ok("GB29NWBK60161331926819"));
        check("gb29nwbk60161331926819", Ok("GB29NWBK60161331926819"));
        check("BE48 3200 7018 4927", Ok("BE48320070184927"));
        check("NL91 ABNA 0417 1643 00", Ok("NL91ABNA0417164300"));
        check("ES91 2100 0418 4502 0005 1332", Ok("ES9121000418450200051332"));
        check("IT60 X054 2811 1010 0000 0123 456", Ok("IT60X0542811101000000123456"));
        check("CH93 0076 2011 6238 5295 7", Ok("CH9300762011623852957"));
        check("AT61 1904 3002 3457 3201", Ok("AT611904300234573201"));
        check("LU28 0019 4006 4475 0000", Ok("LU280019400644750000"));
        check("PT50 0002 0123 1234 5678 9015 4", Ok("PT50000201231234567890154"));
        check("IE29 AIBK 9311 5212 3456 78", Ok("IE29AIBK93115212345678"));
        check("PL61 1090 1014 0000 0712 1981 2874", Ok("PL61109010140000071219812874"));
        check("SE45 5000 0000 0583 9825 7466", Ok("SE4550000000058398257466"));
        check("NO93 8601 1117 947", Ok("NO9386011117947"));
        check("DK50 0040 0440 1162 43", Ok("DK5000400440116243"));
        check("FI21 1234 5600 0007 85", Ok("FI2112345600000785"));
        check("MC58 1122 2000 0101 2345 6789 030", Ok("MC5811222000010123456789030"));
        check("MT84 MALT 0110 0001 2345 MTLC AST0 01S", Ok("MT84MALT011000012345MTLCAST001S"));
        check("LC55 HEMM 0001 0001 0012 0012 0002 3015", Ok("LC55HEMM000100010012001200023015"));
        check("GR16 0110 1250 0000 0001 2300 695", Ok("GR1601101250000000012300695"));
        check("HR12 1001 0051 8630 0016 0", Ok("HR1210010051863000160"));
        check("RO49 AAAA 1B31 0075 9384 0000", Ok("RO49AAAA1B31007593840000"));
        check("SI56 2633 0001 2039 086", Ok("SI56263300012039086"));
        check("BG80 BNBG 9661 1020 3456 78", Ok("BG80BNBG96611020345678"));
        check("CY17 0020 0128 0000 0012 0052 7600", Ok("CY17002001280000001200527600"));
        check("EE38 2200 2210 2014 5685", Ok("EE382200221020145685"));
        check("LT12 1000 0111 0100 1000", Ok("LT121000011101001000"));
        check("LV80 BANK 0000 4351 9500 1", Ok("LV80BANK0000435195001"));
        check("SK31 1200 0000 1987 4263 7541", Ok("SK3112000000198742637541"));
        check("CZ65 0800 0000 1920 0014 5399", Ok("CZ6508000000192000145399"));
        check("HU42 1177 3016 1111 1018 0000 0000", Ok("HU42117730161111101800000000"));
        check("IS14 0159 2600 7654 5510 7303 39", Ok("IS140159260076545510730339"));
        check("LI21 0881 0000 2324 013A A", Ok("LI21088100002324013AA"));
        check("SM86 U032 2509 8000 0000 0270 100", Ok("SM86U0322509800000000270100"));
        check("VA59 0011 2300 0012 3456 78", Ok("VA59001123000012345678"));
        check("TR33 0006 1005 1978 6457 8413 26", Ok("TR330006100519786457841326"));
        check("BR15 0000 0000 0000 1093 2840 814P 2", Ok("BR1500000000000010932840814P2"));
        check("SA03 8000 0000 6080 1016 7519", Ok("SA0380000000608010167519"));
        check("XK05 1212 0123 4567 8906", Ok("XK051212012345678906"));
        // Non-breaking and thin spaces, as pasted from a PDF.
        check("FR76\u{a0}3000\u{202f}6000 0112 3456 7890 189", Ok("FR7630006000011234567890189"));
    }

    #[test]
    #[rustfmt::skip]
    fn bad_ibans() {
        check("", Err("empty"));
        check("   ", Err("empty"));
        check("FR", Err("too short"));
        check("FR7", Err("too short"));
        check("FR76", Err("has 4 characters but a FR IBAN has 27"));
        check("FR76 3000 6000 0112 3456 7890 18", Err("has 26 characters but a FR IBAN has 27"));
        check("FR76 3000 6000 0112 3456 7890 1899", Err("has 28 characters"));
        check("DE89 3704 0044 0532 0130 0", Err("a DE IBAN has 22"));
        check(&format!("FR76{}", "1".repeat(40)), Err("has 44 characters"));
        check("FR76 3000 6000 0112 3456 7890 188", Err("checksum does not match: check the digits"));
        check("FR67 3000 6000 0112 3456 7890 189", Err("checksum does not match"));
        check("DE89 3704 0044 0532 0130 01", Err("checksum does not match"));
        check("GB29 NWBK 6016 1331 9268 18", Err("checksum does not match"));
        check("GB29 NWBK 6061 1331 9268 19", Err("checksum does not match"));
        check("BE48 3200 7018 4928", Err("checksum does not match"));
        // 99 and 00 pass mod 97 like 02 and 97 would, but ISO 13616 never issues them.
        check("GB99 NWBK 6016 1331 9268 19", Err("checksum does not match"));
        check("US12 3456 7890", Err("US does not use IBAN"));
        check("XX89 3704 0044 0532 0130 00", Err("not start with a known IBAN country code"));
        check("UK29 NWBK 6016 1331 9268 19", Err("not start with a known IBAN country code"));
        check("1234 5678 9012 3456", Err("does not start with a country code"));
        check("F176 3000 6000 0112 3456 7890 189", Err("does not start with a country code"));
        check("FRAB 3000 6000 0112 3456 7890 189", Err("two check digits after FR"));
        check("FR76-3000-6000-0112-3456-7890-189", Err("letters, digits and spaces"));
        check("FR76.3000.6000", Err("letters, digits and spaces"));
        check("FR76 3000 6000 0112 3456 7890 18é", Err("letters, digits and spaces"));
        check("FR76 ３０００ 6000", Err("letters, digits and spaces"));
        check("ÉÉÉÉÉÉÉÉ", Err("letters, digits and spaces"));
        check("IBAN: FR76 3000", Err("letters, digits and spaces"));
        check(&"FR76".repeat(10_000), Err("…"));
    }

    #[test]
    fn every_altered_digit_breaks_the_checksum() {
        let good = "DE89370400440532013000";
        for i in 2..good.len() {
            let mut altered = good.as_bytes().to_vec();
            altered[i] = if altered[i] == b'9' {
                b'0'
            } else {
                altered[i] + 1
            };
            let altered = String::from_utf8(altered).unwrap();
            assert!(iban("iban", &altered).is_err(), "{altered}");
        }
    }

    #[test]
    fn length_table_is_sorted_and_in_range() {
        assert!(IBAN_LENGTHS.windows(2).all(|w| w[0].0 < w[1].0));
        assert!(IBAN_LENGTHS.iter().all(|(_, n)| (15..=34).contains(n)));
        // Every IBAN country but Kosovo has an officially assigned ISO code.
        for (code, _) in IBAN_LENGTHS {
            assert_eq!(
                super::super::country::is_country(code),
                code != "XK",
                "{code}"
            );
        }
    }

    #[test]
    #[rustfmt::skip]
    fn good_bics() {
        check_bic("BNPAFRPP", Ok("BNPAFRPP"));
        check_bic("bnpafrpp", Ok("BNPAFRPP"));
        check_bic("BNPAFRPPXXX", Ok("BNPAFRPPXXX"));
        check_bic(" BNPA FR PP XXX ", Ok("BNPAFRPPXXX"));
        check_bic("DEUTDEFF", Ok("DEUTDEFF"));
        check_bic("DEUTDEFF500", Ok("DEUTDEFF500"));
        check_bic("NWBKGB2L", Ok("NWBKGB2L"));
        check_bic("COBADEHD055", Ok("COBADEHD055"));
        check_bic("UBSWCHZH80A", Ok("UBSWCHZH80A"));
        check_bic("GEBABEBB", Ok("GEBABEBB"));
        check_bic("BSCHESMM", Ok("BSCHESMM"));
        check_bic("AGRIFRPP882", Ok("AGRIFRPP882"));
        check_bic("CHASUS33", Ok("CHASUS33"));
        check_bic("DEUTDEF0", Ok("DEUTDEF0"));
    }

    #[test]
    #[rustfmt::skip]
    fn bad_bics() {
        check_bic("", Err("BIC is empty"));
        check_bic("  ", Err("empty"));
        check_bic("BNPAFRP", Err("\"BNPAFRP\" has 7 characters but a BIC has 8 or 11"));
        check_bic("BNPAFRPPX", Err("has 9 characters"));
        check_bic("BNPAFRPPXX", Err("has 10 characters"));
        check_bic("BNPAFRPPXXXX", Err("has 12 characters"));
        check_bic("BNP1FRPP", Err("4 letters for the bank"));
        check_bic("1234FRPP", Err("4 letters for the bank"));
        check_bic("BNPAXXPP", Err("\"XX\" (5th and 6th characters) is not an ISO 3166 country code"));
        check_bic("BNPAUKPP", Err("\"UK\""));
        check_bic("BNPA12PP", Err("not an ISO 3166 country code"));
        check_bic("BNPA-FR-PP", Err("letters and digits"));
        check_bic("BNPAFRPÉ", Err("letters and digits"));
        check_bic("ÉÉÉÉÉÉÉÉ", Err("letters and digits"));
        check_bic(&"B".repeat(10_000), Err("10000 characters"));
    }
}
