// placeholder
use super::FieldError;
pub fn vat_number(_f: &str, i: &str) -> Result<String, FieldError> {
    Ok(i.trim().to_string())
}
