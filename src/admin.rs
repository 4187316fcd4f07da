//! Admin endpoint of the daemon.

/// Where the admin endpoint listens.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ListenAddr {
    /// A Unix socket path.
    Unix(std::path::PathBuf),
    /// A loopback TCP address.
    Tcp(std::net::SocketAddr),
}

impl ListenAddr {
    /// Parses `unix:/path` or `IP:PORT`; refuses non-loopback TCP addresses.
    pub fn parse(s: &str) -> Result<ListenAddr, String> {
        if let Some(path) = s.strip_prefix("unix:") {
            if path.is_empty() {
                return Err("unix: needs a socket path".into());
            }
            return Ok(ListenAddr::Unix(path.into()));
        }
        let addr: std::net::SocketAddr = s
            .parse()
            .map_err(|e| format!("'{s}' is neither unix:/path nor IP:PORT: {e}"))?;
        if !addr.ip().is_loopback() {
            return Err(format!(
                "'{s}' is not a loopback address; the admin endpoint never listens publicly"
            ));
        }
        Ok(ListenAddr::Tcp(addr))
    }
}
