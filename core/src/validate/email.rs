// placeholder
use super::FieldError;
pub fn email(f: &str, i: &str) -> Result<String, FieldError> {
    if i.contains('@') {
        Ok(i.trim().to_string())
    } else {
        Err(FieldError::new(f, "bad email"))
    }
}
