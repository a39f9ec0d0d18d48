//! ISO 3166-1 alpha-2 country codes.

use super::{quoted, FieldError};

/// The 249 officially assigned ISO 3166-1 alpha-2 codes, sorted, so that lookups can use a binary
/// search. Exceptionally or transitionally reserved codes (`UK`, `EL`, `EU`, `AC`, `XK`…) are not
/// in it.
const CODES: [&str; 249] = [
    "AD", "AE", "AF", "AG", "AI", "AL", "AM", "AO", "AQ", "AR", "AS", "AT", "AU", "AW", "AX", "AZ",
    "BA", "BB", "BD", "BE", "BF", "BG", "BH", "BI", "BJ", "BL", "BM", "BN", "BO", "BQ", "BR", "BS",
    "BT", "BV", "BW", "BY", "BZ", "CA", "CC", "CD", "CF", "CG", "CH", "CI", "CK", "CL", "CM", "CN",
    "CO", "CR", "CU", "CV", "CW", "CX", "CY", "CZ", "DE", "DJ", "DK", "DM", "DO", "DZ", "EC", "EE",
    "EG", "EH", "ER", "ES", "ET", "FI", "FJ", "FK", "FM", "FO", "FR", "GA", "GB", "GD", "GE", "GF",
    "GG", "GH", "GI", "GL", "GM", "GN", "GP", "GQ", "GR", "GS", "GT", "GU", "GW", "GY", "HK", "HM",
    "HN", "HR", "HT", "HU", "ID", "IE", "IL", "IM", "IN", "IO", "IQ", "IR", "IS", "IT", "JE", "JM",
    "JO", "JP", "KE", "KG", "KH", "KI", "KM", "KN", "KP", "KR", "KW", "KY", "KZ", "LA", "LB", "LC",
    "LI", "LK", "LR", "LS", "LT", "LU", "LV", "LY", "MA", "MC", "MD", "ME", "MF", "MG", "MH", "MK",
    "ML", "MM", "MN", "MO", "MP", "MQ", "MR", "MS", "MT", "MU", "MV", "MW", "MX", "MY", "MZ", "NA",
    "NC", "NE", "NF", "NG", "NI", "NL", "NO", "NP", "NR", "NU", "NZ", "OM", "PA", "PE", "PF", "PG",
    "PH", "PK", "PL", "PM", "PN", "PR", "PS", "PT", "PW", "PY", "QA", "RE", "RO", "RS", "RU", "RW",
    "SA", "SB", "SC", "SD", "SE", "SG", "SH", "SI", "SJ", "SK", "SL", "SM", "SN", "SO", "SR", "SS",
    "ST", "SV", "SX", "SY", "SZ", "TC", "TD", "TF", "TG", "TH", "TJ", "TK", "TL", "TM", "TN", "TO",
    "TR", "TT", "TV", "TW", "TZ", "UA", "UG", "UM", "US", "UY", "UZ", "VA", "VC", "VE", "VG", "VI",
    "VN", "VU", "WF", "WS", "YE", "YT", "ZA", "ZM", "ZW",
];

/// Codes people often type that are not ISO 3166-1, with the code they mean.
const LOOKALIKES: [(&str, &str); 2] = [("UK", "GB"), ("EL", "GR")];

/// Whether `code` is an officially assigned ISO 3166-1 alpha-2 code. Exact match: uppercase only.
pub fn is_country(code: &str) -> bool {
    CODES.binary_search(&code).is_ok()
}

/// Checks a country code: surrounding whitespace is ignored and any case is accepted; returns the
/// uppercase ISO 3166-1 alpha-2 code.
pub fn country(field: &str, input: &str) -> Result<String, FieldError> {
    let error = |reason: String| Err(FieldError::new(field, reason));
    let trimmed = input.trim();
    if trimmed.is_empty() {
        return error("country code is empty".to_string());
    }
    if trimmed.chars().count() != 2 || !trimmed.chars().all(|c| c.is_ascii_alphabetic()) {
        return error(format!(
            "{} is not a two-letter ISO 3166 country code",
            quoted(trimmed)
        ));
    }
    let code = trimmed.to_ascii_uppercase();
    if is_country(&code) {
        return Ok(code);
    }
    if let Some((_, meant)) = LOOKALIKES.iter().find(|(typed, _)| *typed == code) {
        return error(format!(
            "{} is not an ISO 3166 country code: use \"{meant}\"",
            quoted(trimmed)
        ));
    }
    error(format!(
        "{} is not an ISO 3166 country code",
        quoted(trimmed)
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check(input: &str, expected: Result<&str, &str>) {
        let got = country("address.country", input);
        super::super::assert_validates("address.country", &got, input, expected);
    }

    #[test]
    #[rustfmt::skip]
    fn table() {
        check("FR", Ok("FR"));
        check("fr", Ok("FR"));
        check("Fr", Ok("FR"));
        check("  de\t", Ok("DE"));
        check("GB", Ok("GB"));
        check("gr", Ok("GR"));
        check("ch", Ok("CH"));
        check("US", Ok("US"));
        check("AX", Ok("AX"));
        check("ZW", Ok("ZW"));
        check("AD", Ok("AD"));
        check("ss", Ok("SS"));
        check("BQ", Ok("BQ"));

        check("", Err("empty"));
        check("   ", Err("empty"));
        check("XX", Err("\"XX\" is not an ISO 3166 country code"));
        check("xx", Err("\"xx\" is not an ISO 3166 country code"));
        check("UK", Err("use \"GB\""));
        check("uk", Err("use \"GB\""));
        check("EL", Err("use \"GR\""));
        check("EU", Err("not an ISO 3166 country code"));
        check("XK", Err("not an ISO 3166 country code"));
        check("AC", Err("not an ISO 3166 country code"));
        check("F", Err("two-letter"));
        check("FRA", Err("\"FRA\" is not a two-letter"));
        check("France", Err("two-letter"));
        check("F1", Err("two-letter"));
        check("12", Err("two-letter"));
        check("F R", Err("two-letter"));
        check("Fé", Err("two-letter"));
        check("ÉÉ", Err("two-letter"));
        check("🇫🇷", Err("two-letter"));
        check(&"A".repeat(10_000), Err("…"));
    }

    #[test]
    fn table_is_sorted_complete_and_uppercase() {
        assert_eq!(CODES.len(), 249);
        assert!(CODES.windows(2).all(|w| w[0] < w[1]));
        assert!(CODES
            .iter()
            .all(|c| c.len() == 2 && c.bytes().all(|b| b.is_ascii_uppercase())));
        for (typed, meant) in LOOKALIKES {
            assert!(!is_country(typed));
            assert!(is_country(meant));
        }
    }

    #[test]
    fn is_country_is_exact() {
        assert!(is_country("FR"));
        assert!(!is_country("fr"));
        assert!(!is_country(" FR"));
        assert!(!is_country(""));
        assert!(!is_country("FRA"));
    }
}
