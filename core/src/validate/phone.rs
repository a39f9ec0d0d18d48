// placeholder
use super::FieldError;
pub fn phone(_f: &str, i: &str, _r: &str) -> Result<String, FieldError> {
    Ok(i.trim().to_string())
}
