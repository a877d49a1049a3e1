//! The rules for instance ids: at most 256 characters, none of `/ \ # ?` or control
//! characters, and no leading `@` (reserved for entities).

use super::ClientError;

/// Checks an instance id chosen by a caller.
pub fn validate_instance_id(id: &str) -> Result<(), ClientError> {
    let reason = if id.is_empty() {
        Some("it is empty")
    } else if id.chars().count() > 256 {
        Some("it is longer than 256 characters")
    } else if id.starts_with('@') {
        Some("ids starting with '@' are reserved for entities")
    } else if id.chars().any(|c| matches!(c, '/' | '\\' | '#' | '?')) {
        Some("it contains one of / \\ # ?")
    } else if id.chars().any(char::is_control) {
        Some("it contains a control character")
    } else {
        None
    };
    match reason {
        None => Ok(()),
        Some(reason) => Err(ClientError::InvalidInstanceId {
            id: id.to_string(),
            reason,
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accepts_ordinary_ids_and_rejects_bad_ones() {
        assert!(validate_instance_id("order-42:a.b_c").is_ok());
        for bad in ["", "@counter@x", "a/b", "a\\b", "a#b", "a?b", "a\nb"] {
            assert!(validate_instance_id(bad).is_err(), "{bad:?}");
        }
        assert!(validate_instance_id(&"x".repeat(256)).is_ok());
        assert!(validate_instance_id(&"x".repeat(257)).is_err());
    }
}
