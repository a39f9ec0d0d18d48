//! The front desk's walk-in form: the few fields typed at the desk for a new client, made
//! into a client record (and read back from one), so every front end fills records alike.

use crate::model::{new_key, Client, Consent, ConsentMethod, Email, Phone};

/// What the walk-in form holds. Empty strings are fields left blank.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct WalkIn {
    /// One of the organisation's client types (`person`, `company`…).
    pub client_type: String,
    pub first_name: String,
    pub last_name: String,
    /// For a company: the name on invoices (and shown in lists when there is no person name).
    pub company_name: String,
    pub vat_number: String,
    /// As typed: national numbers are read with the store's default region.
    pub phone: String,
    pub email: String,
    /// `YYYY-MM-DD`, or empty.
    pub birthday: String,
    pub groups: Vec<String>,
    pub notes: String,
    /// The client agreed to the processing of their data (recorded with who and when).
    pub consent: bool,
}

impl WalkIn {
    /// The client record this form describes, filed by `member` on `today` (`YYYY-MM-DD`).
    pub fn into_client(self, member: &str, today: &str) -> Client {
        let mut c = Client::default();
        self.apply(&mut c, member, today);
        c
    }

    /// Writes the form over `c`: the first phone and e-mail are replaced (others kept), as
    /// is everything the form shows; consent once given keeps its first record.
    pub fn apply(self, c: &mut Client, member: &str, today: &str) {
        c.client_type = self.client_type;
        c.name.first = self.first_name;
        c.name.last = self.last_name;
        c.invoice.company_name = self.company_name;
        c.invoice.vat_number = Some(self.vat_number).filter(|v| !v.trim().is_empty());
        c.birthday = Some(self.birthday).filter(|b| !b.trim().is_empty());
        c.groups = self
            .groups
            .into_iter()
            .filter(|g| !g.trim().is_empty())
            .collect();
        c.notes = self.notes;
        match c.phones.values_mut().next() {
            Some(p) if self.phone.trim().is_empty() => p.number.clear(),
            Some(p) => p.number = self.phone,
            None if !self.phone.trim().is_empty() => {
                let phone = Phone {
                    label: "mobile".into(),
                    number: self.phone,
                };
                c.phones.insert(new_key(), phone);
            }
            None => {}
        }
        c.phones.retain(|_, p| !p.number.trim().is_empty());
        match c.emails.values_mut().next() {
            Some(e) => e.address = self.email,
            None if !self.email.trim().is_empty() => {
                let email = Email {
                    label: String::new(),
                    address: self.email,
                };
                c.emails.insert(new_key(), email);
            }
            None => {}
        }
        c.emails.retain(|_, e| !e.address.trim().is_empty());
        if self.consent && !c.consent.as_ref().is_some_and(|k| k.given) {
            c.consent = Some(Consent {
                given: true,
                on: today.to_string(),
                method: ConsentMethod::Form,
                recorded_by: member.to_string(),
            });
        }
    }

    /// The form as it shows an existing client.
    pub fn of(c: &Client) -> Self {
        Self {
            client_type: c.client_type.clone(),
            first_name: c.name.first.clone(),
            last_name: c.name.last.clone(),
            company_name: c.invoice.company_name.clone(),
            vat_number: c.invoice.vat_number.clone().unwrap_or_default(),
            phone: c
                .phones
                .values()
                .next()
                .map(|p| p.number.clone())
                .unwrap_or_default(),
            email: c
                .emails
                .values()
                .next()
                .map(|e| e.address.clone())
                .unwrap_or_default(),
            birthday: c.birthday.clone().unwrap_or_default(),
            groups: c.groups.iter().cloned().collect(),
            notes: c.notes.clone(),
            consent: c.consent.as_ref().is_some_and(|k| k.given),
        }
    }
}

/// Today's date in UTC, `YYYY-MM-DD` (when a form records consent).
pub fn today() -> String {
    let d = time::OffsetDateTime::now_utc().date();
    format!("{:04}-{:02}-{:02}", d.year(), u8::from(d.month()), d.day())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_form_makes_a_record_and_reads_back() {
        let form = WalkIn {
            client_type: "person".into(),
            first_name: "Ioana".into(),
            last_name: "Popescu".into(),
            phone: "+40721234567".into(),
            email: "ioana@example.ro".into(),
            groups: vec!["vip".into(), " ".into()],
            consent: true,
            ..Default::default()
        };
        let c = form.clone().into_client("desk-1", "2026-11-23");
        assert_eq!(c.display_name(), "Ioana Popescu");
        assert_eq!(c.consent.as_ref().unwrap().recorded_by, "desk-1");
        let back = WalkIn::of(&c);
        assert_eq!(back.groups, vec!["vip".to_string()]);
        assert_eq!(
            WalkIn {
                groups: vec!["vip".into()],
                ..form
            },
            back
        );
        // Clearing the phone on the form removes it; consent keeps its first record.
        let mut edited = c.clone();
        WalkIn {
            phone: String::new(),
            ..back
        }
        .apply(&mut edited, "desk-2", "2026-12-01");
        assert!(edited.phones.is_empty());
        assert_eq!(edited.consent.unwrap().on, "2026-11-23");
    }
}
