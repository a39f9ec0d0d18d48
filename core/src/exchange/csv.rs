//! Clients in from a CSV file (a spreadsheet export): one client a row, named columns.
//!
//! The header row is required. Its names are matched without regard to case, accents, spaces,
//! underscores or dashes, in English or French (`first_name`, `Prénom`, `Code postal`…); phone
//! and e-mail columns may repeat with a number (`phone2`, `Téléphone 3`). A column nobody knows
//! refuses the whole file, naming it. Files delimited by `;` or tabs (as French spreadsheets
//! write them) are recognised from the header line; files that are not UTF-8 are read as
//! Windows-1252. Values are raw: validation is the import step's job.

use std::io::Read;

use crate::error::{Error, Result};
use crate::index::fold;
use crate::model::{new_key, BankAccount, Client, Email, Phone, Status};

use super::Parsed;

/// What a column holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Column {
    Display,
    First,
    Last,
    /// A phone number, with the label it gets.
    Phone(&'static str),
    Email,
    Street,
    City,
    Region,
    PostalCode,
    Country,
    Birthday,
    Groups,
    Status,
    Type,
    Notes,
    Company,
    LegalForm,
    Vat,
    Iban,
    Bic,
    /// A column with an empty header: tolerated while its cells are empty.
    Unnamed,
}

/// Header names (folded: lower case, no accents, letters and digits only) and their columns.
const ALIASES: &[(&str, Column)] = &[
    ("name", Column::Display),
    ("nom", Column::Display),
    ("displayname", Column::Display),
    ("fullname", Column::Display),
    ("nomcomplet", Column::Display),
    ("firstname", Column::First),
    ("first", Column::First),
    ("givenname", Column::First),
    ("prenom", Column::First),
    ("lastname", Column::Last),
    ("last", Column::Last),
    ("surname", Column::Last),
    ("familyname", Column::Last),
    ("nomdefamille", Column::Last),
    ("street", Column::Street),
    ("streetaddress", Column::Street),
    ("address", Column::Street),
    ("adresse", Column::Street),
    ("rue", Column::Street),
    ("city", Column::City),
    ("town", Column::City),
    ("ville", Column::City),
    ("commune", Column::City),
    ("localite", Column::City),
    ("region", Column::Region),
    ("county", Column::Region),
    ("state", Column::Region),
    ("province", Column::Region),
    ("departement", Column::Region),
    ("postalcode", Column::PostalCode),
    ("postcode", Column::PostalCode),
    ("zip", Column::PostalCode),
    ("zipcode", Column::PostalCode),
    ("codepostal", Column::PostalCode),
    ("cp", Column::PostalCode),
    ("country", Column::Country),
    ("pays", Column::Country),
    ("birthday", Column::Birthday),
    ("birthdate", Column::Birthday),
    ("dateofbirth", Column::Birthday),
    ("dob", Column::Birthday),
    ("datedenaissance", Column::Birthday),
    ("naissance", Column::Birthday),
    ("groups", Column::Groups),
    ("group", Column::Groups),
    ("groupes", Column::Groups),
    ("groupe", Column::Groups),
    ("tags", Column::Groups),
    ("categories", Column::Groups),
    ("etiquettes", Column::Groups),
    ("status", Column::Status),
    ("statut", Column::Status),
    ("type", Column::Type),
    ("clienttype", Column::Type),
    ("typeclient", Column::Type),
    ("typedeclient", Column::Type),
    ("notes", Column::Notes),
    ("note", Column::Notes),
    ("comments", Column::Notes),
    ("commentaire", Column::Notes),
    ("commentaires", Column::Notes),
    ("remarques", Column::Notes),
    ("company", Column::Company),
    ("companyname", Column::Company),
    ("organisation", Column::Company),
    ("organization", Column::Company),
    ("societe", Column::Company),
    ("entreprise", Column::Company),
    ("raisonsociale", Column::Company),
    ("legalform", Column::LegalForm),
    ("formejuridique", Column::LegalForm),
    ("vat", Column::Vat),
    ("vatnumber", Column::Vat),
    ("vatid", Column::Vat),
    ("tva", Column::Vat),
    ("numerotva", Column::Vat),
    ("numtva", Column::Vat),
    ("ntva", Column::Vat),
    ("tvaintracommunautaire", Column::Vat),
    ("iban", Column::Iban),
    ("bic", Column::Bic),
    ("swift", Column::Bic),
];

/// Phone and e-mail headers, which may end with a number (`phone2`).
const REPEATABLE: &[(&str, Column)] = &[
    ("phone", Column::Phone("")),
    ("telephone", Column::Phone("")),
    ("tel", Column::Phone("")),
    ("phonenumber", Column::Phone("")),
    ("mobile", Column::Phone("mobile")),
    ("mobilephone", Column::Phone("mobile")),
    ("cell", Column::Phone("mobile")),
    ("cellphone", Column::Phone("mobile")),
    ("portable", Column::Phone("mobile")),
    ("telportable", Column::Phone("mobile")),
    ("telephoneportable", Column::Phone("mobile")),
    ("telmobile", Column::Phone("mobile")),
    ("workphone", Column::Phone("work")),
    ("officephone", Column::Phone("work")),
    ("telbureau", Column::Phone("work")),
    ("telephonebureau", Column::Phone("work")),
    ("homephone", Column::Phone("home")),
    ("teldomicile", Column::Phone("home")),
    ("telephonedomicile", Column::Phone("home")),
    ("fax", Column::Phone("fax")),
    ("email", Column::Email),
    ("mail", Column::Email),
    ("emailaddress", Column::Email),
    ("courriel", Column::Email),
    ("adresseemail", Column::Email),
    ("adressemail", Column::Email),
    ("adressecourriel", Column::Email),
];

/// The names a file may use, for the error about unknown columns.
const KNOWN: &str = "name, first_name, last_name, phone, mobile, phone2…, email, email2…, \
street, city, region, postal_code, country, birthday, groups, status, type, notes, company, \
legal_form, vat, iban, bic (or their French names: nom, prénom, nom de famille, téléphone, \
courriel, adresse, ville, département, code postal, pays, date de naissance, groupes, statut, \
société, tva…)";

/// A header name folded for matching: lower case, no accents, letters and digits only.
fn folded(header: &str) -> String {
    fold(header)
        .chars()
        .filter(|c| c.is_alphanumeric())
        .collect()
}

/// The column a header names, if any.
fn column(header: &str) -> Option<Column> {
    let key = folded(header);
    if key.is_empty() {
        return Some(Column::Unnamed);
    }
    if let Some((_, c)) = ALIASES.iter().find(|(name, _)| *name == key) {
        return Some(*c);
    }
    let base = key.trim_end_matches(|c: char| c.is_ascii_digit());
    REPEATABLE
        .iter()
        .find(|(name, _)| *name == base)
        .map(|(_, c)| *c)
}

/// Reads the clients of a CSV file. A file-wide problem (no header, unknown columns, a column
/// named twice, unreadable input) is an [`Error::Exchange`]; a bad row is an `Err` in its
/// [`Parsed`], with `line` its 1-based line in the file (the header is line 1).
pub fn parse<R: Read>(mut reader: R) -> Result<Vec<Parsed>, Error> {
    let mut bytes = Vec::new();
    reader
        .read_to_end(&mut bytes)
        .map_err(|e| Error::Exchange(format!("cannot read the CSV file: {e}")))?;
    let text = decode(&bytes);
    let text = text.strip_prefix('\u{feff}').unwrap_or(&text);
    let delimiter = sniff(text);
    let mut csv = ::csv::ReaderBuilder::new()
        .delimiter(delimiter)
        .has_headers(true)
        .flexible(true)
        .trim(::csv::Trim::All)
        .from_reader(text.as_bytes());

    let headers = csv
        .headers()
        .map_err(|e| Error::Exchange(format!("cannot read the CSV header row: {e}")))?
        .clone();
    if headers.iter().all(|h| h.trim().is_empty()) {
        return Err(Error::Exchange(
            "the CSV file has no header row: its first line must name the columns".into(),
        ));
    }
    let mut columns = Vec::with_capacity(headers.len());
    let mut unknown = Vec::new();
    for h in headers.iter() {
        match column(h) {
            Some(c) => columns.push(c),
            None => unknown.push(format!("{h:?}")),
        }
    }
    if !unknown.is_empty() {
        let s = if unknown.len() == 1 { "" } else { "s" };
        return Err(Error::Exchange(format!(
            "unknown column{s} {} in the CSV header row (line 1); known columns: {KNOWN}",
            unknown.join(", ")
        )));
    }
    let mut twice = Vec::new();
    for (i, c) in columns.iter().enumerate() {
        let single = !matches!(c, Column::Phone(_) | Column::Email | Column::Unnamed);
        if single && columns[..i].contains(c) {
            twice.push(format!("{:?}", &headers[i]));
        }
    }
    if !twice.is_empty() {
        return Err(Error::Exchange(format!(
            "column{} {} of the CSV header row say the same as an earlier column",
            if twice.len() == 1 { "" } else { "s" },
            twice.join(", ")
        )));
    }

    let mut lines = LineCounter::new(text);
    let mut out = Vec::new();
    for record in csv.records() {
        let record =
            record.map_err(|e| Error::Exchange(format!("cannot read the CSV file: {e}")))?;
        if record.iter().all(str::is_empty) {
            continue;
        }
        let line = record.position().map_or(0, |p| lines.line_at(p.byte()));
        let result = if record.len() != headers.len() {
            Err(format!(
                "{} fields where the header row has {}",
                record.len(),
                headers.len()
            ))
        } else {
            row(&columns, &headers, &record)
        };
        out.push(Parsed { line, result });
    }
    Ok(out)
}

/// Line numbers of records from their byte offsets. (The csv crate's own line numbers skip
/// blank lines and miscount CRLF files; its byte offsets point at the end of the previous
/// record, before any line breaks and blank lines.)
#[derive(Debug)]
struct LineCounter<'a> {
    text: &'a [u8],
    /// A byte offset already counted, and the 1-based line it is on.
    at: usize,
    line: usize,
}

impl<'a> LineCounter<'a> {
    fn new(text: &'a str) -> Self {
        Self {
            text: text.as_bytes(),
            at: 0,
            line: 1,
        }
    }

    /// The line of the record whose position is `byte` (offsets must not go backwards).
    fn line_at(&mut self, byte: u64) -> usize {
        let len = self.text.len();
        let mut start = usize::try_from(byte).unwrap_or(len).min(len);
        while start < len && matches!(self.text[start], b'\r' | b'\n') {
            start += 1;
        }
        if start >= self.at {
            // A line ends at `\n`, `\r\n` or a lone `\r` (old Mac files), as the reader takes it.
            let window = &self.text[self.at..start];
            let breaks = window
                .iter()
                .enumerate()
                .filter(|&(i, &b)| b == b'\n' || (b == b'\r' && window.get(i + 1) != Some(&b'\n')));
            self.line += breaks.count();
            self.at = start;
        }
        self.line
    }
}

/// The (unvalidated) client of one row.
fn row(
    columns: &[Column],
    headers: &::csv::StringRecord,
    record: &::csv::StringRecord,
) -> Result<Client, String> {
    let mut c = Client::default();
    let mut errors = Vec::new();
    let mut bank = BankAccount::default();
    for (i, (column, value)) in columns.iter().zip(record.iter()).enumerate() {
        if value.is_empty() {
            continue;
        }
        let value = value.to_string();
        match column {
            Column::Display => c.name.display = value,
            Column::First => c.name.first = value,
            Column::Last => c.name.last = value,
            Column::Phone(label) => {
                c.phones.insert(
                    new_key(),
                    Phone {
                        label: label.to_string(),
                        number: value,
                    },
                );
            }
            Column::Email => {
                c.emails.insert(
                    new_key(),
                    Email {
                        label: String::new(),
                        address: value,
                    },
                );
            }
            Column::Street => c.address.street = value,
            Column::City => c.address.city = value,
            Column::Region => c.address.region = value,
            Column::PostalCode => c.address.postal_code = value,
            Column::Country => c.address.country = value,
            Column::Birthday => c.birthday = Some(value),
            Column::Groups => c.groups.extend(
                value
                    .split([';', ','])
                    .map(str::trim)
                    .filter(|g| !g.is_empty())
                    .map(str::to_string),
            ),
            Column::Status => match value.parse::<Status>() {
                Ok(s) => c.status = s,
                Err(e) => errors.push(format!("status: {e}")),
            },
            Column::Type => c.client_type = value,
            Column::Notes => c.notes = value,
            Column::Company => c.invoice.company_name = value,
            Column::LegalForm => c.invoice.legal_form = value,
            Column::Vat => c.invoice.vat_number = Some(value),
            Column::Iban => bank.iban = value,
            Column::Bic => bank.bic = Some(value),
            Column::Unnamed => errors.push(format!(
                "column {} has a value ({value:?}) but no name in the header row",
                i + 1
            )),
        }
    }
    if !bank.iban.is_empty() || bank.bic.is_some() {
        if bank.iban.is_empty() {
            let at = columns.iter().position(|c| *c == Column::Bic).unwrap_or(0);
            errors.push(format!(
                "{}: a BIC without an IBAN",
                headers.get(at).unwrap_or("bic")
            ));
        } else {
            c.banks.insert(new_key(), bank);
        }
    }
    if errors.is_empty() {
        Ok(c)
    } else {
        Err(errors.join("; "))
    }
}

/// The delimiter of the header line: the most frequent of `,`, `;` and tab outside quotes.
fn sniff(text: &str) -> u8 {
    let header = text
        .lines()
        .find(|l| !l.trim().is_empty())
        .unwrap_or_default();
    let mut counts = [(b',', 0usize), (b';', 0), (b'\t', 0)];
    let mut quoted = false;
    for c in header.chars() {
        if c == '"' {
            quoted = !quoted;
        } else if !quoted {
            for (d, n) in counts.iter_mut() {
                if c == char::from(*d) {
                    *n += 1;
                }
            }
        }
    }
    // On a tie (one column, say) the comma wins: it comes first.
    counts
        .iter()
        .fold(
            (b',', 0),
            |best, &(d, n)| if n > best.1 { (d, n) } else { best },
        )
        .0
}

/// The file as text: UTF-8 when it is, else Windows-1252 (what spreadsheets in Western Europe
/// write by default).
fn decode(bytes: &[u8]) -> String {
    match std::str::from_utf8(bytes) {
        Ok(s) => s.to_string(),
        Err(_) => bytes.iter().map(|&b| cp1252(b)).collect(),
    }
}

/// One Windows-1252 byte as a character.
fn cp1252(b: u8) -> char {
    const HIGH: [char; 32] = [
        '€', '\u{81}', '‚', 'ƒ', '„', '…', '†', '‡', 'ˆ', '‰', 'Š', '‹', 'Œ', '\u{8d}', 'Ž',
        '\u{8f}', '\u{90}', '‘', '’', '“', '”', '•', '–', '—', '˜', '™', 'š', '›', 'œ', '\u{9d}',
        'ž', 'Ÿ',
    ];
    match b {
        0x80..=0x9f => HIGH[usize::from(b - 0x80)],
        _ => char::from(b),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rows(text: &str) -> Vec<Parsed> {
        parse(text.as_bytes()).unwrap()
    }

    fn file_error(text: &str) -> String {
        match parse(text.as_bytes()) {
            Err(Error::Exchange(why)) => why,
            other => panic!("expected a file error, got {other:?}"),
        }
    }

    #[test]
    fn headers_match_in_english_and_french() {
        let check = |header: &str, want: Option<Column>| {
            assert_eq!(column(header), want, "{header:?}");
        };
        check("name", Some(Column::Display));
        check("Display_Name", Some(Column::Display));
        check("NOM", Some(Column::Display));
        check("first_name", Some(Column::First));
        check("Prénom", Some(Column::First));
        check("  Last Name ", Some(Column::Last));
        check("Nom de famille", Some(Column::Last));
        check("Téléphone", Some(Column::Phone("")));
        check("tel", Some(Column::Phone("")));
        check("phone2", Some(Column::Phone("")));
        check("Téléphone 3", Some(Column::Phone("")));
        check("mobile", Some(Column::Phone("mobile")));
        check("E-mail", Some(Column::Email));
        check("courriel_2", Some(Column::Email));
        check("Adresse", Some(Column::Street));
        check("rue", Some(Column::Street));
        check("Ville", Some(Column::City));
        check("Département", Some(Column::Region));
        check("county", Some(Column::Region));
        check("Code postal", Some(Column::PostalCode));
        check("zip", Some(Column::PostalCode));
        check("Pays", Some(Column::Country));
        check("Date de naissance", Some(Column::Birthday));
        check("tags", Some(Column::Groups));
        check("Groupes", Some(Column::Groups));
        check("Statut", Some(Column::Status));
        check("client_type", Some(Column::Type));
        check("type", Some(Column::Type));
        check("Notes", Some(Column::Notes));
        check("Société", Some(Column::Company));
        check("TVA", Some(Column::Vat));
        check("vat_number", Some(Column::Vat));
        check("N° TVA", Some(Column::Vat));
        check("IBAN", Some(Column::Iban));
        check("", Some(Column::Unnamed));
        check("shoe size", None);
        check("city2", None);
    }

    #[test]
    fn reads_rows_with_their_line_numbers() {
        let text = "Nom,Prénom,Nom de famille,Téléphone,mobile,E-mail,Adresse,Ville,Code postal,Pays,Date de naissance,Groupes,Statut,Type,Notes,Société,TVA,IBAN\n\
                    Marie Dupont,Marie,Dupont,01 40 00 00 00,06 12 34 56 78,marie@example.com,\"12, rue X\",Lyon,69002,FR,1980-05-12,VIP; salon,client,person,\"two\nlines\",Dupont SARL,FR40303265045,FR7630006000011234567890189\n\
                    \n\
                    ,Jean,Martin,,,,,,,,,,,,,,,\n";
        let parsed = rows(text);
        assert_eq!(parsed.len(), 2, "{parsed:?}");
        assert_eq!(parsed[0].line, 2);
        assert_eq!(
            parsed[1].line, 5,
            "a quoted newline and a blank line come before"
        );
        let c = parsed[0].result.clone().unwrap();
        assert_eq!(c.name.display, "Marie Dupont");
        assert_eq!(c.name.first, "Marie");
        assert_eq!(c.name.last, "Dupont");
        let mut phones: Vec<(String, String)> = c
            .phones
            .values()
            .map(|p| (p.label.clone(), p.number.clone()))
            .collect();
        phones.sort();
        assert_eq!(
            phones,
            vec![
                (String::new(), "01 40 00 00 00".to_string()),
                ("mobile".to_string(), "06 12 34 56 78".to_string())
            ]
        );
        assert_eq!(
            c.emails.values().next().unwrap().address,
            "marie@example.com"
        );
        assert_eq!(c.address.street, "12, rue X");
        assert_eq!(c.address.city, "Lyon");
        assert_eq!(c.address.postal_code, "69002");
        assert_eq!(c.address.country, "FR");
        assert_eq!(c.birthday.as_deref(), Some("1980-05-12"));
        assert_eq!(c.groups, ["VIP".to_string(), "salon".to_string()].into());
        assert_eq!(c.status, Status::Client);
        assert_eq!(c.client_type, "person");
        assert_eq!(c.notes, "two\nlines");
        assert_eq!(c.invoice.company_name, "Dupont SARL");
        assert_eq!(c.invoice.vat_number.as_deref(), Some("FR40303265045"));
        assert_eq!(
            c.banks.values().next().unwrap().iban,
            "FR7630006000011234567890189"
        );
        let j = parsed[1].result.clone().unwrap();
        assert_eq!(j.display_name(), "Jean Martin");
        assert!(j.phones.is_empty() && j.birthday.is_none() && j.banks.is_empty());
    }

    #[test]
    fn line_numbers_count_blank_lines_quoted_newlines_and_crlf() {
        let check = |text: &str, want: &[usize]| {
            let got: Vec<usize> = rows(text).iter().map(|p| p.line).collect();
            assert_eq!(got, want, "{text:?}");
        };
        check("name\na\nb\n", &[2, 3]);
        check("name\na\n\nb\n", &[2, 4]);
        check("name\n\"a\nx\"\nb\n", &[2, 4]);
        check("name\r\na\r\n\r\nb\r\n", &[2, 4]);
        check("name\n\n\na\n\n", &[4]);
        check("\u{feff}name\r\n\"a\r\n\r\nb\"\r\nc", &[2, 5]);
        check("name,city\nA,\n,\nB,\n", &[2, 4]);
        // Old Mac files end lines with a lone `\r` (found by the csv fuzz target).
        check("name\ra\r\rb\r", &[2, 4]);
        check("name\ra\r\nb\nc", &[2, 3, 4]);
    }

    #[test]
    fn semicolon_files_and_groups_split_on_commas() {
        let parsed = rows("name;city;tags\r\n\"Dupont; Marie\";Lyon;a, b ,c\r\nX;Paris;\r\n");
        let c = parsed[0].result.clone().unwrap();
        assert_eq!(c.name.display, "Dupont; Marie");
        assert_eq!(c.address.city, "Lyon");
        assert_eq!(c.groups.len(), 3);
        assert_eq!(parsed[1].result.clone().unwrap().address.city, "Paris");
        let tabs = rows("name\tcity\nA\tNice\n");
        assert_eq!(tabs[0].result.clone().unwrap().address.city, "Nice");
    }

    #[test]
    fn a_bad_row_fails_alone() {
        let text = "name,email,status\nA,a@x.fr,client\nB,b@x.fr\nC,c@x.fr,client,extra\nD,d@x.fr,vip\nE,,\n";
        let parsed = rows(text);
        let got: Vec<(usize, Result<String, String>)> = parsed
            .into_iter()
            .map(|p| (p.line, p.result.map(|c| c.display_name())))
            .collect();
        assert_eq!(got[0], (2, Ok("A".to_string())));
        assert_eq!(got[1].0, 3);
        assert!(got[1]
            .1
            .as_ref()
            .unwrap_err()
            .contains("2 fields where the header row has 3"));
        assert_eq!(got[2].0, 4);
        assert!(got[2].1.as_ref().unwrap_err().contains("4 fields"));
        assert_eq!(got[3].0, 5);
        assert!(got[3].1.as_ref().unwrap_err().starts_with("status: "));
        assert_eq!(got[4], (6, Ok("E".to_string())));
    }

    #[test]
    fn file_wide_problems_name_the_columns() {
        let why = file_error("name,shoe size,Favourite colour\nA,42,blue\n");
        assert!(why.contains("\"shoe size\", \"Favourite colour\""), "{why}");
        assert!(why.contains("known columns"), "{why}");
        let why = file_error("Marie Dupont,+33612345678\n");
        assert!(why.contains("unknown columns"), "{why}");
        let why = file_error("");
        assert!(why.contains("no header row"), "{why}");
        let why = file_error("city,ville\nLyon,Lyon\n");
        assert!(why.contains("\"ville\""), "{why}");
    }

    #[test]
    fn unnamed_columns_are_tolerated_while_empty() {
        let parsed = rows("name,city,\nA,Lyon,\nB,Nice,oops\n");
        assert!(parsed[0].result.is_ok());
        let why = parsed[1].result.clone().unwrap_err();
        assert!(why.contains("column 3") && why.contains("oops"), "{why}");
    }

    #[test]
    fn reads_byte_order_marks_and_windows_1252() {
        let parsed = rows("\u{feff}name,city\nA,Lyon\n");
        assert_eq!(parsed[0].result.clone().unwrap().address.city, "Lyon");
        let latin: Vec<u8> =
            b"Pr\xe9nom;Nom de famille;Soci\xe9t\xe9\nL\xe9a;C\x9cur;Caf\xe9 \x80\n".to_vec();
        let parsed = parse(latin.as_slice()).unwrap();
        let c = parsed[0].result.clone().unwrap();
        assert_eq!(c.name.first, "Léa");
        assert_eq!(c.name.last, "Cœur");
        assert_eq!(c.invoice.company_name, "Café €");
    }
}
