//! Phone numbers, stored in E.164 form (`+33612345678`).

use std::str::FromStr;

use phonenumber::{country, metadata::DATABASE, Mode, ParseError};

use super::{quoted, FieldError};

/// E.164 allows at most 15 digits, country code included.
const MAX_DIGITS: usize = 15;
/// Fewer digits than this is never a full number, whatever the country.
const MIN_DIGITS: usize = 5;
/// Input longer than this (in characters) is refused before it is read further.
const MAX_INPUT: usize = 64;

/// Checks a phone number and returns it in E.164 form.
///
/// A number that starts with `+` or with the `00` international prefix carries its own country
/// code; any other is read as a national number of `default_region` (ISO 3166 alpha-2, e.g.
/// "FR"). Spaces, dots, dashes, slashes and parentheses between the digits are ignored, so that
/// `06 12 34 56 78`, `+33 (0)6.12.34.56.78` and `0033 6 12 34 56 78` are the same number.
pub fn phone(field: &str, input: &str, default_region: &str) -> Result<String, FieldError> {
    let error = |reason: String| Err(FieldError::new(field, reason));
    let region_code = default_region.trim().to_ascii_uppercase();
    let Some(region) = region(&region_code) else {
        return error(format!(
            "default region {} is not a country known to the phone number rules",
            quoted(default_region)
        ));
    };

    let trimmed = input.trim();
    if trimmed.is_empty() {
        return error("phone number is empty".to_string());
    }
    let shown = quoted(trimmed);
    if trimmed.chars().count() > MAX_INPUT {
        return error(format!("{shown} is too long for a phone number"));
    }
    let Some(compact) = compact(trimmed) else {
        return error(format!(
            "{shown} may only hold digits, a leading +, spaces, dots, dashes and parentheses"
        ));
    };
    let digits = compact.trim_start_matches('+').len();
    if digits < MIN_DIGITS {
        return error(format!("{shown} is too short for a phone number"));
    }
    if digits > MAX_DIGITS + 1 {
        // One digit of slack for a national trunk prefix such as the French 0 in "+33 (0)6…".
        return error(format!("{shown} is too long for a phone number"));
    }

    let international = compact.starts_with('+');
    // With a `+` the number names its own country. The region is then left out on purpose:
    // given one, the library strips that region's trunk prefix from any country's number and
    // loses the leading zero of Italian landlines (+39 06…).
    let parse_region = if international { None } else { Some(region) };
    let number = match phonenumber::parse(parse_region, &compact) {
        Ok(number) => number,
        Err(ParseError::InvalidCountryCode) => {
            return error(format!(
                "{shown} does not start with a known country calling code"
            ))
        }
        Err(ParseError::TooLong) => {
            return error(format!("{shown} is too long for a phone number"))
        }
        Err(ParseError::NoNumber | ParseError::TooShortAfterIdd | ParseError::TooShortNsn) => {
            return error(format!("{shown} is too short for a phone number"))
        }
        Err(_) => return error(format!("{shown} is not a phone number")),
    };
    if !phonenumber::is_valid(&number) {
        return error(if international {
            format!("{shown} is not a valid phone number")
        } else {
            let hint = "for another country, start with + and its code";
            format!("{shown} is not a valid {region_code} phone number: {hint}")
        });
    }
    let e164 = number.format().mode(Mode::E164).to_string();
    if e164.len() > MAX_DIGITS + 1 {
        // Some national plans allow long numbers that E.164 cannot hold with the country code.
        return error(format!("{shown} is too long for a phone number"));
    }
    // The library strips what looks like a trunk prefix after the country code, so that
    // "+33 (0)6…" works; on a number with too many digits that can leave a different valid
    // number. Only accept a result that reads back as itself.
    let stable = phonenumber::parse(None, &e164).is_ok_and(|again| {
        phonenumber::is_valid(&again) && again.format().mode(Mode::E164).to_string() == e164
    });
    if !stable {
        return error(format!("{shown} is not a valid phone number"));
    }
    Ok(e164)
}

/// The phone metadata region for an uppercase ISO code, if the library knows it.
fn region(code: &str) -> Option<country::Id> {
    let id = country::Id::from_str(code).ok()?;
    // `parse` assumes the metadata of a region it is given exists: make sure it does.
    DATABASE.by_id(id.as_ref()).map(|_| id)
}

/// Drops the separators people write between digits and turns a leading `00` into `+`.
/// `None` when something else than digits and separators is there, or a `+` not in front.
fn compact(text: &str) -> Option<String> {
    let mut out = String::with_capacity(text.len());
    for (i, c) in text.chars().enumerate() {
        match c {
            '0'..='9' => out.push(c),
            '+' if i == 0 => out.push(c),
            '.' | '-' | '/' | '(' | ')' => {}
            c if c.is_whitespace() => {}
            _ => return None,
        }
    }
    if let Some(rest) = out.strip_prefix("00") {
        out = format!("+{rest}");
    }
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check(input: &str, expected: Result<&str, &str>) {
        check_in("FR", input, expected);
    }

    fn check_in(region: &str, input: &str, expected: Result<&str, &str>) {
        let got = phone("phones.mobile", input, region);
        super::super::assert_validates(
            "phones.mobile",
            &got,
            &format!("{input} in {region}"),
            expected,
        );
    }

    #[test]
    #[rustfmt::skip]
    fn good_numbers() {
        check("06 12 34 56 78", Ok("+33612345678"));
        check("0612345678", Ok("+33612345678"));
        check("06.12.34.56.78", Ok("+33612345678"));
        check("06-12-34-56-78", Ok("+33612345678"));
        check("  06 12 34 56 78 ", Ok("+33612345678"));
        check("06\u{a0}12\u{202f}34 56 78", Ok("+33612345678"));
        check("+33 6 12 34 56 78", Ok("+33612345678"));
        check("+33612345678", Ok("+33612345678"));
        check("+33 (0)6 12 34 56 78", Ok("+33612345678"));
        check("0033 6 12 34 56 78", Ok("+33612345678"));
        check("(0)1 42 68 53 00", Ok("+33142685300"));
        check("01 42 68 53 00", Ok("+33142685300"));
        check("+49 30 12345678", Ok("+493012345678"));
        check("0049 (30) 1234-5678", Ok("+493012345678"));
        check("+44 20 7946 0958", Ok("+442079460958"));
        check("+32 2 555 12 12", Ok("+3225551212"));
        check("+41 44 668 18 00", Ok("+41446681800"));
        check("+39 06 6982 1234", Ok("+390669821234"));
        check("+1 (212) 555-0123", Ok("+12125550123"));
        check("+7 8 912 345-67-89", Ok("+79123456789"));
        check("+7 912 345-67-89", Ok("+79123456789"));
        // Leading zeros that belong to the number, not a trunk prefix, are kept.
        check_in("IT", "06 6982 1234", Ok("+390669821234"));
        check("+225 07 01 23 45 67", Ok("+2250701234567"));
        check_in("DE", "030 12345678", Ok("+493012345678"));
        check_in("DE", "030/12345678", Ok("+493012345678"));
        check_in("GB", "020 7946 0958", Ok("+442079460958"));
        check_in("US", "(212) 555-0123", Ok("+12125550123"));
        check_in("BE", "0470 12 34 56", Ok("+32470123456"));
        check_in("fr", "06 12 34 56 78", Ok("+33612345678"));
        check_in(" FR ", "06 12 34 56 78", Ok("+33612345678"));
        // A number with its own country code ignores the default region.
        check_in("US", "+33 6 12 34 56 78", Ok("+33612345678"));
    }

    #[test]
    #[rustfmt::skip]
    fn bad_numbers() {
        check("", Err("phone number is empty"));
        check("   ", Err("empty"));
        check("+40 7", Err("\"+40 7\" is too short for a phone number"));
        check("06", Err("too short"));
        check("0612", Err("too short"));
        check("+", Err("too short"));
        check("00", Err("too short"));
        check("06 12 34 56 7", Err("not a valid FR phone number"));
        check("06 12 34 56 789", Err("not a valid FR phone number"));
        check("+33 6 12 34 56 7", Err("not a valid phone number"));
        check("+33 0 12 34 56 78", Err("not a valid phone number"));
        // Read as +7 878 976 61 61 once "88" is taken for a trunk prefix: refused, not changed.
        check("+7 888 789 76 61 61", Err("not a valid phone number"));
        check("+999 123 456 789", Err("known country calling code"));
        check("+0 612345678", Err("known country calling code"));
        check("0612345678901234567", Err("too long"));
        check("+33 6 12 34 56 78 90 12 34 56", Err("too long"));
        check(&"6".repeat(10_000), Err("too long"));
        check_in("DE", "215868607104598", Err("too long"));
        check("06 12 34 56 78 ext. 12", Err("may only hold digits"));
        check("06 12 AB 56 78", Err("may only hold digits"));
        check("1-800-FLOWERS", Err("may only hold digits"));
        check("06 12 34 56 78 +", Err("may only hold digits"));
        check("+33 +6 12 34 56 78", Err("may only hold digits"));
        check("06,12,34,56,78", Err("may only hold digits"));
        check("٠٦١٢٣٤٥٦٧٨", Err("may only hold digits"));
        check("０６１２３４５６７８", Err("may only hold digits"));
        check("☎ 06 12 34 56 78", Err("may only hold digits"));
        check("tél", Err("may only hold digits"));
        check("--..()", Err("too short"));
    }

    #[test]
    #[rustfmt::skip]
    fn bad_default_region() {
        check_in("XX", "06 12 34 56 78", Err("default region \"XX\" is not a country"));
        check_in("", "06 12 34 56 78", Err("default region \"\""));
        check_in("FRA", "06 12 34 56 78", Err("default region \"FRA\""));
        check_in("é", "06 12 34 56 78", Err("default region \"é\""));
        check_in("XX", "+33 6 12 34 56 78", Err("default region"));
    }
}
