//! Loopback network conditions that no server task can produce by answering: an address whose
//! TCP connects neither succeed nor fail ([`HangingListener`]). Linux only.

use std::io;
use std::net::{Ipv4Addr, SocketAddr, SocketAddrV4};
use std::time::Duration;

use tokio::net::{TcpListener, TcpSocket, TcpStream};

/// Bounds the one connect that fills the accept queue, and the wait until the kernel has
/// queued it; on loopback both take microseconds.
const FILL_TIMEOUT: Duration = Duration::from_secs(5);

/// A loopback address (`127.0.0.1`, port chosen by the OS) where a TCP connect hangs: the
/// handshake never completes and no error comes back, as with a host that drops packets. It
/// lasts until the value is dropped. Use it to test connect timeouts against a real socket.
///
/// How: a listener whose accept queue is full and is never accepted from. It listens with a
/// backlog of 0, so the queue holds one connection, and [`start`](Self::start) makes that one
/// connection itself, then waits until the kernel has queued it (its `rx_queue` in
/// `/proc/net/tcp`). From then on Linux drops every SYN to the port without answering (a full
/// accept queue is an overflow, counted in `ListenOverflows`), and a client keeps resending its
/// SYN until its own timeout. Nothing is sent to another host.
///
/// Linux only. Call [`start`](Self::start) on a runtime whose clock runs: its waits are bounded
/// by timeouts, which a paused clock would fire at once.
///
/// ```
/// use std::time::Duration;
/// use mogile_testkit::net::HangingListener;
///
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() -> std::io::Result<()> {
/// let hang = HangingListener::start().await?;
/// let connect = tokio::net::TcpStream::connect(hang.addr());
/// let result = tokio::time::timeout(Duration::from_millis(200), connect).await;
/// assert!(result.is_err(), "the connect neither succeeded nor failed in time");
/// # Ok(())
/// # }
/// ```
#[derive(Debug)]
pub struct HangingListener {
    addr: SocketAddrV4,
    /// Never accepted from: its full queue is what makes connects hang.
    _listener: TcpListener,
    /// The client end of the queued connection, kept open so the queue stays as it is.
    _filler: Option<TcpStream>,
}

impl HangingListener {
    /// Binds the listener on `127.0.0.1` port 0 and fills its accept queue.
    ///
    /// # Errors
    ///
    /// Any I/O error binding, listening, making the filling connection or reading
    /// `/proc/net/tcp`; [`io::ErrorKind::TimedOut`] if the kernel never shows the connection
    /// queued.
    pub async fn start() -> io::Result<Self> {
        let socket = TcpSocket::new_v4()?;
        socket.bind(SocketAddr::from((Ipv4Addr::LOCALHOST, 0)))?;
        let listener = socket.listen(0)?;
        let addr = match listener.local_addr()? {
            SocketAddr::V4(addr) => addr,
            SocketAddr::V6(_) => return Err(io::Error::other("bound an IPv4 socket, got IPv6")),
        };
        let filler = match tokio::time::timeout(FILL_TIMEOUT, TcpStream::connect(addr)).await {
            Ok(Ok(stream)) => {
                // The client side completes on the SYN-ACK, the server side queues the
                // connection on the final ACK: wait for that, so the caller's first SYN cannot
                // overtake it and find room.
                tokio::time::timeout(FILL_TIMEOUT, queued(addr))
                    .await
                    .map_err(|_| {
                        io::Error::new(io::ErrorKind::TimedOut, "the connection was never queued")
                    })??;
                Some(stream)
            }
            Ok(Err(e)) => return Err(e),
            // Connects hang already: with syncookies off, a backlog-0 listener's SYN queue
            // counts as full from the start and every SYN is dropped. That is what we want.
            Err(_) => None,
        };
        Ok(Self {
            addr,
            _listener: listener,
            _filler: filler,
        })
    }

    /// The address whose connects hang.
    pub fn addr(&self) -> SocketAddr {
        SocketAddr::V4(self.addr)
    }
}

/// Polls until the listener on `addr` has a connection in its accept queue.
async fn queued(addr: SocketAddrV4) -> io::Result<()> {
    while accept_queue_len(addr)? == 0 {
        tokio::time::sleep(Duration::from_millis(1)).await;
    }
    Ok(())
}

/// The accept-queue length of the listener on `addr`: for a socket in LISTEN state
/// `/proc/net/tcp` shows it as `rx_queue`.
fn accept_queue_len(addr: SocketAddrV4) -> io::Result<u32> {
    // The address is printed as the network-order word read natively, the port in host order.
    let local = format!(
        "{:08X}:{:04X}",
        u32::from_ne_bytes(addr.ip().octets()),
        addr.port()
    );
    const LISTEN: &str = "0A";
    let table = std::fs::read_to_string("/proc/net/tcp")?;
    for line in table.lines().skip(1) {
        // sl local_address rem_address st tx_queue:rx_queue ...
        let fields: Vec<&str> = line.split_whitespace().collect();
        let [_, l, _, st, queues, ..] = fields[..] else {
            continue;
        };
        if l != local || st != LISTEN {
            continue;
        }
        let rx = queues.split_once(':').map(|(_, rx)| rx).unwrap_or("");
        return u32::from_str_radix(rx, 16)
            .map_err(|_| io::Error::other(format!("unexpected /proc/net/tcp line: {line}")));
    }
    Err(io::Error::new(
        io::ErrorKind::NotFound,
        format!("no listener on {addr} in /proc/net/tcp"),
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn connects_hang_until_the_callers_timeout() {
        let hang = HangingListener::start().await.unwrap();
        assert_eq!(accept_queue_len(hang.addr).unwrap(), 1);
        for _ in 0..3 {
            let connect = TcpStream::connect(hang.addr());
            let result = tokio::time::timeout(Duration::from_millis(100), connect).await;
            assert!(result.is_err(), "{result:?}");
        }
    }
}
