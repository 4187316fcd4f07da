//! A small HTTP/1.1 client for the daemon's admin endpoint (hyper over a Unix socket or TCP):
//! how `newsdesk fetch`, `status`, `stories publish|reject` and `export --mark-published` reach
//! a running daemon. It lives in the binary: the library serves the endpoint, it never calls it.

use bytes::Bytes;
use http_body_util::{BodyExt as _, Full};
use hyper::header;

use newsdesk::config::ListenAddr;
use newsdesk::daemon::protocol::FetchLine;
use newsdesk::model::RunReport;

/// Why a request to the daemon failed.
#[derive(Debug, thiserror::Error)]
pub enum ClientError {
    /// Nothing listens there: no daemon is running.
    #[error("no daemon at {addr}: {source}")]
    NotRunning {
        /// The address tried.
        addr: String,
        /// The connect error.
        source: std::io::Error,
    },
    /// The connection failed after it was made.
    #[error("admin endpoint: {0}")]
    Http(String),
    /// The daemon answered with an error status.
    #[error("admin endpoint answered {status}: {body}")]
    Status {
        /// HTTP status.
        status: u16,
        /// Its body.
        body: String,
    },
    /// The daemon sent something this client does not understand.
    #[error("admin endpoint sent an unreadable line: {0}")]
    Protocol(String),
    /// The run could not happen in the daemon.
    #[error("the daemon could not run it: {0}")]
    Run(String),
}

/// A client for one admin endpoint.
#[derive(Debug, Clone)]
pub struct AdminClient {
    addr: ListenAddr,
    token: Option<String>,
}

/// A response whose body is read as it arrives.
pub struct Streaming {
    status: u16,
    body: hyper::body::Incoming,
    buf: Vec<u8>,
}

impl AdminClient {
    /// A client for `addr`, sending `token` as a bearer token when set.
    pub fn new(addr: ListenAddr, token: Option<String>) -> AdminClient {
        AdminClient { addr, token }
    }

    /// Sends one request on a fresh connection.
    pub async fn request(
        &self,
        method: hyper::Method,
        path: &str,
        body: Option<serde_json::Value>,
    ) -> Result<Streaming, ClientError> {
        let mut req = hyper::Request::builder()
            .method(method)
            .uri(path)
            .header(header::HOST, "newsdesk");
        if let Some(t) = &self.token {
            req = req.header(header::AUTHORIZATION, format!("Bearer {t}"));
        }
        let payload = match body {
            Some(v) => {
                req = req.header(header::CONTENT_TYPE, "application/json");
                Bytes::from(v.to_string())
            }
            None => Bytes::new(),
        };
        let req = req
            .body(Full::new(payload))
            .map_err(|e| ClientError::Http(e.to_string()))?;
        // Only "nothing there" means no daemon; anything else (permission denied, …) is an
        // error, so a command never silently runs beside a daemon it could not reach.
        let not_running = |source: std::io::Error| match source.kind() {
            std::io::ErrorKind::NotFound | std::io::ErrorKind::ConnectionRefused => {
                ClientError::NotRunning {
                    addr: self.addr.to_string(),
                    source,
                }
            }
            _ => ClientError::Http(format!("cannot connect to {}: {source}", self.addr)),
        };
        let resp = match &self.addr {
            ListenAddr::Unix(path) => {
                let stream = tokio::net::UnixStream::connect(path)
                    .await
                    .map_err(not_running)?;
                send(stream, req).await?
            }
            ListenAddr::Tcp(addr) => {
                let stream = tokio::net::TcpStream::connect(addr)
                    .await
                    .map_err(not_running)?;
                send(stream, req).await?
            }
        };
        Ok(Streaming {
            status: resp.status().as_u16(),
            body: resp.into_body(),
            buf: Vec::new(),
        })
    }

    /// Sends a request and reads the whole body; non-2xx statuses are errors.
    pub async fn call(
        &self,
        method: hyper::Method,
        path: &str,
        body: Option<serde_json::Value>,
    ) -> Result<String, ClientError> {
        let mut resp = self.request(method, path, body).await?;
        let text = resp.text().await?;
        if !(200..300).contains(&resp.status) {
            return Err(ClientError::Status {
                status: resp.status,
                body: text,
            });
        }
        Ok(text)
    }

    /// Asks the daemon for a manual run of `sources` (all when empty); calls `on_line` for each
    /// progress line and gives the final report.
    pub async fn fetch(
        &self,
        sources: &[String],
        mut on_line: impl FnMut(&FetchLine),
    ) -> Result<RunReport, ClientError> {
        let mut path = String::from("/fetch");
        if !sources.is_empty() {
            let q: String = url::form_urlencoded::Serializer::new(String::new())
                .extend_pairs(sources.iter().map(|s| ("source", s)))
                .finish();
            path = format!("/fetch?{q}");
        }
        let mut resp = self.request(hyper::Method::POST, &path, None).await?;
        if resp.status != 200 {
            let body = resp.text().await?;
            return Err(ClientError::Status {
                status: resp.status,
                body,
            });
        }
        while let Some(line) = resp.next_line().await? {
            if line.trim().is_empty() {
                continue;
            }
            let parsed: FetchLine = serde_json::from_str(&line)
                .map_err(|e| ClientError::Protocol(format!("{e}: {line}")))?;
            on_line(&parsed);
            match parsed {
                FetchLine::Finished { report } => return Ok(report),
                FetchLine::Error { error } => return Err(ClientError::Run(error)),
                _ => {}
            }
        }
        Err(ClientError::Protocol(
            "the response ended before the run did".into(),
        ))
    }
}

async fn send<S>(
    stream: S,
    req: hyper::Request<Full<Bytes>>,
) -> Result<hyper::Response<hyper::body::Incoming>, ClientError>
where
    S: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin + Send + 'static,
{
    let io = hyper_util::rt::TokioIo::new(stream);
    let (mut sender, conn) = hyper::client::conn::http1::handshake(io)
        .await
        .map_err(|e| ClientError::Http(e.to_string()))?;
    tokio::spawn(async move {
        if let Err(e) = conn.await {
            tracing::debug!(error = %e, "admin connection closed");
        }
    });
    sender
        .send_request(req)
        .await
        .map_err(|e| ClientError::Http(e.to_string()))
}

impl Streaming {
    async fn chunk(&mut self) -> Result<bool, ClientError> {
        loop {
            match self.body.frame().await {
                None => return Ok(false),
                Some(Err(e)) => return Err(ClientError::Http(e.to_string())),
                Some(Ok(frame)) => {
                    if let Ok(data) = frame.into_data() {
                        self.buf.extend_from_slice(&data);
                        return Ok(true);
                    }
                }
            }
        }
    }

    /// The next `\n`-terminated line (or the unterminated rest at the end).
    pub async fn next_line(&mut self) -> Result<Option<String>, ClientError> {
        loop {
            if let Some(pos) = self.buf.iter().position(|b| *b == b'\n') {
                let rest = self.buf.split_off(pos + 1);
                let line = std::mem::replace(&mut self.buf, rest);
                return Ok(Some(String::from_utf8_lossy(&line).trim_end().to_string()));
            }
            if !self.chunk().await? {
                if self.buf.is_empty() {
                    return Ok(None);
                }
                let line = std::mem::take(&mut self.buf);
                return Ok(Some(String::from_utf8_lossy(&line).into_owned()));
            }
        }
    }

    /// The rest of the body as text.
    pub async fn text(&mut self) -> Result<String, ClientError> {
        while self.chunk().await? {}
        Ok(String::from_utf8_lossy(&std::mem::take(&mut self.buf)).into_owned())
    }
}
