//! Small input checks shared by handlers; each returns a 400 that names the field.

use crate::error::ApiError;

/// Trims `value` and checks its length in characters.
pub fn text(field: &str, value: &str, min: usize, max: usize) -> Result<String, ApiError> {
    let trimmed = value.trim();
    let len = trimmed.chars().count();
    if len < min {
        return Err(ApiError::invalid(if min == 1 {
            format!("{field} is required")
        } else {
            format!("{field} must be at least {min} characters")
        }));
    }
    if len > max {
        return Err(ApiError::invalid(format!(
            "{field} must be at most {max} characters"
        )));
    }
    Ok(trimmed.to_owned())
}

/// Like [`text`] for optional fields; blank counts as absent.
pub fn optional_text(
    field: &str,
    value: Option<&str>,
    max: usize,
) -> Result<Option<String>, ApiError> {
    match value.map(str::trim).filter(|v| !v.is_empty()) {
        None => Ok(None),
        Some(v) => text(field, v, 1, max).map(Some),
    }
}

/// The optional title and body of an edit: each checked when given, and at least one
/// required (an empty edit is a mistake, not a no-op).
pub fn title_body_patch(
    title: Option<&str>,
    body: Option<&str>,
    max_title: usize,
    max_body: usize,
) -> Result<(Option<String>, Option<String>), ApiError> {
    let title = title.map(|t| text("title", t, 1, max_title)).transpose()?;
    let body = body.map(|b| text("body", b, 1, max_body)).transpose()?;
    if title.is_none() && body.is_none() {
        return Err(ApiError::invalid(
            "nothing to change: give a title or a body",
        ));
    }
    Ok((title, body))
}

/// A plausible email address: one `@`, a non-empty local part, a dotted domain.
pub fn email(value: &str) -> Result<String, ApiError> {
    let email = value.trim();
    let valid = email.len() <= 254
        && !email.chars().any(char::is_whitespace)
        && email.split_once('@').is_some_and(|(local, domain)| {
            !local.is_empty()
                && !domain.contains('@')
                && domain.contains('.')
                && !domain.starts_with('.')
                && !domain.ends_with('.')
        });
    if valid {
        Ok(email.to_owned())
    } else {
        Err(ApiError::invalid("email is not a valid address"))
    }
}

/// An integer within `[min, max]`.
pub fn range(field: &str, value: i64, min: i64, max: i64) -> Result<i64, ApiError> {
    if value < min || value > max {
        return Err(ApiError::invalid(format!(
            "{field} must be between {min} and {max}"
        )));
    }
    Ok(value)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn emails() {
        assert!(email("fan@example.com").is_ok());
        assert_eq!(email("  fan@example.com ").unwrap(), "fan@example.com");
        for bad in [
            "",
            "fan",
            "fan@",
            "@example.com",
            "fan@example",
            "a b@c.d",
            "a@b@c.d",
        ] {
            assert!(email(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn texts_and_ranges() {
        assert_eq!(text("name", "  Kim ", 1, 10).unwrap(), "Kim");
        assert!(text("name", "   ", 1, 10).is_err());
        assert!(text("name", "abcdefghijk", 1, 10).is_err());
        assert_eq!(optional_text("d", Some("  "), 5).unwrap(), None);
        assert!(range("price", -1, 0, 10).is_err());
        assert_eq!(range("price", 10, 0, 10).unwrap(), 10);
    }
}
