//! The client fields the `add` and `edit` commands accept, and how they are applied to a record.

use clap::Args;
use fiche_core::model::{BankAccount, Client, Consent, ConsentMethod, Email, Phone, Status};

/// Parses `LABEL=VALUE` (or a bare VALUE, with an empty label).
fn labelled(s: &str) -> (String, String) {
    match s.split_once('=') {
        Some((label, value)) => (label.trim().to_string(), value.trim().to_string()),
        None => (String::new(), s.trim().to_string()),
    }
}

#[derive(Debug, Args, Default)]
pub struct ClientFields {
    /// Display name (a company, "Famille Martin"…).
    #[arg(long)]
    pub name: Option<String>,
    /// First name of a person.
    #[arg(long)]
    pub first: Option<String>,
    /// Last name of a person.
    #[arg(long)]
    pub last: Option<String>,
    /// Client type, one of the organisation's (person, couple, family, company, school, association…).
    #[arg(long = "type", value_name = "TYPE")]
    pub client_type: Option<String>,
    /// prospect or client.
    #[arg(long, value_parser = clap::builder::ValueParser::new(parse_status))]
    pub status: Option<Status>,
    /// Member id of the manager responsible for the client.
    #[arg(long)]
    pub manager: Option<String>,
    /// A phone, as NUMBER or LABEL=NUMBER (e.g. mobile=06 12 34 56 78); repeat for several.
    #[arg(long = "phone", value_name = "[LABEL=]NUMBER")]
    pub phones: Vec<String>,
    /// An e-mail, as ADDRESS or LABEL=ADDRESS; repeat for several.
    #[arg(long = "email", value_name = "[LABEL=]ADDRESS")]
    pub emails: Vec<String>,
    #[arg(long)]
    pub street: Option<String>,
    #[arg(long)]
    pub city: Option<String>,
    /// Region, county or province of the address.
    #[arg(long)]
    pub region: Option<String>,
    #[arg(long)]
    pub postal_code: Option<String>,
    /// ISO 3166 country code (FR, RO, IT…).
    #[arg(long)]
    pub country: Option<String>,
    /// Birthday, YYYY-MM-DD.
    #[arg(long)]
    pub birthday: Option<String>,
    /// A group (tag); repeat for several.
    #[arg(long = "group", value_name = "GROUP")]
    pub groups: Vec<String>,
    /// Staff-only notes (replace the notes).
    #[arg(long)]
    pub notes: Option<String>,
    /// Company name for invoices.
    #[arg(long)]
    pub company: Option<String>,
    /// Legal form for invoices (SARL, SRL…).
    #[arg(long)]
    pub legal_form: Option<String>,
    /// EU VAT number with its country prefix.
    #[arg(long)]
    pub vat: Option<String>,
    /// A bank account, as IBAN or LABEL=IBAN; repeat for several.
    #[arg(long = "iban", value_name = "[LABEL=]IBAN")]
    pub ibans: Vec<String>,
    /// A payment method agreed (transfer, card, cash…); repeat for several.
    #[arg(long = "payment-method", value_name = "METHOD")]
    pub payment_methods: Vec<String>,
    /// Record the client's consent to data processing: yes or no.
    #[arg(long, value_parser = clap::builder::ValueParser::new(parse_yes_no))]
    pub consent: Option<bool>,
    /// How consent was collected: form, paper or verbal.
    #[arg(long, default_value = "form", value_parser = clap::builder::ValueParser::new(parse_method))]
    pub consent_method: ConsentMethod,
}

fn parse_status(s: &str) -> Result<Status, String> {
    s.parse()
}

fn parse_yes_no(s: &str) -> Result<bool, String> {
    match s.trim().to_lowercase().as_str() {
        "yes" | "y" | "true" | "oui" => Ok(true),
        "no" | "n" | "false" | "non" => Ok(false),
        other => Err(format!("{other:?}: answer yes or no")),
    }
}

fn parse_method(s: &str) -> Result<ConsentMethod, String> {
    match s.trim().to_lowercase().as_str() {
        "form" => Ok(ConsentMethod::Form),
        "paper" => Ok(ConsentMethod::Paper),
        "verbal" => Ok(ConsentMethod::Verbal),
        other => Err(format!("{other:?}: use form, paper or verbal")),
    }
}

fn set(target: &mut String, value: &Option<String>) {
    if let Some(v) = value {
        *target = v.clone();
    }
}

impl ClientFields {
    /// Writes the given fields into `c`; lists (phones, e-mails, groups…) are added to.
    pub fn apply(&self, c: &mut Client, member: &str, today: &str) {
        set(&mut c.name.display, &self.name);
        set(&mut c.name.first, &self.first);
        set(&mut c.name.last, &self.last);
        set(&mut c.client_type, &self.client_type);
        if let Some(s) = self.status {
            c.status = s;
        }
        if let Some(m) = &self.manager {
            c.manager = Some(m.clone()).filter(|m| !m.is_empty());
        }
        for p in &self.phones {
            let (label, number) = labelled(p);
            c.phones
                .insert(fiche_core::model::new_key(), Phone { label, number });
        }
        for e in &self.emails {
            let (label, address) = labelled(e);
            c.emails
                .insert(fiche_core::model::new_key(), Email { label, address });
        }
        set(&mut c.address.street, &self.street);
        set(&mut c.address.city, &self.city);
        set(&mut c.address.region, &self.region);
        set(&mut c.address.postal_code, &self.postal_code);
        set(&mut c.address.country, &self.country);
        if let Some(b) = &self.birthday {
            c.birthday = Some(b.clone());
        }
        c.groups.extend(self.groups.iter().cloned());
        set(&mut c.notes, &self.notes);
        set(&mut c.invoice.company_name, &self.company);
        set(&mut c.invoice.legal_form, &self.legal_form);
        if let Some(v) = &self.vat {
            c.invoice.vat_number = Some(v.clone());
        }
        for i in &self.ibans {
            let (label, iban) = labelled(i);
            let account = BankAccount {
                label,
                iban,
                ..BankAccount::default()
            };
            c.banks.insert(fiche_core::model::new_key(), account);
        }
        c.payment_methods
            .extend(self.payment_methods.iter().cloned());
        if let Some(given) = self.consent {
            c.consent = Some(Consent {
                given,
                on: today.to_string(),
                method: self.consent_method,
                recorded_by: member.to_string(),
            });
        }
    }
}

/// What `edit` can remove.
#[derive(Debug, Args, Default)]
pub struct Removals {
    /// Remove a phone (as typed or E.164); repeat for several.
    #[arg(long = "remove-phone", value_name = "NUMBER")]
    pub remove_phones: Vec<String>,
    /// Remove an e-mail; repeat for several.
    #[arg(long = "remove-email", value_name = "ADDRESS")]
    pub remove_emails: Vec<String>,
    /// Remove a group; repeat for several.
    #[arg(long = "remove-group", value_name = "GROUP")]
    pub remove_groups: Vec<String>,
    /// Archive the client (hidden from lists, kept whole).
    #[arg(long, conflicts_with = "unarchive")]
    pub archive: bool,
    /// Bring an archived client back.
    #[arg(long)]
    pub unarchive: bool,
}

impl Removals {
    pub fn apply(&self, c: &mut Client, normalise_phone: impl Fn(&str) -> String) {
        let phones: Vec<String> = self
            .remove_phones
            .iter()
            .map(|p| normalise_phone(p))
            .collect();
        c.phones.retain(|_, p| !phones.contains(&p.number));
        let emails: Vec<String> = self
            .remove_emails
            .iter()
            .map(|e| e.trim().to_lowercase())
            .collect();
        c.emails
            .retain(|_, e| !emails.contains(&e.address.to_lowercase()));
        for g in &self.remove_groups {
            c.groups.remove(g.trim());
        }
        if self.archive {
            c.archived = true;
        }
        if self.unarchive {
            c.archived = false;
        }
    }
}
