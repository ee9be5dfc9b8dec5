//! Small value types shared by the commands.

use std::fmt;
use std::str::FromStr;

/// A file id.
///
/// The stock schema uses unsigned 32-bit fids; `u64` leaves room for bigger ones.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Fid(pub u64);

/// A device id.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct DevId(pub u64);

macro_rules! id_impls {
    ($ty:ident) => {
        impl fmt::Display for $ty {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                self.0.fmt(f)
            }
        }

        impl FromStr for $ty {
            type Err = std::num::ParseIntError;

            fn from_str(s: &str) -> Result<Self, Self::Err> {
                s.parse().map(Self)
            }
        }

        impl From<u64> for $ty {
            fn from(v: u64) -> Self {
                Self(v)
            }
        }
    };
}

id_impls!(Fid);
id_impls!(DevId);

/// A storage URL exactly as the tracker sent it.
///
/// Kept verbatim, never normalised: `create_close` compares its `path` with the URL the tracker
/// built byte for byte, so dropping a `:80` or re-encoding a character would break the upload.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct StoragePath(String);

impl StoragePath {
    /// Wraps a URL, unchanged.
    pub fn new(url: impl Into<String>) -> Self {
        Self(url.into())
    }

    /// The URL as sent by the tracker.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The owned URL.
    pub fn into_string(self) -> String {
        self.0
    }
}

impl fmt::Display for StoragePath {
    /// The URL with any control character escaped ([`printable`](crate::printable)); such a URL
    /// is unusable anyway. [`as_str`](Self::as_str) gives the verbatim text.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        crate::printable(&self.0).fmt(f)
    }
}

impl AsRef<str> for StoragePath {
    fn as_ref(&self) -> &str {
        &self.0
    }
}

impl From<String> for StoragePath {
    fn from(s: String) -> Self {
        Self(s)
    }
}

impl From<&str> for StoragePath {
    fn from(s: &str) -> Self {
        Self(s.to_owned())
    }
}

/// A checksum algorithm known to the tracker.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum HashType {
    /// `MD5`.
    Md5,
    /// `SHA-1`.
    Sha1,
}

impl HashType {
    /// The tracker's name: `MD5` or `SHA-1`.
    pub fn as_str(&self) -> &'static str {
        match self {
            Self::Md5 => "MD5",
            Self::Sha1 => "SHA-1",
        }
    }

    /// The length of the hex digest.
    pub fn hex_len(&self) -> usize {
        match self {
            Self::Md5 => 32,
            Self::Sha1 => 40,
        }
    }
}

impl fmt::Display for HashType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A string that is not a known hash type or checksum.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid checksum or hash type {0:?}")]
pub struct ParseChecksumError(String);

impl FromStr for HashType {
    type Err = ParseChecksumError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "MD5" => Ok(Self::Md5),
            "SHA-1" => Ok(Self::Sha1),
            _ => Err(ParseChecksumError(s.to_owned())),
        }
    }
}

/// A checksum as the tracker writes it: `<HASH>:<hex>`, e.g. `MD5:d41d8cd98f00b204e9800998ecf8427e`.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Checksum {
    /// The algorithm.
    pub hash: HashType,
    /// The digest as lower-case hex.
    pub hex: String,
}

impl Checksum {
    /// A checksum from an algorithm and a hex digest (lower-cased).
    pub fn new(hash: HashType, hex: impl Into<String>) -> Self {
        Self {
            hash,
            hex: hex.into().to_ascii_lowercase(),
        }
    }
}

impl fmt::Display for Checksum {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}", self.hash, self.hex)
    }
}

impl FromStr for Checksum {
    type Err = ParseChecksumError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let bad = || ParseChecksumError(s.to_owned());
        let (hash, hex) = s.split_once(':').ok_or_else(bad)?;
        let hash: HashType = hash.parse().map_err(|_| bad())?;
        if hex.len() != hash.hex_len() || !hex.bytes().all(|b| b.is_ascii_hexdigit()) {
            return Err(bad());
        }
        Ok(Self {
            hash,
            hex: hex.to_owned(),
        })
    }
}

/// The `checksum` field of `file_info`, present only when the file's class has a hash type.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum ChecksumState {
    /// The stored checksum.
    Present(Checksum),
    /// The class has a hash type but no checksum is stored (`MISSING`).
    Missing,
}

impl fmt::Display for ChecksumState {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Present(c) => c.fmt(f),
            Self::Missing => f.write_str("MISSING"),
        }
    }
}

impl FromStr for ChecksumState {
    type Err = ParseChecksumError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        if s == "MISSING" {
            Ok(Self::Missing)
        } else {
            s.parse().map(Self::Present)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn checksum_roundtrip() {
        let c: Checksum = "MD5:1a47375d6f1dc45dc5e64446f51bb50c".parse().unwrap();
        assert_eq!(c.hash, HashType::Md5);
        assert_eq!(c.to_string(), "MD5:1a47375d6f1dc45dc5e64446f51bb50c");
        let s: Checksum = format!("SHA-1:{}", "a".repeat(40)).parse().unwrap();
        assert_eq!(s.hash, HashType::Sha1);
        assert!("bogus".parse::<Checksum>().is_err());
        assert!("MD5:123".parse::<Checksum>().is_err());
        assert!("SHA1:aa".parse::<Checksum>().is_err());
        assert_eq!(
            "MISSING".parse::<ChecksumState>(),
            Ok(ChecksumState::Missing)
        );
    }

    #[test]
    fn ids_parse() {
        assert_eq!("90001".parse::<Fid>(), Ok(Fid(90001)));
        assert_eq!(DevId(3).to_string(), "3");
    }
}
