//! `admin.listen`: where the admin endpoint listens, parsed here so that the config check and
//! the daemon read the address the same way (and config depends on no daemon module).

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

impl std::fmt::Display for ListenAddr {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            ListenAddr::Unix(p) => write!(f, "unix:{}", p.display()),
            ListenAddr::Tcp(a) => write!(f, "{a}"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn listen_addresses() {
        assert!(matches!(
            ListenAddr::parse("unix:/run/x.sock"),
            Ok(ListenAddr::Unix(_))
        ));
        assert!(matches!(
            ListenAddr::parse("127.0.0.1:1"),
            Ok(ListenAddr::Tcp(_))
        ));
        assert!(ListenAddr::parse("[::1]:1").is_ok());
        assert!(ListenAddr::parse("192.168.1.1:80").is_err());
        assert!(ListenAddr::parse("unix:").is_err());
    }
}
