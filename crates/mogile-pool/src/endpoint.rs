//! The endpoint identifier.

use std::fmt;
use std::sync::Arc;

/// An endpoint the pool connects to, as a `host:port` string.
///
/// Cloning is cheap (the string is shared). The pool never parses it: it is handed back to
/// [`Connector::connect`](crate::Connector::connect), which decides what it means.
#[derive(Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Endpoint(Arc<str>);

impl Endpoint {
    /// Creates an endpoint from a `host:port` string.
    pub fn new(addr: impl Into<String>) -> Self {
        Self(Arc::from(addr.into()))
    }

    /// The endpoint as a string slice.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for Endpoint {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl fmt::Debug for Endpoint {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(&*self.0, f)
    }
}

impl From<&str> for Endpoint {
    fn from(addr: &str) -> Self {
        Self(Arc::from(addr))
    }
}

impl From<String> for Endpoint {
    fn from(addr: String) -> Self {
        Self::new(addr)
    }
}

impl From<&Self> for Endpoint {
    fn from(ep: &Self) -> Self {
        ep.clone()
    }
}

impl AsRef<str> for Endpoint {
    fn as_ref(&self) -> &str {
        &self.0
    }
}
