//! Errors returned by the pool.

use std::sync::Arc;

use crate::Endpoint;

/// An error from [`Pool::get`](crate::Pool::get).
///
/// Every variant tied to one endpoint names it, so a caller trying several endpoints can report
/// which one failed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum PoolError<E> {
    /// Every connection to the endpoint stayed in use for the whole `wait_timeout`.
    #[error("timed out waiting for a free connection to {endpoint}")]
    WaitTimeout {
        /// The endpoint whose pool was exhausted.
        endpoint: Endpoint,
    },
    /// Opening a new connection took longer than `connect_timeout`.
    #[error("timed out connecting to {endpoint}")]
    ConnectTimeout {
        /// The endpoint that did not accept the connection in time.
        endpoint: Endpoint,
    },
    /// The connector failed to open a connection.
    #[error("cannot connect to {endpoint}")]
    Connect {
        /// The endpoint that refused the connection.
        endpoint: Endpoint,
        /// The connector's error.
        #[source]
        source: E,
    },
    /// The pool was closed with [`Pool::close`](crate::Pool::close).
    #[error("pool is closed")]
    Closed,
    /// The endpoint is not one the pool was built with.
    #[error("endpoint {endpoint} is not configured in this pool")]
    UnknownEndpoint {
        /// The endpoint asked for.
        endpoint: Endpoint,
    },
}

impl<E> PoolError<E> {
    /// The endpoint this error is about, if it is about one.
    pub fn endpoint(&self) -> Option<&Endpoint> {
        match self {
            Self::WaitTimeout { endpoint }
            | Self::ConnectTimeout { endpoint }
            | Self::Connect { endpoint, .. }
            | Self::UnknownEndpoint { endpoint } => Some(endpoint),
            Self::Closed => None,
        }
    }

    /// Whether this is [`WaitTimeout`](Self::WaitTimeout) or
    /// [`ConnectTimeout`](Self::ConnectTimeout).
    pub fn is_timeout(&self) -> bool {
        matches!(self, Self::WaitTimeout { .. } | Self::ConnectTimeout { .. })
    }

    /// Whether opening a connection failed ([`Connect`](Self::Connect) or
    /// [`ConnectTimeout`](Self::ConnectTimeout)): the endpoint itself looks unreachable, so
    /// another endpoint is worth trying.
    pub fn is_connect(&self) -> bool {
        matches!(self, Self::Connect { .. } | Self::ConnectTimeout { .. })
    }
}

/// An invalid configuration given to [`PoolBuilder::build`](crate::PoolBuilder::build).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum BuildError {
    /// No endpoint was given.
    #[error("no endpoints configured")]
    NoEndpoints,
    /// The same endpoint was given twice.
    #[error("endpoint {endpoint} is configured twice")]
    DuplicateEndpoint {
        /// The repeated endpoint.
        endpoint: Endpoint,
    },
    /// A setting must not be zero.
    #[error("{setting} must not be zero")]
    Zero {
        /// The [`PoolSettings`](crate::PoolSettings) field.
        setting: &'static str,
    },
    /// `build` was called outside a tokio runtime, which the background tasks need.
    #[error("no tokio runtime to run the pool's background tasks")]
    NoRuntime,
}

/// Why a health probe of an endpoint failed, as [`LastProbe`](crate::LastProbe) keeps it.
///
/// Cheap to clone: the connector's error is shared.
#[derive(Debug, Clone, thiserror::Error)]
#[non_exhaustive]
pub enum ProbeError {
    /// The connector could not open the probe's connection.
    #[error("connect failed")]
    Connect(#[source] Arc<dyn std::error::Error + Send + Sync>),
    /// Opening the probe's connection took longer than `connect_timeout`.
    #[error("connect timed out")]
    ConnectTimeout,
    /// The connector's [`probe`](crate::Connector::probe) failed.
    #[error("probe failed")]
    Probe(#[source] Arc<dyn std::error::Error + Send + Sync>),
    /// The probe took longer than `probe_timeout`.
    #[error("probe timed out")]
    ProbeTimeout,
}
