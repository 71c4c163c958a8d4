//! Field rules for everything a client sends. Each returns the cleaned value or an
//! `ApiError::Validation` whose message starts with the field name.

use confab_engine::model::PageRequest;

use crate::error::{ApiError, ApiResult};
use crate::wire::rest::PageQuery;

fn invalid(field: &str, rule: &str) -> ApiError {
    ApiError::Validation(format!("{field}: {rule}"))
}

fn has_control(s: &str) -> bool {
    s.chars().any(char::is_control)
}

/// 3..=32 of `a-z 0-9 _ .`, compared case-insensitively (returned lower-case).
pub fn username(raw: &str) -> ApiResult<String> {
    let lower = raw.to_ascii_lowercase();
    let ok = (3..=32).contains(&lower.len())
        && lower
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_' || b == b'.');
    if ok {
        Ok(lower)
    } else {
        Err(invalid(
            "username",
            "must be 3 to 32 characters of a-z, 0-9, '_' or '.'",
        ))
    }
}

/// E.164: `+`, then 2..=15 digits, the first not 0.
pub fn phone(raw: &str) -> ApiResult<String> {
    let digits = raw.strip_prefix('+').unwrap_or("");
    let ok = (2..=15).contains(&digits.len())
        && digits.bytes().all(|b| b.is_ascii_digit())
        && !digits.starts_with('0');
    if ok {
        Ok(raw.to_owned())
    } else {
        Err(invalid("phone", "must be in E.164 form, e.g. +14155550100"))
    }
}

pub fn password(raw: &str) -> ApiResult<()> {
    if (8..=128).contains(&raw.chars().count()) {
        Ok(())
    } else {
        Err(invalid("password", "must be 8 to 128 characters"))
    }
}

/// A trimmed, single-line name of 1..=`max` characters.
pub fn name(field: &str, raw: &str, max: usize) -> ApiResult<String> {
    let trimmed = raw.trim();
    let len = trimmed.chars().count();
    if len == 0 || len > max || has_control(trimmed) {
        return Err(invalid(
            field,
            &format!("must be 1 to {max} characters without control characters"),
        ));
    }
    Ok(trimmed.to_owned())
}

pub fn display_name(raw: &str) -> ApiResult<String> {
    name("display_name", raw, 64)
}

pub fn about(raw: &str) -> ApiResult<String> {
    if raw.chars().count() > 140 || has_control(raw) {
        return Err(invalid(
            "about",
            "must be at most 140 characters without control characters",
        ));
    }
    Ok(raw.trim().to_owned())
}

/// A media reference (uploads come with the media feature).
pub fn photo(raw: &str) -> ApiResult<String> {
    let ok = (1..=128).contains(&raw.len())
        && raw
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'-' | b'.'));
    if ok {
        Ok(raw.to_owned())
    } else {
        Err(invalid(
            "photo",
            "must be a media reference: 1 to 128 of A-Z a-z 0-9 _ - .",
        ))
    }
}

pub fn device_name(raw: Option<&str>) -> ApiResult<String> {
    match raw {
        None => Ok("unknown device".to_owned()),
        Some(raw) => name("device_name", raw, 64),
    }
}

pub const DEFAULT_PAGE: usize = 50;
pub const MAX_PAGE: usize = 100;

pub fn page(q: PageQuery) -> ApiResult<PageRequest> {
    let limit = q.limit.unwrap_or(DEFAULT_PAGE);
    if !(1..=MAX_PAGE).contains(&limit) {
        return Err(ApiError::InvalidQuery(format!(
            "limit: must be 1 to {MAX_PAGE}"
        )));
    }
    if let Some(c) = &q.cursor {
        if c.is_empty() || c.len() > 512 {
            return Err(ApiError::InvalidCursor);
        }
    }
    Ok(PageRequest {
        after: q.cursor,
        limit,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn usernames() {
        assert_eq!(username("Ana_1.x").unwrap(), "ana_1.x");
        for bad in ["ab", "a b", "ana!", "é_ana", &"a".repeat(33)] {
            assert!(username(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn phones() {
        assert!(phone("+14155550100").is_ok());
        for bad in ["14155550100", "+0123", "+1", "+1234567890123456", "+1-415"] {
            assert!(phone(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn names_are_trimmed_and_bounded() {
        assert_eq!(display_name("  Ana  ").unwrap(), "Ana");
        assert!(display_name("   ").is_err());
        assert!(display_name("a\nb").is_err());
        assert!(
            display_name(&"é".repeat(64)).is_ok(),
            "counts characters, not bytes"
        );
        assert!(display_name(&"é".repeat(65)).is_err());
    }
}
