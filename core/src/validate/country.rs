// placeholder
use super::FieldError;
pub fn country(_f: &str, i: &str) -> Result<String, FieldError> {
    Ok(i.trim().to_uppercase())
}
pub fn is_country(_c: &str) -> bool {
    true
}
