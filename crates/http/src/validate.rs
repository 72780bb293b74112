//! Small input checks shared by handlers; each returns a 400 that names the field.
//!
//! Control characters are refused here, in one place, for every text input: the JSON,
//! path and query extractors run [`clean_json`] and [`clean_text`] on all they bring in,
//! and [`text`] and [`email`] run it again for text that arrives another way.

use serde_json::Value;

use crate::error::ApiError;

/// Refuses a control character other than line feed and tab: PostgreSQL cannot store a
/// NUL, and no field of ours means any of the others.
pub fn clean_text(field: &str, value: &str) -> Result<(), ApiError> {
    match value
        .chars()
        .find(|c| c.is_control() && !matches!(c, '\n' | '\t'))
    {
        None => Ok(()),
        Some(c) => Err(ApiError::invalid(format!(
            "{field} contains a control character (U+{:04X}); only line breaks and tabs are allowed",
            u32::from(c)
        ))),
    }
}

/// [`clean_text`] on every string of a JSON document, member names included; the error
/// names the offending member's path (`seatLayout.sections[0].name`).
pub fn clean_json(value: &Value) -> Result<(), ApiError> {
    fn walk(value: &Value, path: &mut String) -> Result<(), ApiError> {
        match value {
            Value::String(text) => clean_text(if path.is_empty() { "body" } else { path }, text),
            Value::Array(items) => {
                for (index, item) in items.iter().enumerate() {
                    let len = path.len();
                    path.push_str(&format!("[{index}]"));
                    walk(item, path)?;
                    path.truncate(len);
                }
                Ok(())
            }
            Value::Object(members) => {
                for (name, member) in members {
                    let len = path.len();
                    if !path.is_empty() {
                        path.push('.');
                    }
                    clean_text("a member name", name)?;
                    path.push_str(name);
                    walk(member, path)?;
                    path.truncate(len);
                }
                Ok(())
            }
            Value::Null | Value::Bool(_) | Value::Number(_) => Ok(()),
        }
    }
    walk(value, &mut String::new())
}

/// Trims `value` and checks its length in characters.
pub fn text(field: &str, value: &str, min: usize, max: usize) -> Result<String, ApiError> {
    clean_text(field, value)?;
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
    clean_text("email", value)?;
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
    fn control_characters_are_refused_except_line_breaks_and_tabs() {
        assert!(clean_text("body", "two\nlines\tand a tab").is_ok());
        for bad in [
            "nul\0",
            "bell\u{7}",
            "cr\r",
            "esc\u{1b}[0m",
            "del\u{7f}",
            "c1\u{85}",
        ] {
            let err = clean_text("body", bad).expect_err(bad);
            assert!(err.message.starts_with("body contains a control character"));
        }
        assert!(text("name", "Kim\0", 1, 10).is_err());
        assert!(email("fan\0@example.com").is_err());
        let nested = serde_json::json!({"a": [1, {"b": "ok", "c": "x\u{0}"}]});
        let err = clean_json(&nested).expect_err("nested NUL");
        assert!(
            err.message.starts_with("a[1].c contains"),
            "{}",
            err.message
        );
        assert!(clean_json(&serde_json::json!({"k\u{0}": 1})).is_err());
        assert!(clean_json(&serde_json::json!({"a": "fine\n", "n": null})).is_ok());
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
