//! Keys: arbitrary non-empty byte strings, and the store-time key policy.

use std::fmt;

use bytes::{Bytes, BytesMut};

/// A MogileFS key: any byte string.
///
/// The tracker stores and returns bytes; a real 2.73 tracker round-trips keys holding NUL bytes
/// and keys far longer than 255 bytes, so a key read from the tracker is never rejected. The
/// conversions from `&str`, `String`, `&[u8]`, `Vec<u8>` and [`Bytes`] are infallible (an empty
/// key is answered by the tracker with `no_key`); use [`Key::try_new`] or a [`KeyPolicy`] to
/// refuse bad keys up front.
#[derive(Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct Key(Bytes);

impl Key {
    /// A key from bytes, refusing the empty key.
    ///
    /// # Errors
    /// [`KeyError::Empty`].
    pub fn try_new(bytes: impl Into<Bytes>) -> Result<Self, KeyError> {
        let bytes = bytes.into();
        if bytes.is_empty() {
            Err(KeyError::Empty)
        } else {
            Ok(Self(bytes))
        }
    }

    /// The key's bytes.
    pub fn as_bytes(&self) -> &[u8] {
        &self.0
    }

    /// The key's bytes as a cheaply clonable [`Bytes`].
    pub fn into_bytes(self) -> Bytes {
        self.0
    }

    /// The key as UTF-8 text, if it is.
    pub fn to_str(&self) -> Option<&str> {
        std::str::from_utf8(&self.0).ok()
    }

    /// The number of bytes.
    pub fn len(&self) -> usize {
        self.0.len()
    }

    /// Whether the key is empty (which the tracker refuses with `no_key`).
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

impl fmt::Display for Key {
    /// A UTF-8 key without control characters prints as it is; any other key (not UTF-8, or
    /// holding ESC, CR, LF, ...) prints with the wire escaping, so no key reaches a terminal or a
    /// log line raw.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.to_str().filter(|s| !s.contains(char::is_control)) {
            Some(s) => f.write_str(s),
            None => {
                let mut out = BytesMut::new();
                crate::escape::escape(&self.0, &mut out);
                f.write_str(&String::from_utf8_lossy(&out))
            }
        }
    }
}

impl fmt::Debug for Key {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Key({:?})", String::from_utf8_lossy(&self.0))
    }
}

impl AsRef<[u8]> for Key {
    fn as_ref(&self) -> &[u8] {
        &self.0
    }
}

impl From<&str> for Key {
    fn from(s: &str) -> Self {
        Self(Bytes::copy_from_slice(s.as_bytes()))
    }
}

impl From<String> for Key {
    fn from(s: String) -> Self {
        Self(Bytes::from(s))
    }
}

impl From<&String> for Key {
    fn from(s: &String) -> Self {
        Self::from(s.as_str())
    }
}

impl From<&[u8]> for Key {
    fn from(b: &[u8]) -> Self {
        Self(Bytes::copy_from_slice(b))
    }
}

impl<const N: usize> From<&[u8; N]> for Key {
    fn from(b: &[u8; N]) -> Self {
        Self(Bytes::copy_from_slice(b))
    }
}

impl From<Vec<u8>> for Key {
    fn from(b: Vec<u8>) -> Self {
        Self(Bytes::from(b))
    }
}

impl From<Bytes> for Key {
    fn from(b: Bytes) -> Self {
        Self(b)
    }
}

/// Why a key is refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum KeyError {
    /// The key is empty.
    #[error("empty key")]
    Empty,
    /// The key is longer than the policy allows.
    #[error("key is {len} bytes long, more than the {max} allowed")]
    TooLong {
        /// The key's length in bytes.
        len: usize,
        /// The policy's maximum.
        max: usize,
    },
    /// The key holds a NUL byte (the tracker joins repeated arguments with NUL).
    #[error("key contains a NUL byte")]
    ContainsNul,
}

/// Which keys we agree to create (store, rename target). Keys read from the tracker are never
/// checked.
///
/// With the `serde` feature it is `Serialize` and `Deserialize` as `"strict"` or `"lenient"`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[cfg_attr(
    feature = "serde",
    derive(serde::Serialize, serde::Deserialize),
    serde(rename_all = "snake_case")
)]
#[non_exhaustive]
pub enum KeyPolicy {
    /// 1..=255 bytes (MySQL's `VARCHAR(255)` truncates or refuses longer keys) and no NUL.
    #[default]
    Strict,
    /// Any non-empty key.
    Lenient,
}

impl KeyPolicy {
    /// The longest key [`KeyPolicy::Strict`] accepts.
    pub const STRICT_MAX_LEN: usize = 255;

    /// Checks a key we are about to create.
    ///
    /// # Errors
    /// The first rule the key breaks.
    pub fn check(&self, key: &Key) -> Result<(), KeyError> {
        if key.is_empty() {
            return Err(KeyError::Empty);
        }
        if *self == Self::Strict {
            if key.len() > Self::STRICT_MAX_LEN {
                return Err(KeyError::TooLong {
                    len: key.len(),
                    max: Self::STRICT_MAX_LEN,
                });
            }
            if key.as_bytes().contains(&0) {
                return Err(KeyError::ContainsNul);
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn conversions_and_display() {
        assert_eq!(Key::from("a b").as_bytes(), b"a b");
        assert_eq!(Key::from(String::from("x")), Key::from(&b"x"[..]));
        assert_eq!(Key::from(vec![0xff, b'a']).to_string(), "%FFa");
        assert_eq!(Key::from("é").to_string(), "é");
        assert_eq!(
            Key::from("a\u{1b}[31m\r\nb").to_string(),
            "a%1B%5B31m%0D%0Ab"
        );
        assert_eq!(Key::from("x\u{85}").to_string(), "x%C2%85");
        assert_eq!(Key::try_new(Bytes::new()), Err(KeyError::Empty));
        assert!(Key::try_new(&b"\0"[..]).is_ok());
    }

    #[test]
    fn policies() {
        let long = Key::from(vec![b'k'; 256]);
        let max = Key::from(vec![b'k'; 255]);
        let nul = Key::from("a\0b");
        assert_eq!(KeyPolicy::Strict.check(&max), Ok(()));
        assert_eq!(
            KeyPolicy::Strict.check(&long),
            Err(KeyError::TooLong { len: 256, max: 255 })
        );
        assert_eq!(KeyPolicy::Strict.check(&nul), Err(KeyError::ContainsNul));
        assert_eq!(KeyPolicy::Lenient.check(&long), Ok(()));
        assert_eq!(KeyPolicy::Lenient.check(&nul), Ok(()));
        assert_eq!(
            KeyPolicy::Lenient.check(&Key::default()),
            Err(KeyError::Empty)
        );
        assert_eq!(KeyPolicy::default(), KeyPolicy::Strict);
    }
}
