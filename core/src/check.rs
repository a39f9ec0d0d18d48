//! Checks a whole record before it is written: every field validated and normalised, every
//! error collected with the field it belongs to.

use std::collections::BTreeMap;

use crate::model::{Address, Client, Contact, Email, OrgSettings, Phone};
use crate::validate::{self, FieldError, Rules, ValidationErrors};

/// Collects the errors of one record while normalising it in place.
struct Checker<'a> {
    rules: &'a Rules,
    errors: Vec<FieldError>,
}

impl Checker<'_> {
    fn field(&mut self, value: &mut String, f: impl FnOnce(&str) -> Result<String, FieldError>) {
        match f(value) {
            Ok(v) => *value = v,
            Err(e) => self.errors.push(e),
        }
    }

    fn optional(
        &mut self,
        value: &mut Option<String>,
        f: impl FnOnce(&str) -> Result<String, FieldError>,
    ) {
        if let Some(v) = value {
            if v.trim().is_empty() {
                *value = None;
            } else {
                self.field(v, f);
            }
        }
    }

    fn date(&mut self, field: &str, value: &mut String) {
        self.field(value, |v| validate::date(field, v));
    }

    fn optional_date(&mut self, field: &str, value: &mut Option<String>) {
        self.optional(value, |v| validate::date(field, v));
    }

    fn phones(&mut self, prefix: &str, phones: &mut BTreeMap<String, Phone>) {
        phones.retain(|_, p| !p.number.trim().is_empty());
        let region = self.rules.default_region.clone();
        for (k, p) in phones.iter_mut() {
            let field = format!("{prefix}.{k}.number");
            self.field(&mut p.number, |v| validate::phone(&field, v, &region));
            p.label = p.label.trim().to_string();
        }
    }

    fn emails(&mut self, prefix: &str, emails: &mut BTreeMap<String, Email>) {
        emails.retain(|_, e| !e.address.trim().is_empty());
        for (k, e) in emails.iter_mut() {
            let field = format!("{prefix}.{k}.address");
            self.field(&mut e.address, |v| validate::email(&field, v));
            e.label = e.label.trim().to_string();
        }
    }

    fn address(&mut self, prefix: &str, a: &mut Address) {
        for v in [
            &mut a.street,
            &mut a.city,
            &mut a.region,
            &mut a.postal_code,
        ] {
            *v = v.trim().to_string();
        }
        if !a.country.trim().is_empty() {
            let field = format!("{prefix}.country");
            self.field(&mut a.country, |v| validate::country(&field, v));
        } else {
            a.country.clear();
        }
    }

    fn finish(self) -> Result<(), ValidationErrors> {
        if self.errors.is_empty() {
            Ok(())
        } else {
            Err(ValidationErrors(self.errors))
        }
    }
}

/// Validates and normalises a client; on error nothing should be written.
pub fn client(
    c: &mut Client,
    rules: &Rules,
    settings: &OrgSettings,
) -> Result<(), ValidationErrors> {
    let mut ck = Checker {
        rules,
        errors: Vec::new(),
    };
    c.name.display = c.name.display.trim().to_string();
    c.name.first = c.name.first.trim().to_string();
    c.name.last = c.name.last.trim().to_string();
    c.invoice.company_name = c.invoice.company_name.trim().to_string();
    if c.display_name().is_empty() {
        ck.errors.push(FieldError::new(
            "name",
            "a client needs a name: a display name, a first or last name, or a company name",
        ));
    }
    c.client_type = c.client_type.trim().to_lowercase();
    if c.client_type.is_empty() {
        c.client_type = "person".to_string();
    }
    if !settings.client_types.contains_key(&c.client_type) {
        let known: Vec<_> = settings.client_types.keys().cloned().collect();
        ck.errors.push(FieldError::new(
            "client_type",
            format!(
                "{:?} is not a client type of this organisation (known: {})",
                c.client_type,
                known.join(", ")
            ),
        ));
    }
    if let Some(m) = &c.manager {
        if !settings.members.is_empty() && !settings.members.contains_key(m) {
            ck.errors.push(FieldError::new(
                "manager",
                format!("{m:?} is not a member of this organisation"),
            ));
        }
    }
    ck.optional_date("birthday", &mut c.birthday);
    ck.phones("phones", &mut c.phones);
    ck.emails("emails", &mut c.emails);
    ck.address("address", &mut c.address);
    c.groups = c
        .groups
        .iter()
        .map(|g| g.trim().to_string())
        .filter(|g| !g.is_empty())
        .collect();
    ck.optional(&mut c.invoice.vat_number, |v| {
        validate::vat_number("invoice.vat_number", v)
    });
    for (k, b) in c.banks.iter_mut() {
        let field = format!("banks.{k}.iban");
        ck.field(&mut b.iban, |v| validate::iban(&field, v));
        let field = format!("banks.{k}.bic");
        ck.optional(&mut b.bic, |v| validate::bic(&field, v));
    }
    for (k, b) in &c.bonuses {
        if b.value < 0 {
            ck.errors.push(FieldError::new(
                format!("bonuses.{k}.value"),
                "a bonus cannot be negative",
            ));
        }
    }
    for (k, d) in &c.discounts {
        if d.value < 0 || d.minimum < 0 {
            ck.errors.push(FieldError::new(
                format!("discounts.{k}"),
                "a discount and its minimum cannot be negative",
            ));
        }
    }
    for (k, s) in c.sites.iter_mut() {
        ck.address(&format!("sites.{k}.address"), &mut s.address);
    }
    for (k, a) in c.activities.iter_mut() {
        ck.date(&format!("activities.{k}.date"), &mut a.date);
        if a.title.trim().is_empty() {
            ck.errors.push(FieldError::new(
                format!("activities.{k}.title"),
                "an activity needs a title",
            ));
        }
    }
    for (k, i) in c.installations.iter_mut() {
        ck.optional_date(
            &format!("installations.{k}.installed_on"),
            &mut i.installed_on,
        );
        if let Some(site) = &i.site {
            if !c.sites.contains_key(site) {
                ck.errors.push(FieldError::new(
                    format!("installations.{k}.site"),
                    format!("no site {site:?} on this client"),
                ));
            }
        }
    }
    for (k, i) in c.interventions.iter_mut() {
        ck.date(&format!("interventions.{k}.date"), &mut i.date);
        if let Some(inst) = &i.installation {
            if !c.installations.contains_key(inst) {
                ck.errors.push(FieldError::new(
                    format!("interventions.{k}.installation"),
                    format!("no installation {inst:?} on this client"),
                ));
            }
        }
    }
    for (k, ct) in c.contracts.iter_mut() {
        ck.date(&format!("contracts.{k}.starts_on"), &mut ct.starts_on);
        ck.optional_date(&format!("contracts.{k}.ends_on"), &mut ct.ends_on);
        if let (Some(end), Ok(start)) = (&ct.ends_on, validate::date("", &ct.starts_on)) {
            if end.as_str() < start.as_str() {
                ck.errors.push(FieldError::new(
                    format!("contracts.{k}.ends_on"),
                    "a contract cannot end before it starts",
                ));
            }
        }
    }
    for (k, i) in c.interests.iter_mut() {
        ck.date(&format!("interests.{k}.on"), &mut i.on);
    }
    for (k, r) in c.renewables.iter_mut() {
        for (pk, d) in r.purchases.iter_mut() {
            ck.date(&format!("renewables.{k}.purchases.{pk}"), d);
        }
        ck.optional_date(&format!("renewables.{k}.next_due"), &mut r.next_due);
    }
    if let Some(consent) = &mut c.consent {
        ck.date("consent.on", &mut consent.on);
        if consent.recorded_by.trim().is_empty() {
            ck.errors.push(FieldError::new(
                "consent.recorded_by",
                "say who recorded the consent",
            ));
        }
    }
    ck.finish()
}

/// Validates and normalises a contact.
pub fn contact(c: &mut Contact, rules: &Rules) -> Result<(), ValidationErrors> {
    let mut ck = Checker {
        rules,
        errors: Vec::new(),
    };
    c.name.first = c.name.first.trim().to_string();
    c.name.last = c.name.last.trim().to_string();
    c.name.display = c.name.display.trim().to_string();
    if c.name.display.is_empty() && c.name.first.is_empty() && c.name.last.is_empty() {
        ck.errors
            .push(FieldError::new("name", "a contact needs a name"));
    }
    ck.phones("phones", &mut c.phones);
    ck.emails("emails", &mut c.emails);
    ck.finish()
}
