//! Checks for common text fields, shared by every capability's handlers.

use crate::error::FieldError;

/// Trimmed text of `min..=max` characters, without control characters other than line breaks and tabs.
pub fn text(raw: &str, min: usize, max: usize) -> Result<String, FieldError> {
    let t = raw.trim();
    if t.chars()
        .any(|c| c.is_control() && !matches!(c, '\n' | '\r' | '\t'))
    {
        return Err(FieldError::new("invalid", "contains control characters"));
    }
    match t.chars().count() {
        n if n < min => Err(FieldError::new("required", "must not be empty")),
        n if n > max => Err(FieldError::new(
            "too_long",
            format!("at most {max} characters"),
        )),
        _ => Ok(t.to_string()),
    }
}

/// A telephone number: 5 to 20 digits, `-`, `+` and spaces.
pub fn phone(raw: &str) -> Result<String, FieldError> {
    let t = raw.trim();
    let ok = (5..=20).contains(&t.len())
        && t.chars()
            .all(|c| c.is_ascii_digit() || matches!(c, '-' | '+' | ' '));
    if ok {
        Ok(t.to_string())
    } else {
        Err(FieldError::new(
            "invalid",
            "a telephone number: digits, '-', '+' and spaces",
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn text_is_trimmed_and_bounded() {
        assert_eq!(text("  孜龙村  ", 1, 3).unwrap(), "孜龙村");
        assert_eq!(text("   ", 1, 3).unwrap_err().code, "required");
        assert_eq!(text("四个汉字", 1, 3).unwrap_err().code, "too_long");
        assert_eq!(text("a\u{0}b", 0, 9).unwrap_err().code, "invalid");
        assert!(text("第一行\n第二行", 0, 20).is_ok());
    }

    #[test]
    fn phones_are_digits_and_separators() {
        assert!(phone("028-86630890").is_ok());
        assert!(phone("+86 139 0818 1234").is_ok());
        assert_eq!(phone("call me").unwrap_err().code, "invalid");
        assert_eq!(phone("123").unwrap_err().code, "invalid");
    }
}
