//! The admin HTTP server (axum).

use std::path::{Path, PathBuf};
use std::sync::Arc;

use axum::body::Body;
use axum::extract::{Json, RawQuery, Request, State};
use axum::http::{header, HeaderValue, StatusCode};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::Router;
use chrono::Utc;
use serde::Deserialize;
use serde_json::json;
use tokio::sync::{mpsc, oneshot, watch};

use super::{token_matches, FetchLine, ListenAddr};
use crate::config::Config;
use crate::metrics::Metrics;
use crate::publish;
use crate::schedule::ManualTrigger;
use crate::store::{Store, StoryFilter, StoryStatus};

/// Why the admin endpoint could not start.
#[derive(Debug, thiserror::Error)]
pub enum AdminError {
    /// The socket could not be bound.
    #[error("admin endpoint {addr}: {reason}")]
    Bind {
        /// The configured address.
        addr: String,
        /// Why.
        reason: String,
    },
}

/// What the handlers share.
pub struct AdminState {
    /// The config in force.
    pub config: Arc<Config>,
    /// The store.
    pub store: Arc<dyn Store>,
    /// Where manual runs are queued for the daemon loop.
    pub manual: mpsc::Sender<ManualTrigger>,
    /// The daemon's metrics.
    pub metrics: Arc<Metrics>,
}

/// A bound admin endpoint, ready to serve.
pub struct AdminServer {
    router: Router,
    listener: Listener,
    addr: ListenAddr,
}

enum Listener {
    Unix(tokio::net::UnixListener, PathBuf),
    Tcp(tokio::net::TcpListener),
}

/// Binds the endpoint. A stale Unix socket left by a dead daemon is replaced; a live one (another
/// daemon) is an error.
pub async fn bind(addr: &ListenAddr, state: AdminState) -> Result<AdminServer, AdminError> {
    let fail = |reason: String| AdminError::Bind {
        addr: addr.to_string(),
        reason,
    };
    let token = state.config.admin.token.clone();
    let listener = match addr {
        ListenAddr::Unix(path) => {
            if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
                std::fs::create_dir_all(dir)
                    .map_err(|e| fail(format!("cannot create {}: {e}", dir.display())))?;
            }
            if path.exists() {
                if std::os::unix::net::UnixStream::connect(path).is_ok() {
                    return Err(fail("another process is listening there".into()));
                }
                std::fs::remove_file(path)
                    .map_err(|e| fail(format!("cannot remove the stale socket: {e}")))?;
            }
            let l = tokio::net::UnixListener::bind(path).map_err(|e| fail(e.to_string()))?;
            // Only the daemon's user (and root) may talk to it.
            use std::os::unix::fs::PermissionsExt as _;
            std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o600))
                .map_err(|e| fail(format!("cannot restrict the socket's mode: {e}")))?;
            Listener::Unix(l, path.clone())
        }
        ListenAddr::Tcp(a) => Listener::Tcp(
            tokio::net::TcpListener::bind(a)
                .await
                .map_err(|e| fail(e.to_string()))?,
        ),
    };
    let router = router(Arc::new(state), token);
    Ok(AdminServer {
        router,
        listener,
        addr: addr.clone(),
    })
}

impl AdminServer {
    /// Where it listens (with the real port when the config said port 0).
    pub fn local_addr(&self) -> String {
        match &self.listener {
            Listener::Unix(_, p) => format!("unix:{}", p.display()),
            Listener::Tcp(l) => l
                .local_addr()
                .map(|a| a.to_string())
                .unwrap_or_else(|_| self.addr.to_string()),
        }
    }

    /// Serves until `shutdown` turns true; removes the Unix socket afterwards.
    pub async fn serve(self, mut shutdown: watch::Receiver<bool>) {
        let stop = async move {
            while !*shutdown.borrow() {
                if shutdown.changed().await.is_err() {
                    break;
                }
            }
        };
        let result = match self.listener {
            Listener::Unix(l, path) => {
                let r = axum::serve(l, self.router)
                    .with_graceful_shutdown(stop)
                    .await;
                remove_socket(&path);
                r
            }
            Listener::Tcp(l) => {
                axum::serve(l, self.router)
                    .with_graceful_shutdown(stop)
                    .await
            }
        };
        if let Err(e) = result {
            tracing::error!(error = %e, "admin endpoint stopped");
        }
    }
}

fn remove_socket(path: &Path) {
    if let Err(e) = std::fs::remove_file(path) {
        if e.kind() != std::io::ErrorKind::NotFound {
            tracing::warn!(path = %path.display(), error = %e, "could not remove the admin socket");
        }
    }
}

fn router(state: Arc<AdminState>, token: Option<String>) -> Router {
    Router::new()
        .route("/fetch", post(fetch))
        .route("/health", get(health))
        .route("/metrics", get(metrics))
        .route("/stories/new.json", get(new_json))
        .route("/stories/new.atom", get(new_atom))
        .route("/stories/publish", post(publish_ids))
        .route("/stories/reject", post(reject_ids))
        .with_state(state)
        .layer(middleware::from_fn(move |req: Request, next: Next| {
            let token = token.clone();
            async move { authorize(token.as_deref(), req, next).await }
        }))
}

async fn authorize(token: Option<&str>, req: Request, next: Next) -> Response {
    if let Some(expected) = token {
        let given = req
            .headers()
            .get(header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.strip_prefix("Bearer "))
            .map(str::trim);
        if !given.is_some_and(|g| token_matches(g, expected)) {
            let mut resp = error(StatusCode::UNAUTHORIZED, "missing or wrong bearer token");
            resp.headers_mut()
                .insert(header::WWW_AUTHENTICATE, HeaderValue::from_static("Bearer"));
            return resp;
        }
    }
    next.run(req).await
}

fn error(status: StatusCode, msg: &str) -> Response {
    (status, axum::Json(json!({ "error": msg }))).into_response()
}

fn query_values(query: Option<&str>, key: &str) -> Vec<String> {
    url::form_urlencoded::parse(query.unwrap_or("").as_bytes())
        .filter(|(k, _)| k == key)
        .map(|(_, v)| v.into_owned())
        .collect()
}

/// `POST /fetch[?source=NAME…]`: queues a manual run in the daemon loop and streams its
/// progress as NDJSON; the last line is `finished` (with the report) or `error`.
async fn fetch(State(st): State<Arc<AdminState>>, RawQuery(q): RawQuery) -> Response {
    let sources = query_values(q.as_deref(), "source");
    if let Some(unknown) = sources.iter().find(|s| st.config.source(s).is_none()) {
        return error(
            StatusCode::BAD_REQUEST,
            &format!("no source named '{unknown}' in the config"),
        );
    }
    let (progress_tx, progress_rx) = mpsc::unbounded_channel();
    let (respond, report_rx) = oneshot::channel();
    let trigger = ManualTrigger {
        sources,
        respond,
        progress: Some(progress_tx),
    };
    match st.manual.try_send(trigger) {
        Ok(()) => {}
        Err(mpsc::error::TrySendError::Full(_)) => {
            return error(
                StatusCode::SERVICE_UNAVAILABLE,
                "too many manual runs queued; try again when they finish",
            )
        }
        Err(mpsc::error::TrySendError::Closed(_)) => {
            return error(StatusCode::SERVICE_UNAVAILABLE, "the daemon is stopping")
        }
    }
    tracing::info!("manual run queued through the admin endpoint");
    // Progress lines until the daemon drops the progress sender (after the report is sent),
    // then the report.
    enum Phase {
        Queued(
            mpsc::UnboundedReceiver<crate::pipeline::RunProgress>,
            oneshot::Receiver<Result<crate::pipeline::RunReport, String>>,
        ),
        Progress(
            mpsc::UnboundedReceiver<crate::pipeline::RunProgress>,
            oneshot::Receiver<Result<crate::pipeline::RunReport, String>>,
        ),
        Done,
    }
    let stream =
        futures_util::stream::unfold(Phase::Queued(progress_rx, report_rx), |phase| async move {
            let (line, next) = match phase {
                Phase::Queued(prx, rrx) => (FetchLine::Queued, Phase::Progress(prx, rrx)),
                Phase::Progress(mut prx, rrx) => match prx.recv().await {
                    Some(p) => (FetchLine::from(p), Phase::Progress(prx, rrx)),
                    None => (final_line(rrx.await), Phase::Done),
                },
                Phase::Done => return None,
            };
            let mut bytes = serde_json::to_vec(&line).unwrap_or_else(|e| {
                format!("{{\"event\":\"error\",\"error\":\"encoding: {e}\"}}").into_bytes()
            });
            bytes.push(b'\n');
            Some((Ok::<_, std::convert::Infallible>(bytes), next))
        });
    Response::builder()
        .header(header::CONTENT_TYPE, "application/x-ndjson")
        .body(Body::from_stream(stream))
        .unwrap_or_else(|e| error(StatusCode::INTERNAL_SERVER_ERROR, &e.to_string()))
}

fn final_line(
    r: Result<Result<crate::pipeline::RunReport, String>, oneshot::error::RecvError>,
) -> FetchLine {
    match r {
        Ok(Ok(report)) => FetchLine::Finished { report },
        Ok(Err(error)) => FetchLine::Error { error },
        Err(_) => FetchLine::Error {
            error: "the daemon stopped before running it".into(),
        },
    }
}

/// `GET /health`: 200 when the database answers, 503 otherwise; with the age of the last
/// successful run (one that finished with at least one source fetched, or nothing due).
async fn health(State(st): State<Arc<AdminState>>) -> Response {
    let db = st.store.ping().await;
    let runs = match &db {
        Ok(()) => st.store.runs(50, None).await.unwrap_or_default(),
        Err(_) => Vec::new(),
    };
    let last_success = runs.iter().find(|r| {
        r.finished_at.is_some()
            && (r.counts.sources == 0 || r.counts.sources_failed < r.counts.sources)
    });
    let now = Utc::now();
    let body = json!({
        "status": if db.is_ok() { "ok" } else { "unavailable" },
        "database": match &db { Ok(()) => "ok".to_string(), Err(e) => e.to_string() },
        "last_run": runs.first(),
        "last_success_at": last_success.and_then(|r| r.finished_at),
        "last_success_age_seconds": last_success
            .and_then(|r| r.finished_at)
            .map(|t| (now - t).num_seconds()),
    });
    let code = if db.is_ok() {
        StatusCode::OK
    } else {
        StatusCode::SERVICE_UNAVAILABLE
    };
    (code, axum::Json(body)).into_response()
}

/// `GET /metrics`: Prometheus text format.
async fn metrics(State(st): State<Arc<AdminState>>) -> Response {
    let (sources, up) = match st.store.sources().await {
        Ok(s) => (s, true),
        Err(e) => {
            tracing::warn!(error = %e, "metrics: database unavailable");
            (Vec::new(), false)
        }
    };
    let sources: Vec<_> = sources
        .into_iter()
        .filter(|s| st.config.source(&s.name).is_some())
        .collect();
    (
        [(header::CONTENT_TYPE, "text/plain; version=0.0.4")],
        st.metrics.render(&sources, up),
    )
        .into_response()
}

async fn new_stories(
    st: &AdminState,
    q: Option<&str>,
) -> Result<Vec<crate::store::Story>, Response> {
    let limit = query_values(q, "limit")
        .first()
        .map(|l| l.parse::<i64>())
        .transpose()
        .map_err(|_| error(StatusCode::BAD_REQUEST, "limit must be a number"))?
        .unwrap_or(100)
        .clamp(1, 1000);
    let filter = StoryFilter {
        status: Some(StoryStatus::New),
        source: query_values(q, "source").into_iter().next(),
        cluster_id: None,
        limit,
    };
    st.store
        .stories(&filter)
        .await
        .map_err(|e| error(StatusCode::SERVICE_UNAVAILABLE, &e.to_string()))
}

/// The stories' related sources; a store error leaves the feed without them (logged) rather
/// than failing it.
async fn related_or_none(st: &AdminState, stories: &[crate::store::Story]) -> publish::Relations {
    publish::relations(st.store.as_ref(), stories)
        .await
        .unwrap_or_else(|e| {
            tracing::warn!(error = %e, "related sources of the feed's stories not read");
            publish::Relations::default()
        })
}

fn feed_title(st: &AdminState) -> String {
    format!("newsdesk: new stories ({})", st.config.topic.name)
}

/// `GET /stories/new.json[?limit=N&source=NAME]`: stories with status `new` as JSON Feed 1.1.
async fn new_json(State(st): State<Arc<AdminState>>, RawQuery(q): RawQuery) -> Response {
    match new_stories(&st, q.as_deref()).await {
        Ok(stories) => (
            [(header::CONTENT_TYPE, "application/feed+json")],
            publish::render_related(
                &stories,
                &related_or_none(&st, &stories).await,
                publish::StoryFormat::Jsonfeed,
                &feed_title(&st),
            ),
        )
            .into_response(),
        Err(r) => r,
    }
}

/// `GET /stories/new.atom[?limit=N&source=NAME]`: the same as Atom 1.0.
async fn new_atom(State(st): State<Arc<AdminState>>, RawQuery(q): RawQuery) -> Response {
    match new_stories(&st, q.as_deref()).await {
        Ok(stories) => (
            [(header::CONTENT_TYPE, "application/atom+xml")],
            publish::render_related(
                &stories,
                &related_or_none(&st, &stories).await,
                publish::StoryFormat::Atom,
                &feed_title(&st),
            ),
        )
            .into_response(),
        Err(r) => r,
    }
}

#[derive(Debug, Deserialize)]
struct Ids {
    ids: Vec<i64>,
}

async fn set_status(st: &AdminState, ids: &[i64], status: StoryStatus) -> Response {
    match st.store.set_story_status(ids, status).await {
        Ok(n) => {
            tracing::info!(ids = ?ids, status = status.as_str(), changed = n, "story status set");
            axum::Json(json!({ "changed": n, "status": status.as_str() })).into_response()
        }
        Err(e) => error(StatusCode::SERVICE_UNAVAILABLE, &e.to_string()),
    }
}

/// `POST /stories/publish` with `{"ids":[…]}`.
async fn publish_ids(State(st): State<Arc<AdminState>>, Json(b): Json<Ids>) -> Response {
    set_status(&st, &b.ids, StoryStatus::Published).await
}

/// `POST /stories/reject` with `{"ids":[…]}`.
async fn reject_ids(State(st): State<Arc<AdminState>>, Json(b): Json<Ids>) -> Response {
    set_status(&st, &b.ids, StoryStatus::Rejected).await
}
