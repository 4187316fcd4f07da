//! `web.listen`: the desk alone (no admin API) on a TCP listener of its own, for a reverse
//! proxy. The desk's login with `admin.token` is required there (the config refuses
//! `web.listen` without a token, and [`bind`] checks again after the secrets were loaded).

use std::sync::Arc;

use tokio::sync::watch;

use crate::daemon::admin::AdminState;

/// A bound desk listener, ready to serve.
pub struct WebServer {
    listener: tokio::net::TcpListener,
    router: axum::Router,
}

/// Binds `listen` (`IP:PORT`) for the desk's pages. Errors are sentences naming the key.
pub async fn bind(listen: &str, state: AdminState) -> Result<WebServer, String> {
    let Some(token) = state.config.admin.token.clone() else {
        return Err(format!(
            "web.listen '{listen}': needs admin.token (the desk's login is the only gate there)"
        ));
    };
    let listener = tokio::net::TcpListener::bind(listen)
        .await
        .map_err(|e| format!("web.listen '{listen}': {e}"))?;
    let router = super::router(Arc::new(state), Some(token));
    Ok(WebServer { listener, router })
}

impl WebServer {
    /// Where it listens (with the real port when the config said port 0).
    pub fn local_addr(&self) -> String {
        self.listener
            .local_addr()
            .map(|a| a.to_string())
            .unwrap_or_default()
    }

    /// Serves until `shutdown` turns true.
    pub async fn serve(self, mut shutdown: watch::Receiver<bool>) {
        let stop = async move {
            while !*shutdown.borrow() {
                if shutdown.changed().await.is_err() {
                    break;
                }
            }
        };
        if let Err(e) = axum::serve(self.listener, self.router)
            .with_graceful_shutdown(stop)
            .await
        {
            tracing::error!(error = %e, "desk listener stopped");
        }
    }
}
