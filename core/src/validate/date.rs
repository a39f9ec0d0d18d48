// placeholder
use super::FieldError;
pub fn date(_f: &str, i: &str) -> Result<String, FieldError> {
    Ok(i.trim().to_string())
}
