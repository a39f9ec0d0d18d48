//! Billing: invoice data, bank accounts, bonuses and discounts agreed with the client.

use autosurgeon::{Hydrate, Reconcile};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

/// Who invoices are made out to.
#[derive(
    Debug, Clone, PartialEq, Eq, Default, Reconcile, Hydrate, Serialize, Deserialize, JsonSchema,
)]
#[serde(default)]
pub struct Invoice {
    #[autosurgeon(missing = "Default::default")]
    pub company_name: String,
    /// SARL, SRL, S.p.A., sp. z o.o.…
    #[autosurgeon(missing = "Default::default")]
    pub legal_form: String,
    /// EU VAT number with its country prefix, normalised (`FR40303265045`).
    #[autosurgeon(missing = "Default::default")]
    pub vat_number: Option<String>,
}

/// A bank account of the client.
#[derive(
    Debug, Clone, PartialEq, Eq, Default, Reconcile, Hydrate, Serialize, Deserialize, JsonSchema,
)]
#[serde(default)]
pub struct BankAccount {
    #[autosurgeon(missing = "Default::default")]
    pub label: String,
    #[autosurgeon(missing = "Default::default")]
    pub holder: String,
    /// Compact upper-case IBAN, checksum verified.
    #[autosurgeon(missing = "Default::default")]
    pub iban: String,
    #[autosurgeon(missing = "Default::default")]
    pub bic: Option<String>,
}

/// Whether a value is a percentage (in basis points: 1250 = 12.50 %) or an amount (in cents).
#[derive(
    Debug,
    Clone,
    Copy,
    PartialEq,
    Eq,
    Default,
    Reconcile,
    Hydrate,
    Serialize,
    Deserialize,
    JsonSchema,
)]
#[serde(rename_all = "lowercase")]
pub enum ValueKind {
    #[default]
    #[autosurgeon(rename = "percent")]
    Percent,
    #[autosurgeon(rename = "amount")]
    Amount,
}

/// A bonus granted to the client.
#[derive(
    Debug, Clone, PartialEq, Eq, Default, Reconcile, Hydrate, Serialize, Deserialize, JsonSchema,
)]
#[serde(default)]
pub struct Bonus {
    #[autosurgeon(missing = "Default::default")]
    pub label: String,
    #[autosurgeon(missing = "Default::default")]
    pub kind: ValueKind,
    /// Basis points or cents, see [`ValueKind`].
    #[autosurgeon(missing = "Default::default")]
    pub value: i64,
}

/// A discount, applied from a minimum order amount.
#[derive(
    Debug, Clone, PartialEq, Eq, Default, Reconcile, Hydrate, Serialize, Deserialize, JsonSchema,
)]
#[serde(default)]
pub struct Discount {
    #[autosurgeon(missing = "Default::default")]
    pub label: String,
    #[autosurgeon(missing = "Default::default")]
    pub kind: ValueKind,
    #[autosurgeon(missing = "Default::default")]
    pub value: i64,
    /// Minimum order, in cents, from which the discount applies.
    #[autosurgeon(missing = "Default::default")]
    pub minimum: i64,
}
