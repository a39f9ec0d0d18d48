//! Input validation: every value is checked and normalised here before it may reach a document.
//!
//! Each validator takes the name of the field it checks, so that its error says which field is
//! wrong and why (`phones.mobile: "+40 7" is too short for a phone number`).

mod country;
mod date;
mod email;
mod iban;
mod phone;
mod vat;

pub use country::{country, is_country};
pub use date::date;
pub use email::email;
pub use iban::{bic, iban};
pub use phone::phone;
pub use vat::vat_number;

/// A value that was refused, with the field it was meant for and the reason.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{field}: {reason}")]
pub struct FieldError {
    /// Dotted path of the field, e.g. `phones.3f2a….number` or `invoice.vat_number`.
    pub field: String,
    /// What is wrong, in words a user can act on.
    pub reason: String,
}

impl FieldError {
    pub fn new(field: impl Into<String>, reason: impl Into<String>) -> Self {
        Self {
            field: field.into(),
            reason: reason.into(),
        }
    }
}

/// Every field error of one record, so a form can show them all at once.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{}", .0.iter().map(ToString::to_string).collect::<Vec<_>>().join("; "))]
pub struct ValidationErrors(pub Vec<FieldError>);

/// Settings that change how values are read; defaults suit a French-speaking front desk.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rules {
    /// ISO 3166 alpha-2 region assumed for phone numbers written without `+` (e.g. "FR").
    pub default_region: String,
}

impl Default for Rules {
    fn default() -> Self {
        Self {
            default_region: "FR".to_string(),
        }
    }
}

/// The input as shown in an error: quoted, escaped, and cut after 40 characters.
pub(crate) fn quoted(input: &str) -> String {
    const MAX_CHARS: usize = 40;
    if input.chars().count() <= MAX_CHARS {
        format!("{input:?}")
    } else {
        let head: String = input.chars().take(MAX_CHARS).collect();
        format!("{head:?}…")
    }
}

/// The one assertion every validator's test table makes: the normalised value, or an error
/// for `field` whose reason contains the expected words.
#[cfg(test)]
pub(crate) fn assert_validates(
    field: &str,
    got: &Result<String, FieldError>,
    input: &str,
    expected: Result<&str, &str>,
) {
    match (got, expected) {
        (Ok(value), Ok(want)) => assert_eq!(value, want, "input {input:?}"),
        (Err(e), Err(want)) => {
            assert_eq!(e.field, field, "input {input:?}");
            assert!(
                e.reason.contains(want),
                "input {input:?}: reason {:?} lacks {want:?}",
                e.reason
            );
        }
        _ => panic!("input {input:?}: got {got:?}, expected {expected:?}"),
    }
}
