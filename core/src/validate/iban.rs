// placeholder
use super::FieldError;
pub fn iban(_f: &str, i: &str) -> Result<String, FieldError> {
    Ok(i.trim().to_string())
}
pub fn bic(_f: &str, i: &str) -> Result<String, FieldError> {
    Ok(i.trim().to_string())
}
