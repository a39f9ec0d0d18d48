//! Email addresses: the RFC 5322 `addr-spec`, with a domain that can receive mail on the Internet.

use super::{quoted, FieldError};

/// Most bytes in a whole address (RFC 5321 path limit, less the angle brackets).
const MAX_ADDRESS: usize = 254;
/// Most bytes in the local part, before the `@` (RFC 5321).
const MAX_LOCAL: usize = 64;
/// Most bytes in the domain (RFC 5321).
const MAX_DOMAIN: usize = 255;
/// Most bytes in one label of the domain (RFC 1035).
const MAX_LABEL: usize = 63;

/// Checks an email address: a dot-atom or quoted local part, `@`, and a domain name of at least
/// two labels. Surrounding whitespace is ignored. Returns the local part as typed and the domain in
/// lowercase.
pub fn email(field: &str, input: &str) -> Result<String, FieldError> {
    let error = |reason: String| Err(FieldError::new(field, reason));
    let address = input.trim();
    if address.is_empty() {
        return error("email address is empty".to_string());
    }
    let shown = quoted(address);
    if address.len() > MAX_ADDRESS {
        return error(format!(
            "{shown} is too long for an email address (at most {MAX_ADDRESS} characters)"
        ));
    }
    // The domain cannot hold an `@`, a quoted local part can: split at the last one.
    let Some((local, domain)) = address.rsplit_once('@') else {
        return error(format!(
            "{shown} has no \"@\": an email address looks like name@example.com"
        ));
    };
    if local.is_empty() {
        return error(format!("{shown} has nothing before the \"@\""));
    }
    if domain.is_empty() {
        return error(format!("{shown} has no domain after the \"@\""));
    }
    if local.len() > MAX_LOCAL {
        return error(format!(
            "{shown} has more than {MAX_LOCAL} characters before the \"@\""
        ));
    }
    if let Err(problem) = check_local(local) {
        return error(format!("{shown} is not a valid email address: {problem}"));
    }
    if domain.len() > MAX_DOMAIN {
        return error(format!("{shown} has a domain that is too long"));
    }
    if let Err(problem) = check_domain(domain) {
        return error(format!("{shown} is not a valid email address: {problem}"));
    }
    Ok(format!("{local}@{}", domain.to_ascii_lowercase()))
}

/// `atext` of RFC 5322: the characters a dot-atom may hold besides dots.
fn is_atext(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b"!#$%&'*+-/=?^_`{|}~".contains(&b)
}

/// Checks the part before the `@`: a dot-atom (`jean.dupont`) or a quoted string
/// (`"jean dupont"`).
fn check_local(local: &str) -> Result<(), &'static str> {
    if !local.is_ascii() {
        return Err("accented or non-Latin letters are not allowed before the \"@\"");
    }
    let bytes = local.as_bytes();
    if bytes.first() == Some(&b'"') {
        return check_quoted(bytes);
    }
    if bytes.first() == Some(&b'.') || bytes.last() == Some(&b'.') {
        return Err("the part before the \"@\" cannot start or end with a dot");
    }
    if local.contains("..") {
        return Err("the part before the \"@\" has two dots in a row");
    }
    if bytes.iter().any(|&b| b != b'.' && !is_atext(b)) {
        return Err("the part before the \"@\" holds a character that needs quoting");
    }
    Ok(())
}

/// Checks a quoted local part, the opening quote included: printable characters and spaces,
/// with `"` and `\` escaped by a backslash.
fn check_quoted(bytes: &[u8]) -> Result<(), &'static str> {
    let unclosed = "the quoted part before the \"@\" is not closed";
    let mut rest = bytes.iter().skip(1);
    while let Some(&b) = rest.next() {
        match b {
            b'"' => {
                return if rest.next().is_none() {
                    Ok(())
                } else {
                    Err("the part before the \"@\" has text after its closing quote")
                };
            }
            b'\\' => match rest.next() {
                Some(&escaped)
                    if escaped == b' ' || escaped == b'\t' || escaped.is_ascii_graphic() => {}
                Some(_) => return Err("the part before the \"@\" escapes a control character"),
                None => return Err(unclosed),
            },
            b' ' | b'\t' => {}
            _ if b.is_ascii_graphic() => {}
            _ => return Err("the part before the \"@\" holds a control character"),
        }
    }
    Err(unclosed)
}

/// Checks the part after the `@`: dot-separated labels of letters, digits and hyphens.
fn check_domain(domain: &str) -> Result<(), &'static str> {
    if domain.starts_with('[') {
        return Err("an IP address in brackets is not accepted as a domain");
    }
    if !domain.is_ascii() {
        return Err("the domain holds accented or non-Latin letters: write it in its xn-- form");
    }
    if !domain.contains('.') {
        return Err("the domain needs a dot, as in example.com");
    }
    let labels: Vec<&str> = domain.split('.').collect();
    for label in &labels {
        if label.is_empty() {
            return Err("the domain has an empty part (two dots in a row, or a dot at an end)");
        }
        if label.len() > MAX_LABEL {
            return Err("a part of the domain is longer than 63 characters");
        }
        if !label
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-')
        {
            return Err("the domain may only hold letters, digits, hyphens and dots");
        }
        if label.starts_with('-') || label.ends_with('-') {
            return Err("a part of the domain starts or ends with a hyphen");
        }
    }
    if labels
        .last()
        .is_some_and(|tld| tld.bytes().all(|b| b.is_ascii_digit()))
    {
        return Err("the domain ends in digits, not a name such as .com or .fr");
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check(input: &str, expected: Result<&str, &str>) {
        let got = email("emails.work", input);
        super::super::assert_validates("emails.work", &got, input, expected);
    }

    #[test]
    #[rustfmt::skip]
    fn good_addresses() {
        check("jean.dupont@example.com", Ok("jean.dupont@example.com"));
        check("  jean.dupont@example.com \n", Ok("jean.dupont@example.com"));
        check("Jean.Dupont@Example.COM", Ok("Jean.Dupont@example.com"));
        check("a@b.co", Ok("a@b.co"));
        check("x@mail.example.fr", Ok("x@mail.example.fr"));
        check("user+tag@example.org", Ok("user+tag@example.org"));
        check("o'brien@example.ie", Ok("o'brien@example.ie"));
        check("!#$%&'*+-/=?^_`{|}~@example.com", Ok("!#$%&'*+-/=?^_`{|}~@example.com"));
        check("first_last-2@sub-domain.example.com", Ok("first_last-2@sub-domain.example.com"));
        check("1234@123.example", Ok("1234@123.example"));
        check("x@3com.com", Ok("x@3com.com"));
        check("x@xn--bcher-kva.example", Ok("x@xn--bcher-kva.example"));
        check("x@example.xn--p1ai", Ok("x@example.xn--p1ai"));
        check("x@a-b.c-d.fr", Ok("x@a-b.c-d.fr"));
        check("\"jean dupont\"@example.com", Ok("\"jean dupont\"@example.com"));
        check("\"a@b\"@example.com", Ok("\"a@b\"@example.com"));
        check("\"a\\\"b\"@example.com", Ok("\"a\\\"b\"@example.com"));
        check("\"a\\\\b\"@example.com", Ok("\"a\\\\b\"@example.com"));
        check("\"..\"@example.com", Ok("\"..\"@example.com"));
        check("\"\"@example.com", Ok("\"\"@example.com"));
        let local64 = "a".repeat(64);
        check(&format!("{local64}@example.com"), Ok(&format!("{local64}@example.com")));
        let label63 = "d".repeat(63);
        check(&format!("x@{label63}.com"), Ok(&format!("x@{label63}.com")));
        // 254 bytes in all: "x@", three labels of 63 and their dots, then 60.
        let long_domain = format!("{0}.{0}.{0}.{1}", "d".repeat(63), "e".repeat(60));
        let at_limit = format!("x@{long_domain}");
        assert_eq!(at_limit.len(), 254);
        check(&at_limit, Ok(&at_limit));
    }

    #[test]
    #[rustfmt::skip]
    fn bad_addresses() {
        check("", Err("empty"));
        check("  \t ", Err("empty"));
        check("jean.dupont", Err("has no \"@\""));
        check("jean.dupont.example.com", Err("\"jean.dupont.example.com\" has no \"@\""));
        check("@example.com", Err("nothing before the \"@\""));
        check("jean@", Err("no domain after"));
        check("jean@@example.com", Err("character that needs quoting"));
        check("a@b@example.com", Err("character that needs quoting"));
        check("jean dupont@example.com", Err("character that needs quoting"));
        check("jean,dupont@example.com", Err("character that needs quoting"));
        check("jean(x)@example.com", Err("character that needs quoting"));
        check("<jean@example.com>", Err("not a valid email address"));
        check("Jean <jean@example.com>", Err("not a valid email address"));
        check(".jean@example.com", Err("cannot start or end with a dot"));
        check("jean.@example.com", Err("cannot start or end with a dot"));
        check("jean..dupont@example.com", Err("two dots in a row"));
        check("\"jean@example.com", Err("not closed"));
        check("\"jean\"x@example.com", Err("text after its closing quote"));
        check("\"jean\\\"@example.com", Err("not closed"));
        check("\"a\u{7}b\"@example.com", Err("control character"));
        check("jéan@example.com", Err("accented"));
        check("jean@exämple.com", Err("xn--"));
        check("用户@例子.广告", Err("accented"));
        check("jean@localhost", Err("needs a dot"));
        check("jean@example", Err("needs a dot"));
        check("jean@example.", Err("empty part"));
        check("jean@.example.com", Err("empty part"));
        check("jean@example..com", Err("empty part"));
        check("jean@-example.com", Err("hyphen"));
        check("jean@example-.com", Err("hyphen"));
        check("jean@example.-com", Err("hyphen"));
        check("jean@exa_mple.com", Err("letters, digits, hyphens and dots"));
        check("jean@exa mple.com", Err("letters, digits, hyphens and dots"));
        check("jean@example.com>", Err("letters, digits, hyphens and dots"));
        check("jean@192.168.0.1", Err("ends in digits"));
        check("jean@example.123", Err("ends in digits"));
        check("jean@[192.168.0.1]", Err("IP address"));
        check(&format!("{}@example.com", "a".repeat(65)), Err("more than 64 characters"));
        check(&format!("x@{}.com", "d".repeat(64)), Err("longer than 63"));
        let too_long = format!("x@{0}.{0}.{0}.{1}", "d".repeat(63), "e".repeat(61));
        assert_eq!(too_long.len(), 255);
        check(&too_long, Err("too long"));
        check(&"a".repeat(100_000), Err("too long"));
        check(&"é".repeat(1000), Err("…"));
    }
}
