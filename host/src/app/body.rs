//! Turning a queue message's body or a blob's content into the type the function takes:
//! `String` (UTF-8 text), `Vec<u8>` (as is) or any `Deserialize` type (JSON).
//!
//! The trigger attributes pick the function by the parameter's type as written. A body that
//! does not convert is a failed run (counted towards the poison limit), never a panic.

use serde::de::DeserializeOwned;

use crate::engine::failure::Failure;

/// The failure type of a body that does not convert.
pub const BAD_BODY: &str = "BadTriggerBody";

/// The bytes as they are.
pub fn bytes(body: Vec<u8>) -> Result<Vec<u8>, Failure> {
    Ok(body)
}

/// The bytes as UTF-8 text.
pub fn string(body: Vec<u8>) -> Result<String, Failure> {
    String::from_utf8(body)
        .map_err(|e| Failure::new(BAD_BODY, format!("the body is not UTF-8 text: {e}")))
}

/// The bytes as JSON of type `T`.
pub fn json<T: DeserializeOwned>(body: Vec<u8>) -> Result<T, Failure> {
    serde_json::from_slice(&body).map_err(|e| {
        Failure::new(
            BAD_BODY,
            format!(
                "the body is not JSON of type {}: {e}",
                std::any::type_name::<T>()
            ),
        )
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bodies_convert_or_fail() {
        assert_eq!(string(b"hi".to_vec()).unwrap(), "hi");
        assert_eq!(
            string(vec![0xff]).unwrap_err().details().error_type,
            BAD_BODY
        );
        assert_eq!(bytes(vec![1, 2]).unwrap(), vec![1, 2]);
        let n: u32 = json(b"42".to_vec()).unwrap();
        assert_eq!(n, 42);
        assert!(json::<u32>(b"\"x\"".to_vec()).is_err());
    }
}
