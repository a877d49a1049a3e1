//! Turning a queue message's body or a blob's content into the type the function takes:
//! `String` (UTF-8 text), `Vec<u8>` (as is) or any `Deserialize` type (JSON).
//!
//! The conversion is chosen by the parameter's type itself, not by its name, so an alias of
//! `String` is still text: [`Decode`] picks it by method resolution (an exact `String` or
//! `Vec<u8>` impl is found before the JSON one, which takes a further reference). A body that
//! does not convert is a failed run (counted towards the poison limit), never a panic.

use std::marker::PhantomData;

use serde::de::DeserializeOwned;

use durable_engine::failure::Failure;

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

/// Chooses the conversion for a parameter of type `T`:
/// `(&Decode::<T>::new()).decode(body)` with [`DecodeText`], [`DecodeBytes`] and
/// [`DecodeJson`] in scope.
pub struct Decode<T>(PhantomData<T>);

impl<T> Decode<T> {
    /// The chooser for `T`.
    #[allow(clippy::new_without_default)]
    pub fn new() -> Self {
        Self(PhantomData)
    }
}

/// `String`: UTF-8 text.
pub trait DecodeText {
    /// Converts the body.
    fn decode(&self, body: Vec<u8>) -> Result<String, Failure>;
}

impl DecodeText for Decode<String> {
    fn decode(&self, body: Vec<u8>) -> Result<String, Failure> {
        string(body)
    }
}

/// `Vec<u8>`: the bytes as they are.
pub trait DecodeBytes {
    /// Converts the body.
    fn decode(&self, body: Vec<u8>) -> Result<Vec<u8>, Failure>;
}

impl DecodeBytes for Decode<Vec<u8>> {
    fn decode(&self, body: Vec<u8>) -> Result<Vec<u8>, Failure> {
        bytes(body)
    }
}

/// Any other `Deserialize` type: JSON.
pub trait DecodeJson<T> {
    /// Converts the body.
    fn decode(&self, body: Vec<u8>) -> Result<T, Failure>;
}

impl<T: DeserializeOwned> DecodeJson<T> for &Decode<T> {
    fn decode(&self, body: Vec<u8>) -> Result<T, Failure> {
        json(body)
    }
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

    #[test]
    #[allow(clippy::needless_borrow)] // the `&` selects the impl, as in the expansion
    fn the_parameter_type_chooses_the_conversion_through_aliases() {
        type Text = String;
        type Raw = Vec<u8>;
        let text: Text = (&Decode::<Text>::new()).decode(b"\"hi\"".to_vec()).unwrap();
        assert_eq!(text, "\"hi\"", "text, not JSON");
        let raw: Raw = (&Decode::<Raw>::new()).decode(b"[1]".to_vec()).unwrap();
        assert_eq!(raw, b"[1]".to_vec(), "bytes, not JSON");
        let n: u32 = (&Decode::<u32>::new()).decode(b"7".to_vec()).unwrap();
        assert_eq!(n, 7);
    }
}
