//! One way to serve an axum app on loopback for a test: bind first (the app usually needs its own
//! base URL), then serve until the handle is dropped.
//!
//! ```ignore
//! let port = testkit::loopback::bind().await;
//! let app = Router::new().route("/feed.xml", get(feed)).with_state(port.base.clone());
//! let site = port.serve(app); // stops when `site` is dropped
//! ```

use std::net::{IpAddr, Ipv4Addr, SocketAddr};

use axum::Router;

/// A listening loopback socket with an OS-chosen port, not serving yet.
pub struct Bound {
    listener: tokio::net::TcpListener,
    /// The address bound.
    pub addr: SocketAddr,
    /// `http://{addr}`.
    pub base: String,
}

/// A running server; shuts down gracefully when dropped.
pub struct Served {
    /// The address it listens on.
    pub addr: SocketAddr,
    /// `http://{addr}`.
    pub base: String,
    shutdown: Option<tokio::sync::oneshot::Sender<()>>,
}

/// Binds 127.0.0.1 on an OS-chosen port.
pub async fn bind() -> Bound {
    bind_ip(IpAddr::V4(Ipv4Addr::LOCALHOST)).await
}

/// Binds `ip` (a loopback address such as 127.0.1.7) on an OS-chosen port.
pub async fn bind_ip(ip: IpAddr) -> Bound {
    assert!(
        ip.is_loopback(),
        "tests only ever listen on loopback, not {ip}"
    );
    let listener = tokio::net::TcpListener::bind(SocketAddr::new(ip, 0))
        .await
        .unwrap_or_else(|e| panic!("bind {ip}: {e}"));
    let addr = listener.local_addr().expect("local addr");
    Bound {
        listener,
        addr,
        base: format!("http://{addr}"),
    }
}

/// A loopback port free a moment ago, for a child process to listen on (the daemon's admin
/// server): bound, read and released.
pub fn free_port() -> u16 {
    std::net::TcpListener::bind((Ipv4Addr::LOCALHOST, 0))
        .and_then(|l| l.local_addr())
        .expect("free port")
        .port()
}

/// Binds 127.0.0.1, serves `app` (which does not need its own address) at once.
pub async fn serve(app: Router) -> Served {
    bind().await.serve(app)
}

impl Bound {
    /// Serves `app` on the bound socket on the current tokio runtime.
    pub fn serve(self, app: Router) -> Served {
        let (tx, rx) = tokio::sync::oneshot::channel::<()>();
        tokio::spawn(async move {
            let _ = axum::serve(self.listener, app)
                .with_graceful_shutdown(async {
                    let _ = rx.await;
                })
                .await;
        });
        Served {
            addr: self.addr,
            base: self.base,
            shutdown: Some(tx),
        }
    }

    /// Serves `app` for the rest of the current tokio runtime (a `#[tokio::test]` has its own, so
    /// until the test ends), for sites whose state outlives any one handle.
    pub fn serve_detached(self, app: Router) -> SocketAddr {
        let addr = self.addr;
        tokio::spawn(async move {
            let _ = axum::serve(self.listener, app).await;
        });
        addr
    }

    /// The socket itself, for tests that speak raw TCP (hostile servers).
    pub fn into_listener(self) -> tokio::net::TcpListener {
        self.listener
    }
}

impl Served {
    /// Stops serving now (dropping does the same).
    pub fn stop(mut self) {
        self.stop_now();
    }

    fn stop_now(&mut self) {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
    }
}

impl Drop for Served {
    fn drop(&mut self) {
        self.stop_now();
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::routing::get;

    #[tokio::test]
    async fn serves_until_dropped() {
        let site = serve(Router::new().route("/", get(|| async { "hello" }))).await;
        let addr = site.addr;
        let get_root = || async move {
            let mut s = tokio::net::TcpStream::connect(addr).await?;
            use tokio::io::{AsyncReadExt, AsyncWriteExt};
            s.write_all(b"GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
                .await?;
            let mut out = String::new();
            s.read_to_string(&mut out).await?;
            Ok::<_, std::io::Error>(out)
        };
        assert!(get_root().await.expect("served").ends_with("hello"));
        drop(site);
        // The listener closes once the server task sees the shutdown.
        let mut refused = false;
        for _ in 0..100 {
            if tokio::net::TcpStream::connect(addr).await.is_err() {
                refused = true;
                break;
            }
            tokio::time::sleep(std::time::Duration::from_millis(10)).await;
        }
        assert!(refused, "still accepting after the handle was dropped");
    }
}
