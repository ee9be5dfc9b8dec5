//! How the pool opens, checks and probes tracker connections.

use std::io;

use mogile_pool::{Connector, Endpoint};
use mogile_protocol::{Noop, Response};
use tokio::net::TcpStream;

use crate::connection::{ExchangeError, TrackerConnection};

/// Opens TCP connections to trackers (`TCP_NODELAY` on) and probes them with `noop`.
#[derive(Debug, Clone)]
pub(crate) struct TrackerConnector {
    /// Longest reply line accepted, in bytes.
    pub(crate) max_reply_line: usize,
}

/// Why a connection could not be opened or failed its probe.
#[derive(Debug, thiserror::Error)]
pub(crate) enum ConnectionError {
    /// The TCP connection could not be opened.
    #[error("cannot open a tcp connection")]
    Connect(#[source] io::Error),
    /// The `noop` round trip failed.
    #[error("probe failed")]
    Probe(#[source] ExchangeError),
    /// The tracker answered the probe with something other than a plain `OK`.
    #[error("unexpected probe reply")]
    ProbeReply,
}

impl ConnectionError {
    /// The I/O error behind a connect failure (other variants never come out of `connect`).
    pub(crate) fn into_io(self) -> io::Error {
        match self {
            Self::Connect(e) => e,
            other => io::Error::other(other),
        }
    }
}

impl Connector for TrackerConnector {
    type Connection = TrackerConnection;
    type Error = ConnectionError;

    async fn connect(&self, endpoint: &Endpoint) -> Result<TrackerConnection, ConnectionError> {
        let stream = TcpStream::connect(endpoint.as_str())
            .await
            .map_err(ConnectionError::Connect)?;
        // Requests are tiny single lines: Nagle would only add latency.
        stream.set_nodelay(true).map_err(ConnectionError::Connect)?;
        Ok(TrackerConnection::new(stream, self.max_reply_line))
    }

    fn is_open(&self, conn: &TrackerConnection) -> bool {
        conn.is_open()
    }

    async fn probe(&self, conn: &mut TrackerConnection) -> Result<(), ConnectionError> {
        let reply = conn
            // No `callid`: probes never consume the request counter (wire bytes stay
            // deterministic in tests), and a probe reply carrying a `callid` is out of step.
            .exchange(Noop::PROBE_LINE)
            .await
            .map_err(ConnectionError::Probe)?;
        match reply {
            Response::Ok(args) if args.get("callid").is_none() && conn.is_reusable() => Ok(()),
            _ => Err(ConnectionError::ProbeReply),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn connections_have_tcp_nodelay_on() {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let endpoint = Endpoint::from(listener.local_addr().unwrap().to_string());
        let connector = TrackerConnector {
            max_reply_line: 1024,
        };
        let conn = connector.connect(&endpoint).await.unwrap();
        assert!(conn.nodelay());
    }
}
