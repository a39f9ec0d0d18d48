//! Calendar dates, ISO 8601 `YYYY-MM-DD` only.

use time::Month;

use super::{quoted, FieldError};

/// Checks a calendar date written `YYYY-MM-DD` (years 1000 to 9999) that exists in the Gregorian
/// calendar; surrounding whitespace is ignored. Returns the date in that same form.
pub fn date(field: &str, input: &str) -> Result<String, FieldError> {
    let error = |reason: String| Err(FieldError::new(field, reason));
    let trimmed = input.trim();
    if trimmed.is_empty() {
        return error("date is empty: expected YYYY-MM-DD".to_string());
    }
    let Some((year, month, day)) = split(trimmed) else {
        return error(format!(
            "{} is not a date in the form YYYY-MM-DD (e.g. 2024-03-31)",
            quoted(trimmed)
        ));
    };
    if year < 1000 {
        return error(format!(
            "{} has a year before 1000: expected YYYY-MM-DD",
            quoted(trimmed)
        ));
    }
    let Ok(month_name) = Month::try_from(month) else {
        return error(format!(
            "{} has no month {month:02}: months go from 01 to 12",
            quoted(trimmed)
        ));
    };
    let last_day = month_name.length(i32::from(year));
    if day == 0 || day > last_day {
        return error(format!(
            "{} is not a real date: {month_name} {year} has {last_day} days",
            quoted(trimmed)
        ));
    }
    Ok(format!("{year:04}-{month:02}-{day:02}"))
}

/// Splits `YYYY-MM-DD` into its numbers; `None` when the text has any other shape.
fn split(text: &str) -> Option<(u16, u8, u8)> {
    let bytes = text.as_bytes();
    if bytes.len() != 10 || bytes[4] != b'-' || bytes[7] != b'-' {
        return None;
    }
    let number = |range: std::ops::Range<usize>| -> Option<u16> {
        bytes[range].iter().try_fold(0u16, |acc, &b| {
            b.is_ascii_digit().then(|| acc * 10 + u16::from(b - b'0'))
        })
    };
    let year = number(0..4)?;
    let month = u8::try_from(number(5..7)?).ok()?;
    let day = u8::try_from(number(8..10)?).ok()?;
    Some((year, month, day))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check(input: &str, expected: Result<&str, &str>) {
        let got = date("person.birth_date", input);
        super::super::assert_validates("person.birth_date", &got, input, expected);
    }

    #[test]
    #[rustfmt::skip]
    fn table() {
        check("2024-03-31", Ok("2024-03-31"));
        check(" 2024-03-31\n", Ok("2024-03-31"));
        check("1000-01-01", Ok("1000-01-01"));
        check("9999-12-31", Ok("9999-12-31"));
        check("1970-01-01", Ok("1970-01-01"));
        check("2024-02-29", Ok("2024-02-29"));
        check("2000-02-29", Ok("2000-02-29"));
        check("2023-04-30", Ok("2023-04-30"));
        check("1999-12-31", Ok("1999-12-31"));

        check("", Err("empty"));
        check("   ", Err("empty"));
        check("2023-02-29", Err("February 2023 has 28 days"));
        check("1900-02-29", Err("February 1900 has 28 days"));
        check("2024-02-30", Err("February 2024 has 29 days"));
        check("2023-04-31", Err("April 2023 has 30 days"));
        check("2023-01-32", Err("not a real date"));
        check("2023-01-00", Err("not a real date"));
        check("2023-13-01", Err("no month 13"));
        check("2023-00-10", Err("no month 00"));
        check("0999-12-31", Err("year before 1000"));
        check("0000-01-01", Err("year before 1000"));
        check("12/03/2024", Err("\"12/03/2024\" is not a date in the form YYYY-MM-DD"));
        check("31-03-2024", Err("YYYY-MM-DD"));
        check("2024-3-31", Err("YYYY-MM-DD"));
        check("2024-03-1", Err("YYYY-MM-DD"));
        check("24-03-31", Err("YYYY-MM-DD"));
        check("20240331", Err("YYYY-MM-DD"));
        check("2024/03/31", Err("YYYY-MM-DD"));
        check("2024-03-31T00:00", Err("YYYY-MM-DD"));
        check("12024-03-31", Err("YYYY-MM-DD"));
        check("-2024-03-31", Err("YYYY-MM-DD"));
        check("+024-03-31", Err("YYYY-MM-DD"));
        check("2024-03-3a", Err("YYYY-MM-DD"));
        check("2024 03 31", Err("YYYY-MM-DD"));
        check("２０２４-03-31", Err("YYYY-MM-DD"));
        check("2024-0é-31", Err("YYYY-MM-DD"));
        check("2024-é-31", Err("YYYY-MM-DD"));
        check("€€€-03-31", Err("YYYY-MM-DD"));
        check("aujourd'hui", Err("YYYY-MM-DD"));
        check(&"9".repeat(10_000), Err("…"));
    }

    #[test]
    fn every_day_of_a_leap_year_round_trips() {
        let mut count = 0;
        for month in 1..=12u8 {
            for day in 1..=31u8 {
                let text = format!("2024-{month:02}-{day:02}");
                let real =
                    time::Date::from_calendar_date(2024, Month::try_from(month).unwrap(), day)
                        .is_ok();
                assert_eq!(date("d", &text).is_ok(), real, "{text}");
                count += usize::from(real);
            }
        }
        assert_eq!(count, 366);
    }
}
