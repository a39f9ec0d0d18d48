//! vCard (RFC 6350): one client out as a vCard 4.0, clients in from vCard 3.0 or 4.0 files.
//!
//! Export writes CRLF line endings, escapes `\`, `,`, `;` and newlines in text values, and
//! folds lines at 75 octets without splitting a UTF-8 character. Import unfolds, reads every
//! card of a file on its own (a broken card is reported, the others still read) and gives raw,
//! unvalidated [`Client`] values: validation is the import step's job.

use crate::id::DocumentId;
use crate::model::{new_key, Address, Client, Email, Phone, Site};

use super::Parsed;

/// Client types written as `KIND:org`; every other type is `KIND:individual`.
const ORG_TYPES: [&str; 3] = ["company", "school", "association"];

/// The longest line, in octets, before it is folded (RFC 6350 §3.2).
const FOLD_AT: usize = 75;

// ----- export ------------------------------------------------------------------------------------

/// One client as a vCard 4.0, with CRLF line endings.
pub fn export(client: &Client, id: &DocumentId) -> String {
    let mut out = String::new();
    let mut put = |line: String| fold_into(&mut out, &line);
    put("BEGIN:VCARD".into());
    put("VERSION:4.0".into());
    put(format!("FN:{}", escape(&client.display_name())));
    let name = &client.name;
    if !name.first.trim().is_empty() || !name.last.trim().is_empty() {
        put(format!(
            "N:{};{};;;",
            escape(&name.last),
            escape(&name.first)
        ));
    }
    let kind = if ORG_TYPES.contains(&client.client_type.trim().to_lowercase().as_str()) {
        "org"
    } else {
        "individual"
    };
    put(format!("KIND:{kind}"));
    if !client.invoice.company_name.trim().is_empty() {
        put(format!("ORG:{}", escape(&client.invoice.company_name)));
    }
    for phone in client.phones.values() {
        if phone.number.trim().is_empty() {
            continue;
        }
        // A tel: URI has no spaces; `-` is its visual separator (RFC 3966).
        let number: String = phone
            .number
            .trim()
            .chars()
            .map(|c| if c.is_whitespace() { '-' } else { c })
            .collect();
        put(format!(
            "TEL;VALUE=uri;TYPE={}:tel:{number}",
            tel_type(&phone.label)
        ));
    }
    for email in client.emails.values() {
        if email.address.trim().is_empty() {
            continue;
        }
        let params = match email_type(&email.label) {
            Some(t) => format!(";TYPE={t}"),
            None => String::new(),
        };
        put(format!("EMAIL{params}:{}", escape(email.address.trim())));
    }
    if !client.address.is_empty() {
        let a = &client.address;
        put(format!(
            "ADR;TYPE=work:;;{};{};{};{};{}",
            escape(&a.street),
            escape(&a.city),
            escape(&a.region),
            escape(&a.postal_code),
            escape(&a.country)
        ));
    }
    if let Some(day) = client.birthday.as_deref().map(str::trim) {
        if !day.is_empty() {
            match basic_date(day) {
                Some(d) => put(format!("BDAY:{d}")),
                None => put(format!("BDAY;VALUE=text:{}", escape(day))),
            }
        }
    }
    if !client.groups.is_empty() {
        let groups: Vec<String> = client.groups.iter().map(|g| escape(g)).collect();
        put(format!("CATEGORIES:{}", groups.join(",")));
    }
    if !client.notes.trim().is_empty() {
        put(format!("NOTE:{}", escape(&client.notes)));
    }
    put(format!("UID:urn:uuid:{}", id.uuid()));
    put(format!(
        "REV:{}",
        timestamp(time::OffsetDateTime::now_utc())
    ));
    put("END:VCARD".into());
    out
}

/// The vCard TYPE of a phone label.
fn tel_type(label: &str) -> &'static str {
    match crate::index::fold(label.trim()).as_str() {
        "mobile" | "cell" | "cellular" | "portable" | "gsm" | "mobil" | "cellulaire" => "cell",
        "work" | "office" | "bureau" | "pro" | "professionnel" | "travail" => "work",
        "home" | "maison" | "domicile" | "perso" | "personnel" => "home",
        "fax" => "fax",
        _ => "voice",
    }
}

/// The vCard TYPE of an e-mail label, if it has one.
fn email_type(label: &str) -> Option<&'static str> {
    match crate::index::fold(label.trim()).as_str() {
        "work" | "office" | "bureau" | "pro" | "professionnel" | "travail" => Some("work"),
        "home" | "maison" | "domicile" | "perso" | "personnel" | "personal" => Some("home"),
        _ => None,
    }
}

/// `YYYY-MM-DD` (or already `YYYYMMDD`) as `YYYYMMDD`.
fn basic_date(day: &str) -> Option<String> {
    let digits: String = day.chars().filter(|c| *c != '-').collect();
    let shape_ok = match day.len() {
        10 => day.as_bytes()[4] == b'-' && day.as_bytes()[7] == b'-',
        8 => true,
        _ => false,
    };
    (shape_ok && digits.len() == 8 && digits.chars().all(|c| c.is_ascii_digit())).then_some(digits)
}

/// A vCard timestamp, `YYYYMMDDTHHMMSSZ`.
fn timestamp(t: time::OffsetDateTime) -> String {
    format!(
        "{:04}{:02}{:02}T{:02}{:02}{:02}Z",
        t.year(),
        u8::from(t.month()),
        t.day(),
        t.hour(),
        t.minute(),
        t.second()
    )
}

/// Escapes a text value (RFC 6350 §3.4): `\`, `,`, `;` and newlines.
fn escape(s: &str) -> String {
    let s = s.replace("\r\n", "\n").replace('\r', "\n");
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            ',' => out.push_str("\\,"),
            ';' => out.push_str("\\;"),
            '\n' => out.push_str("\\n"),
            c => out.push(c),
        }
    }
    out
}

/// Appends `line` folded at [`FOLD_AT`] octets (never inside a UTF-8 character), CRLF-ended.
fn fold_into(out: &mut String, line: &str) {
    let mut rest = line;
    let mut first = true;
    loop {
        // A continuation line starts with a space, which counts towards its 75 octets.
        let room = if first { FOLD_AT } else { FOLD_AT - 1 };
        if !first {
            out.push(' ');
        }
        if rest.len() <= room {
            out.push_str(rest);
            out.push_str("\r\n");
            return;
        }
        let mut cut = room;
        while !rest.is_char_boundary(cut) {
            cut -= 1;
        }
        out.push_str(&rest[..cut]);
        out.push_str("\r\n");
        rest = &rest[cut..];
        first = false;
    }
}

// ----- import ------------------------------------------------------------------------------------

/// One logical (unfolded) line and the physical line it starts on.
#[derive(Debug)]
struct Logical {
    line: usize,
    text: String,
}

/// A content line: `[group.]NAME *(;param) : value`.
#[derive(Debug)]
struct Property {
    line: usize,
    /// Upper case, group prefix removed.
    name: String,
    /// Parameter names in upper case; values unquoted, comma lists split.
    params: Vec<(String, Vec<String>)>,
    /// The raw value, still escaped.
    value: String,
}

impl Property {
    /// The TYPE values in lower case, from `TYPE=a,b`, `TYPE=a;TYPE=b` or vCard 2.1 bare params.
    fn types(&self) -> Vec<String> {
        self.params
            .iter()
            .filter(|(k, _)| k == "TYPE")
            .flat_map(|(_, v)| v.iter().map(|t| t.trim().to_lowercase()))
            .collect()
    }

    fn param(&self, name: &str) -> Option<&str> {
        self.params
            .iter()
            .find(|(k, _)| k == name)
            .and_then(|(_, v)| v.first())
            .map(String::as_str)
    }
}

/// Every card of a vCard 3.0 or 4.0 file, each read on its own.
pub fn parse(text: &str) -> Vec<Parsed> {
    let mut out = Vec::new();
    // The card being read: its first line, its properties, and what was wrong in it.
    let mut card: Option<(usize, Vec<Property>, Vec<String>)> = None;
    let mut stray = false;
    for logical in unfold(text) {
        if logical.text.trim().is_empty() {
            continue;
        }
        let prop = parse_line(&logical);
        let (name, value) = match &prop {
            Ok(p) => (p.name.as_str(), p.value.trim()),
            Err(_) => ("", ""),
        };
        if name == "BEGIN" && value.eq_ignore_ascii_case("VCARD") {
            if let Some((start, _, _)) = card.take() {
                out.push(Parsed {
                    line: start,
                    result: Err(format!(
                        "no END:VCARD before the next BEGIN:VCARD on line {}",
                        logical.line
                    )),
                });
            }
            card = Some((logical.line, Vec::new(), Vec::new()));
            stray = false;
            continue;
        }
        if name == "END" && value.eq_ignore_ascii_case("VCARD") {
            match card.take() {
                Some((start, props, errors)) => {
                    let result = if errors.is_empty() {
                        to_client(&props)
                    } else {
                        Err(errors.join("; "))
                    };
                    out.push(Parsed {
                        line: start,
                        result,
                    });
                }
                None => out.push(Parsed {
                    line: logical.line,
                    result: Err("END:VCARD without a BEGIN:VCARD".into()),
                }),
            }
            stray = false;
            continue;
        }
        match (&mut card, prop) {
            (Some((_, props, _)), Ok(p)) => props.push(p),
            (Some((_, _, errors)), Err(e)) => errors.push(e),
            (None, _) => {
                if !stray {
                    out.push(Parsed {
                        line: logical.line,
                        result: Err("text outside BEGIN:VCARD … END:VCARD".into()),
                    });
                }
                stray = true;
            }
        }
    }
    if let Some((start, _, _)) = card {
        out.push(Parsed {
            line: start,
            result: Err("no END:VCARD: the card is cut short".into()),
        });
    }
    out
}

/// Joins folded lines (CRLF or LF, then one space or tab), keeping each one's first line.
fn unfold(text: &str) -> Vec<Logical> {
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    let mut out: Vec<Logical> = Vec::new();
    for (i, raw) in text.split('\n').enumerate() {
        let raw = raw.strip_suffix('\r').unwrap_or(raw);
        if let Some(rest) = raw.strip_prefix([' ', '\t']) {
            if let Some(last) = out.last_mut() {
                last.text.push_str(rest);
                continue;
            }
        }
        out.push(Logical {
            line: i + 1,
            text: raw.to_string(),
        });
    }
    out
}

/// Reads one content line into its name, parameters and (still escaped) value.
fn parse_line(l: &Logical) -> Result<Property, String> {
    let text = l.text.as_str();
    let bad = |why: &str| {
        let shown: String = text.chars().take(40).collect();
        format!("line {}: {why}: {shown:?}", l.line)
    };
    // Split at the first ':' that is not inside a quoted parameter value.
    let mut quoted = false;
    let mut colon = None;
    for (i, c) in text.char_indices() {
        match c {
            '"' => quoted = !quoted,
            ':' if !quoted => {
                colon = Some(i);
                break;
            }
            _ => {}
        }
    }
    let colon = colon.ok_or_else(|| bad("no ':' between the property name and its value"))?;
    let (head, value) = (&text[..colon], &text[colon + 1..]);
    let mut parts = split_params(head).into_iter();
    let name = parts.next().unwrap_or_default();
    let name = name
        .rsplit('.')
        .next()
        .unwrap_or_default()
        .trim()
        .to_uppercase();
    if name.is_empty() {
        return Err(bad("no property name"));
    }
    let params = parts
        .filter(|p| !p.trim().is_empty())
        .map(|p| match p.split_once('=') {
            Some((k, v)) => (k.trim().to_uppercase(), split_param_values(v)),
            // vCard 2.1 style: `TEL;CELL:…` means `TYPE=CELL`.
            None => ("TYPE".to_string(), vec![p.trim().to_string()]),
        })
        .collect();
    Ok(Property {
        line: l.line,
        name,
        params,
        value: value.to_string(),
    })
}

/// Splits `NAME;P1=a;P2="b;c"` at the semicolons outside quotes.
fn split_params(head: &str) -> Vec<String> {
    let mut out = vec![String::new()];
    let mut quoted = false;
    for c in head.chars() {
        match c {
            '"' => {
                quoted = !quoted;
                if let Some(last) = out.last_mut() {
                    last.push(c);
                }
            }
            ';' if !quoted => out.push(String::new()),
            c => {
                if let Some(last) = out.last_mut() {
                    last.push(c);
                }
            }
        }
    }
    out
}

/// `a,b` or `"a,b"` or `"a",b` as its values, quotes removed.
fn split_param_values(v: &str) -> Vec<String> {
    let mut out = vec![String::new()];
    let mut quoted = false;
    for c in v.chars() {
        match c {
            '"' => quoted = !quoted,
            ',' if !quoted => out.push(String::new()),
            c => {
                if let Some(last) = out.last_mut() {
                    last.push(c);
                }
            }
        }
    }
    // A quoted `"a,b"` is one value in RFC 6350 but means two TYPE values in practice.
    out.iter()
        .flat_map(|s| s.split(','))
        .map(|s| s.trim().to_string())
        .filter(|s| !s.is_empty())
        .collect()
}

/// Splits an escaped value at the separators `sep` that are not escaped.
fn split_unescaped(s: &str, sep: char) -> Vec<&str> {
    let mut out = Vec::new();
    let mut start = 0;
    let mut escaped = false;
    for (i, c) in s.char_indices() {
        if escaped {
            escaped = false;
        } else if c == '\\' {
            escaped = true;
        } else if c == sep {
            out.push(&s[start..i]);
            start = i + c.len_utf8();
        }
    }
    out.push(&s[start..]);
    out
}

/// Undoes [`escape`]; an unknown escape (`\:` from some writers) gives the character itself.
fn unescape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    let mut chars = s.chars();
    while let Some(c) = chars.next() {
        if c != '\\' {
            out.push(c);
            continue;
        }
        match chars.next() {
            Some('n' | 'N') => out.push('\n'),
            Some(other) => out.push(other),
            None => out.push('\\'),
        }
    }
    out
}

/// The components of a structured value (N, ADR, ORG), each a list of unescaped values.
fn components(value: &str) -> Vec<Vec<String>> {
    split_unescaped(value, ';')
        .into_iter()
        .map(|c| {
            split_unescaped(c, ',')
                .into_iter()
                .map(|v| unescape(v).trim().to_string())
                .filter(|v| !v.is_empty())
                .collect()
        })
        .collect()
}

/// The values of component `i`, joined with `sep`.
fn component(parts: &[Vec<String>], i: usize, sep: &str) -> String {
    parts.get(i).map(|v| v.join(sep)).unwrap_or_default()
}

/// The phone label of a TEL's TYPE values.
fn tel_label(types: &[String]) -> String {
    let has = |t: &str| types.iter().any(|x| x == t);
    let label = if has("cell") || has("iphone") || has("mobile") {
        "mobile"
    } else if has("fax") {
        "fax"
    } else if has("work") {
        "work"
    } else if has("home") {
        "home"
    } else if has("pager") {
        "pager"
    } else {
        ""
    };
    label.to_string()
}

/// The e-mail label of an EMAIL's TYPE values.
fn email_label(types: &[String]) -> String {
    let has = |t: &str| types.iter().any(|x| x == t);
    let label = if has("work") {
        "work"
    } else if has("home") {
        "home"
    } else {
        ""
    };
    label.to_string()
}

/// A BDAY value (`YYYYMMDD`, `YYYY-MM-DD`, either with a time after `T`) as `YYYY-MM-DD`.
fn iso_date(value: &str) -> Option<String> {
    let day = value.split('T').next().unwrap_or_default().trim();
    let digits: String = day.chars().filter(|c| *c != '-').collect();
    let shape_ok = match day.len() {
        8 => true,
        10 => day.as_bytes()[4] == b'-' && day.as_bytes()[7] == b'-',
        _ => false,
    };
    if !shape_ok || digits.len() != 8 || !digits.chars().all(|c| c.is_ascii_digit()) {
        return None;
    }
    Some(format!(
        "{}-{}-{}",
        &digits[..4],
        &digits[4..6],
        &digits[6..]
    ))
}

/// Builds the (unvalidated) client of one card.
fn to_client(props: &[Property]) -> Result<Client, String> {
    let mut c = Client::default();
    let mut errors = Vec::new();
    let mut full_name: Option<String> = None;
    let mut has_n = false;
    let mut notes = Vec::new();
    for p in props {
        let bad = |what: &str| {
            let shown: String = p.value.chars().take(40).collect();
            format!("{} on line {}: {what}: {shown:?}", p.name, p.line)
        };
        let encoding = p.param("ENCODING").map(str::to_lowercase);
        let readable = matches!(encoding.as_deref(), None | Some("8bit"));
        match p.name.as_str() {
            "VERSION" => {
                let v = p.value.trim();
                if v != "3.0" && v != "4.0" {
                    errors.push(format!(
                        "vCard version {v:?} is not supported: use vCard 3.0 or 4.0"
                    ));
                }
            }
            "FN" | "N" | "ORG" | "TEL" | "EMAIL" | "ADR" | "BDAY" | "CATEGORIES" | "NOTE"
                if !readable =>
            {
                errors.push(bad(
                    "encoded values are not supported (use vCard 3.0 or 4.0)",
                ));
            }
            "FN" if full_name.is_none() => {
                full_name = Some(unescape(&p.value).trim().to_string());
            }
            "N" if !has_n => {
                has_n = true;
                let parts = components(&p.value);
                c.name.last = component(&parts, 0, " ");
                let given = [component(&parts, 1, " "), component(&parts, 2, " ")];
                c.name.first = given
                    .iter()
                    .filter(|s| !s.is_empty())
                    .cloned()
                    .collect::<Vec<_>>()
                    .join(" ");
            }
            "KIND" | "X-ADDRESSBOOKSERVER-KIND" => {
                c.client_type = match p.value.trim().to_lowercase().as_str() {
                    "org" => "company".to_string(),
                    "individual" => "person".to_string(),
                    _ => String::new(),
                };
            }
            "ORG" if c.invoice.company_name.is_empty() => {
                c.invoice.company_name = component(&components(&p.value), 0, ", ");
            }
            "TEL" => {
                let raw = unescape(&p.value);
                let raw = raw.trim();
                let uri = raw.get(..4).is_some_and(|s| s.eq_ignore_ascii_case("tel:"));
                let number = if uri {
                    tel_uri(&raw[4..])
                } else {
                    raw.to_string()
                };
                if !number.is_empty() {
                    c.phones.insert(
                        new_key(),
                        Phone {
                            label: tel_label(&p.types()),
                            number,
                        },
                    );
                }
            }
            "EMAIL" => {
                let address = unescape(&p.value).trim().to_string();
                let address = address
                    .strip_prefix("mailto:")
                    .unwrap_or(&address)
                    .to_string();
                if !address.is_empty() {
                    c.emails.insert(
                        new_key(),
                        Email {
                            label: email_label(&p.types()),
                            address,
                        },
                    );
                }
            }
            "ADR" => {
                let parts = components(&p.value);
                let street: Vec<String> = [2, 1, 0]
                    .into_iter()
                    .map(|i| component(&parts, i, ", "))
                    .filter(|s| !s.is_empty())
                    .collect();
                let address = Address {
                    street: street.join(", "),
                    city: component(&parts, 3, ", "),
                    region: component(&parts, 4, ", "),
                    postal_code: component(&parts, 5, ", "),
                    country: component(&parts, 6, ", "),
                };
                if address.is_empty() {
                    continue;
                }
                if c.address.is_empty() {
                    c.address = address;
                } else {
                    let label = p
                        .types()
                        .into_iter()
                        .find(|t| t != "pref")
                        .unwrap_or_default();
                    c.sites.insert(new_key(), Site { label, address });
                }
            }
            "BDAY" => {
                let value = unescape(&p.value).trim().to_string();
                let text = p
                    .param("VALUE")
                    .is_some_and(|v| v.eq_ignore_ascii_case("text"));
                if text && !value.is_empty() {
                    c.birthday = Some(value);
                } else if !value.is_empty() {
                    match iso_date(&value) {
                        Some(d) => c.birthday = Some(d),
                        None => errors.push(bad("not a date (use YYYYMMDD or YYYY-MM-DD)")),
                    }
                }
            }
            "CATEGORIES" => {
                for g in split_unescaped(&p.value, ',') {
                    let g = unescape(g).trim().to_string();
                    if !g.is_empty() {
                        c.groups.insert(g);
                    }
                }
            }
            "NOTE" => notes.push(unescape(&p.value)),
            _ => {}
        }
    }
    if full_name.is_none() && !has_n {
        errors.push("no FN or N: the card has no name".to_string());
    }
    if !errors.is_empty() {
        return Err(errors.join("; "));
    }
    c.notes = notes.join("\n");
    // FN becomes the display name only when it says more than the names it is made of.
    if let Some(full) = full_name {
        if full != c.display_name() {
            c.name.display = full;
        }
    }
    Ok(c)
}

/// The number of a `tel:` URI: its parameters dropped, except an extension.
fn tel_uri(uri: &str) -> String {
    let mut parts = uri.split(';');
    let mut number = parts.next().unwrap_or_default().trim().to_string();
    for p in parts {
        if let Some(ext) = p.trim().strip_prefix("ext=") {
            number.push_str(" ext. ");
            number.push_str(ext.trim());
        }
    }
    number
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::BTreeSet;

    fn phones(c: &Client) -> BTreeSet<(String, String)> {
        c.phones
            .values()
            .map(|p| (p.label.clone(), p.number.clone()))
            .collect()
    }

    fn emails(c: &Client) -> BTreeSet<(String, String)> {
        c.emails
            .values()
            .map(|e| (e.label.clone(), e.address.clone()))
            .collect()
    }

    fn one(text: &str) -> Client {
        let parsed = parse(text);
        assert_eq!(parsed.len(), 1, "{parsed:?}");
        parsed[0].result.clone().unwrap()
    }

    fn sample() -> Client {
        let mut c = Client {
            client_type: "person".into(),
            ..Client::default()
        };
        c.name.first = "Ștefan".into();
        c.name.last = "Dupont; Martin".into();
        c.name.display = "Dr. Ștefan Dupont, fils".into();
        for (label, number) in [
            ("mobile", "+33612345678"),
            ("work", "+33140000000"),
            ("home", "+40721000000"),
            ("", "+33499999999"),
        ] {
            c.phones.insert(
                new_key(),
                Phone {
                    label: label.into(),
                    number: number.into(),
                },
            );
        }
        for (label, address) in [("work", "s.dupont@example.com"), ("", "stefan@example.ro")] {
            c.emails.insert(
                new_key(),
                Email {
                    label: label.into(),
                    address: address.into(),
                },
            );
        }
        c.address = Address {
            street: "12, rue de l'Église; bâtiment B\\2".into(),
            city: "Saint-Étienne".into(),
            region: "Loire".into(),
            postal_code: "42000".into(),
            country: "FR".into(),
        };
        c.birthday = Some("1980-05-12".into());
        c.groups = ["VIP".to_string(), "salon, 2024".to_string()].into();
        c.notes = "Rappeler lundi;\nprefers e-mail, not phone.\n".to_string() + &"é".repeat(60);
        c
    }

    #[test]
    fn round_trip_keeps_what_vcard_can_say() {
        let original = sample();
        let id = DocumentId::random();
        let text = export(&original, &id);
        let back = one(&text);
        assert_eq!(back.name, original.name);
        assert_eq!(phones(&back), phones(&original));
        assert_eq!(emails(&back), emails(&original));
        assert_eq!(back.address, original.address);
        assert_eq!(back.birthday, original.birthday);
        assert_eq!(back.groups, original.groups);
        assert_eq!(back.notes, original.notes);
        assert_eq!(back.client_type, "person");
    }

    #[test]
    fn round_trip_without_display_name_or_with_company_only() {
        let mut person = Client::default();
        person.name.first = "Marie".into();
        person.name.last = "Dupont".into();
        let back = one(&export(&person, &DocumentId::random()));
        assert_eq!(back.name, person.name);

        let mut company = Client {
            client_type: "school".into(),
            ..Client::default()
        };
        company.invoice.company_name = "École Jules-Ferry; annexe".into();
        let text = export(&company, &DocumentId::random());
        assert!(text.contains("KIND:org\r\n"), "{text}");
        assert!(!text.contains("\r\nN:"), "{text}");
        let back = one(&text);
        assert_eq!(back.name, company.name);
        assert_eq!(back.invoice.company_name, company.invoice.company_name);
        assert_eq!(back.client_type, "company");
    }

    #[test]
    fn export_writes_the_expected_lines() {
        let id = DocumentId::random();
        let text = export(&sample(), &id);
        assert!(text.starts_with("BEGIN:VCARD\r\nVERSION:4.0\r\n"), "{text}");
        assert!(text.ends_with("END:VCARD\r\n"), "{text}");
        assert!(
            !text.replace("\r\n", "").contains('\n'),
            "bare LF in {text:?}"
        );
        let unfolded = text.replace("\r\n ", "");
        let check = |line: &str| {
            assert!(
                unfolded.split("\r\n").any(|l| l == line),
                "no line {line:?} in\n{unfolded}"
            );
        };
        check("FN:Dr. Ștefan Dupont\\, fils");
        check("N:Dupont\\; Martin;Ștefan;;;");
        check("KIND:individual");
        check("TEL;VALUE=uri;TYPE=cell:tel:+33612345678");
        check("TEL;VALUE=uri;TYPE=work:tel:+33140000000");
        check("TEL;VALUE=uri;TYPE=home:tel:+40721000000");
        check("TEL;VALUE=uri;TYPE=voice:tel:+33499999999");
        check("EMAIL;TYPE=work:s.dupont@example.com");
        check("EMAIL:stefan@example.ro");
        check(
            "ADR;TYPE=work:;;12\\, rue de l'Église\\; bâtiment B\\\\2;Saint-Étienne;Loire;42000;FR",
        );
        check("BDAY:19800512");
        check("CATEGORIES:VIP,salon\\, 2024");
        check(&format!("UID:urn:uuid:{}", id.uuid()));
        assert!(unfolded.contains("NOTE:Rappeler lundi\\;\\nprefers e-mail\\, not phone.\\n"));
        let rev = unfolded
            .split("\r\n")
            .find_map(|l| l.strip_prefix("REV:"))
            .unwrap();
        assert_eq!(rev.len(), 16, "{rev}");
        assert!(rev.ends_with('Z') && rev.as_bytes()[8] == b'T', "{rev}");
    }

    #[test]
    fn labels_map_to_vcard_types() {
        let check = |label: &str, tel: &str, email: Option<&str>| {
            assert_eq!(tel_type(label), tel, "{label}");
            assert_eq!(email_type(label), email, "{label}");
        };
        check("mobile", "cell", None);
        check("Portable", "cell", None);
        check("office", "work", Some("work"));
        check("Bureau", "work", Some("work"));
        check("domicile", "home", Some("home"));
        check("fax", "fax", None);
        check("", "voice", None);
        check("standard", "voice", None);
    }

    #[test]
    fn folds_at_75_octets_without_splitting_characters() {
        let check = |line: &str| {
            let mut out = String::new();
            fold_into(&mut out, line);
            assert!(out.ends_with("\r\n"));
            for (i, physical) in out.trim_end_matches("\r\n").split("\r\n").enumerate() {
                assert!(
                    physical.len() <= 75,
                    "{} octets: {physical:?}",
                    physical.len()
                );
                assert_eq!(i > 0, physical.starts_with(' '), "{physical:?}");
            }
            let unfolded: Vec<Logical> = unfold(&out);
            assert_eq!(unfolded[0].text, line);
        };
        check("");
        check(&"a".repeat(75));
        check(&"a".repeat(76));
        check(&"é".repeat(100));
        check(&format!("NOTE:{}", "€😀".repeat(60)));
        check(&"x".repeat(1000));
    }

    #[test]
    fn escapes_and_unescapes() {
        let check = |raw: &str, escaped: &str| {
            assert_eq!(escape(raw), escaped);
            assert_eq!(unescape(escaped), raw.replace("\r\n", "\n"));
        };
        check("plain", "plain");
        check("a,b;c\\d", "a\\,b\\;c\\\\d");
        check("line1\nline2", "line1\\nline2");
        check("line1\r\nline2", "line1\\nline2");
        assert_eq!(unescape("a\\Nb\\:c"), "a\nb:c");
        assert_eq!(split_unescaped("a\\;b;c", ';'), vec!["a\\;b", "c"]);
        assert_eq!(split_unescaped("a\\\\;b", ';'), vec!["a\\\\", "b"]);
    }

    #[test]
    fn reads_vcard_3_from_other_apps() {
        let text = "BEGIN:VCARD\r\n\
                    VERSION:3.0\r\n\
                    PRODID:-//Apple Inc.//iPhone OS 17.0//EN\r\n\
                    N:Dupont;Marie;Anne;Mme;\r\n\
                    FN:Mme Marie Anne Dupont\r\n\
                    ORG:Dupont SARL;Ventes\r\n\
                    item1.TEL;TYPE=CELL,VOICE;TYPE=pref:+33 6 12 34 56 78\r\n\
                    TEL;TYPE=WORK;TYPE=VOICE:01 40 00 00 00\r\n\
                    TEL;TYPE=\"home,voice\":04 77 00 00 00\r\n\
                    EMAIL;TYPE=INTERNET;TYPE=HOME:marie@example.com\r\n\
                    EMAIL;type=INTERNET,WORK,pref:m.dupont@dupont.fr\r\n\
                    ADR;TYPE=HOME:;Bât. B;3 place\r\n  Bellecour;Lyon;Rhône;69002;France\r\n\
                    ADR;TYPE=WORK:BP 12;;1 rue X;Paris;;75001;FR\r\n\
                    BDAY:1975-03-09\r\n\
                    CATEGORIES:Famille,Amis\\, proches\r\n\
                    NOTE:Deux lignes\\nici\r\n\
                    PHOTO;ENCODING=b;TYPE=JPEG:AAAA\r\n\
                    END:VCARD\r\n";
        let c = one(text);
        assert_eq!(c.name.first, "Marie Anne");
        assert_eq!(c.name.last, "Dupont");
        assert_eq!(c.name.display, "Mme Marie Anne Dupont");
        assert_eq!(c.invoice.company_name, "Dupont SARL");
        let want: BTreeSet<(String, String)> = [
            ("mobile", "+33 6 12 34 56 78"),
            ("work", "01 40 00 00 00"),
            ("home", "04 77 00 00 00"),
        ]
        .iter()
        .map(|(l, n)| (l.to_string(), n.to_string()))
        .collect();
        assert_eq!(phones(&c), want);
        let want: BTreeSet<(String, String)> = [
            ("home", "marie@example.com"),
            ("work", "m.dupont@dupont.fr"),
        ]
        .iter()
        .map(|(l, n)| (l.to_string(), n.to_string()))
        .collect();
        assert_eq!(emails(&c), want);
        assert_eq!(c.address.street, "3 place Bellecour, Bât. B");
        assert_eq!(c.address.city, "Lyon");
        assert_eq!(c.address.region, "Rhône");
        assert_eq!(c.address.postal_code, "69002");
        assert_eq!(c.address.country, "France");
        let site = c.sites.values().next().unwrap();
        assert_eq!(site.label, "work");
        assert_eq!(site.address.street, "1 rue X, BP 12");
        assert_eq!(c.birthday.as_deref(), Some("1975-03-09"));
        assert_eq!(
            c.groups,
            ["Famille".to_string(), "Amis, proches".to_string()].into()
        );
        assert_eq!(c.notes, "Deux lignes\nici");
    }

    #[test]
    fn reads_tel_uris_and_bday_forms() {
        let card = |body: &str| format!("BEGIN:VCARD\nVERSION:4.0\nFN:X\n{body}\nEND:VCARD\n");
        let check = |body: &str, phone: Option<&str>, bday: Option<&str>| {
            let c = one(&card(body));
            let numbers: Vec<String> = c.phones.values().map(|p| p.number.clone()).collect();
            assert_eq!(numbers.first().map(String::as_str), phone, "{body}");
            assert_eq!(c.birthday.as_deref(), bday, "{body}");
        };
        check("TEL;VALUE=uri:tel:+33-6-12", Some("+33-6-12"), None);
        check("TEL;VALUE=uri:TEL:+33612", Some("+33612"), None);
        check(
            "TEL;VALUE=uri;PREF=1;TYPE=\"voice,home\":tel:+1-555-0123;ext=5",
            Some("+1-555-0123 ext. 5"),
            None,
        );
        check("TEL:", None, None);
        check("BDAY:19800512", None, Some("1980-05-12"));
        check("BDAY:1980-05-12", None, Some("1980-05-12"));
        check("BDAY:1980-05-12T00:00:00Z", None, Some("1980-05-12"));
        check("BDAY;VALUE=text:circa 1800", None, Some("circa 1800"));
    }

    #[test]
    fn a_broken_card_fails_alone() {
        let text = "BEGIN:VCARD\nVERSION:4.0\nFN:Good One\nEND:VCARD\n\
                    \n\
                    BEGIN:VCARD\nVERSION:4.0\nEMAIL:nobody@example.com\nEND:VCARD\n\
                    BEGIN:VCARD\nVERSION:4.0\nFN:Bad Day\nBDAY:12/05/1980\nEND:VCARD\n\
                    BEGIN:VCARD\nVERSION:4.0\nFN:No Colon\nthis line is broken\nEND:VCARD\n\
                    BEGIN:VCARD\nVERSION:2.1\nFN:Old\nEND:VCARD\n\
                    BEGIN:VCARD\nVERSION:4.0\nFN:Unfinished\n\
                    BEGIN:VCARD\nVERSION:4.0\nN:Last;First;;;\nEND:VCARD\n\
                    BEGIN:VCARD\nFN:Cut short\n";
        let parsed = parse(text);
        let got: Vec<(usize, Result<String, String>)> = parsed
            .iter()
            .map(|p| {
                (
                    p.line,
                    p.result
                        .as_ref()
                        .map(Client::display_name)
                        .map_err(Clone::clone),
                )
            })
            .collect();
        let check = |i: usize, line: usize, want: Result<&str, &str>| {
            let (l, r) = &got[i];
            assert_eq!(*l, line, "{got:?}");
            match (r, want) {
                (Ok(name), Ok(w)) => assert_eq!(name, w),
                (Err(why), Err(w)) => assert!(why.contains(w), "{why:?} should say {w:?}"),
                _ => panic!("card {i}: {r:?}, wanted {want:?}"),
            }
        };
        assert_eq!(got.len(), 8, "{got:?}");
        check(0, 1, Ok("Good One"));
        check(1, 6, Err("no FN or N"));
        check(2, 10, Err("BDAY on line 13"));
        check(3, 15, Err("line 18: no ':'"));
        check(4, 20, Err("version \"2.1\""));
        check(
            5,
            24,
            Err("no END:VCARD before the next BEGIN:VCARD on line 27"),
        );
        check(6, 27, Ok("First Last"));
        check(7, 31, Err("no END:VCARD"));
    }

    #[test]
    fn stray_text_is_reported_once() {
        let parsed = parse("hello\nworld\nBEGIN:VCARD\nFN:A\nEND:VCARD\nEND:VCARD\n");
        let lines: Vec<(usize, bool)> = parsed.iter().map(|p| (p.line, p.result.is_ok())).collect();
        assert_eq!(lines, vec![(1, false), (3, true), (6, false)]);
        assert!(parse("").is_empty());
        assert!(parse("\r\n\r\n").is_empty());
    }

    #[test]
    fn several_exported_cards_read_back() {
        let mut a = Client::default();
        a.name.display = "A".into();
        let mut b = Client::default();
        b.name.display = "B".into();
        let text = export(&a, &DocumentId::random()) + &export(&b, &DocumentId::random());
        let names: Vec<String> = parse(&text)
            .into_iter()
            .map(|p| p.result.unwrap().display_name())
            .collect();
        assert_eq!(names, vec!["A", "B"]);
    }
}
