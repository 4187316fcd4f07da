//! Admin endpoint of the daemon: an axum server on a Unix socket or a loopback TCP port.
//!
//! Routes: `POST /fetch[?source=NAME…]` (NDJSON progress, then the run report), `GET /health`,
//! `GET /metrics` (Prometheus text), `GET /stories/new.json` (JSON Feed 1.1),
//! `GET /stories/new.atom`, `POST /stories/publish` and `POST /stories/reject` (`{"ids":[…]}`).
//! The editors' web pages live under `/desk/` (see [`crate::desk`]), behind their own login.
//! When `admin.token` is set every other request needs `Authorization: Bearer TOKEN`; config
//! validation refuses a TCP address without one.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use axum::body::Body;
use axum::extract::{RawQuery, Request, State};
use axum::http::{header, HeaderValue, StatusCode};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::Router;
use chrono::Utc;
use serde::Deserialize;
use serde_json::json;
use tokio::sync::{mpsc, oneshot, watch};

use super::metrics::{Exposition, Metrics};
use super::protocol::{token_matches, FetchLine};
use crate::config::Config;
use crate::config::ListenAddr;
use crate::export;
use crate::model::StoryStatus;
use crate::schedule::ManualTrigger;
use crate::store::{Store, StoryFilter};

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
    /// The config the daemon started with (the endpoint's own address and token take a
    /// restart to change).
    pub config: Arc<Config>,
    /// The config in force, switched by reloads.
    pub current: watch::Receiver<Arc<Config>>,
    /// When the daemon started (health's grace period before any source succeeded).
    pub started_at: chrono::DateTime<Utc>,
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
            // The daemon's user (and root), plus `admin.socket_group` when set, may talk to it.
            restrict_socket(path, &state.config.admin).map_err(fail)?;
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

/// Gives the socket `admin.socket_group` (a name or a numeric id) and `admin.socket_mode`.
fn restrict_socket(path: &Path, admin: &crate::config::AdminConfig) -> Result<(), String> {
    use std::os::unix::fs::PermissionsExt as _;
    if let Some(group) = &admin.socket_group {
        let gid = match group.parse::<u32>() {
            Ok(id) => id,
            Err(_) => nix::unistd::Group::from_name(group)
                .map_err(|e| format!("admin.socket_group '{group}': {e}"))?
                .ok_or_else(|| format!("admin.socket_group: no group named '{group}'"))?
                .gid
                .as_raw(),
        };
        std::os::unix::fs::chown(path, None, Some(gid))
            .map_err(|e| format!("cannot give the socket to group '{group}': {e}"))?;
    }
    let mode = admin.socket_mode();
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode))
        .map_err(|e| format!("cannot set the socket's mode to {mode:o}: {e}"))
}

fn remove_socket(path: &Path) {
    if let Err(e) = std::fs::remove_file(path) {
        if e.kind() != std::io::ErrorKind::NotFound {
            tracing::warn!(path = %path.display(), error = %e, "could not remove the admin socket");
        }
    }
}

fn router(state: Arc<AdminState>, token: Option<String>) -> Router {
    // The desk has its own login (a session cookie), so it is merged outside the bearer layer.
    let desk = crate::desk::router(state.clone(), token.clone());
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
        .merge(desk)
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
pub(crate) async fn fetch(State(st): State<Arc<AdminState>>, RawQuery(q): RawQuery) -> Response {
    let sources = query_values(q.as_deref(), "source");
    let config = st.current.borrow().clone();
    if let Some(unknown) = sources.iter().find(|s| config.source(s).is_none()) {
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
            mpsc::UnboundedReceiver<crate::model::RunProgress>,
            oneshot::Receiver<Result<crate::model::RunReport, String>>,
        ),
        Progress(
            mpsc::UnboundedReceiver<crate::model::RunProgress>,
            oneshot::Receiver<Result<crate::model::RunReport, String>>,
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
    r: Result<Result<crate::model::RunReport, String>, oneshot::error::RecvError>,
) -> FetchLine {
    match r {
        Ok(Ok(report)) => FetchLine::Finished { report },
        Ok(Err(error)) => FetchLine::Error { error },
        Err(_) => FetchLine::Error {
            error: "the daemon stopped before running it".into(),
        },
    }
}

/// A source that failed its last fetch, as `/health` names it.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct FailingSource {
    /// Source name.
    pub name: String,
    /// Failed fetches in a row.
    pub consecutive_errors: i64,
    /// The last error.
    pub last_error: Option<String>,
    /// The last failed attempt.
    pub last_fetch_at: Option<chrono::DateTime<Utc>>,
    /// The last success before the failures began.
    pub last_success_at: Option<chrono::DateTime<Utc>>,
}

/// How the daemon's sources are doing, as `/health` reports it.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct SourceHealth {
    /// `ok`, `degraded` (some enabled sources fail) or `failing` (all fail, or none succeeded
    /// within the configured age).
    pub status: &'static str,
    /// Why, when not `ok`.
    pub reason: Option<String>,
    /// Enabled sources.
    pub enabled: usize,
    /// Enabled sources whose last fetch failed.
    pub failing: Vec<FailingSource>,
    /// The newest successful fetch of an enabled source.
    pub last_success_at: Option<chrono::DateTime<Utc>>,
}

/// Judges the enabled sources of `config` by their stored state. Sources never fetched yet are
/// neither failing nor successful; with no success at all, the age counts from `started_at`.
pub fn source_health(
    config: &Config,
    states: &[crate::model::SourceState],
    now: chrono::DateTime<Utc>,
    started_at: chrono::DateTime<Utc>,
) -> SourceHealth {
    let enabled: Vec<&crate::model::SourceState> = states
        .iter()
        .filter(|s| config.source(&s.name).is_some_and(|c| c.enabled))
        .collect();
    let failing: Vec<FailingSource> = enabled
        .iter()
        .filter(|s| s.consecutive_errors > 0)
        .map(|s| FailingSource {
            name: s.name.clone(),
            consecutive_errors: s.consecutive_errors,
            last_error: s.last_error.clone(),
            last_fetch_at: s.last_fetch_at,
            last_success_at: s.last_success_at,
        })
        .collect();
    let last_success_at = enabled.iter().filter_map(|s| s.last_success_at).max();
    let max_age = config.health_max_age();
    // A daemon that just started gets the whole age before its first success is due.
    let since = last_success_at.map_or(started_at, |t| t.max(started_at));
    let too_old = (now - since).to_std().is_ok_and(|a| a > max_age);
    let (status, reason) = if enabled.is_empty() {
        ("ok", Some("no source is enabled".to_string()))
    } else if failing.len() == enabled.len() {
        (
            "failing",
            Some(format!(
                "all {} enabled source(s) are failing",
                enabled.len()
            )),
        )
    } else if too_old {
        (
            "failing",
            Some(format!(
                "no source fetched successfully in the last {}",
                humantime::format_duration(max_age)
            )),
        )
    } else if !failing.is_empty() {
        (
            "degraded",
            Some(format!(
                "{} of {} enabled source(s) failing: {}",
                failing.len(),
                enabled.len(),
                failing
                    .iter()
                    .map(|f| f.name.as_str())
                    .collect::<Vec<_>>()
                    .join(", ")
            )),
        )
    } else {
        ("ok", None)
    };
    SourceHealth {
        status,
        reason,
        enabled: enabled.len(),
        failing,
        last_success_at,
    }
}

/// `GET /health`: `ok` or `degraded` (200), `failing` or `unavailable` (database down) (503),
/// with the failing sources named and the last run that did work.
async fn health(State(st): State<Arc<AdminState>>) -> Response {
    let config = st.current.borrow().clone();
    let now = Utc::now();
    let db = st.store.ping().await;
    let (states, runs) = match &db {
        Ok(()) => (
            st.store.sources().await.map_err(|e| e.to_string()),
            st.store.runs(1, None).await.unwrap_or_default(),
        ),
        Err(e) => (Err(e.to_string()), Vec::new()),
    };
    let (status, code, sources) = match &states {
        Ok(states) => {
            let h = source_health(&config, states, now, st.started_at);
            let code = if h.status == "failing" {
                StatusCode::SERVICE_UNAVAILABLE
            } else {
                StatusCode::OK
            };
            (h.status, code, Some(h))
        }
        Err(_) => ("unavailable", StatusCode::SERVICE_UNAVAILABLE, None),
    };
    // A full disk answers reads but refuses every write: not healthy, whatever the sources say.
    let write_error = st.store.write_error();
    let (status, code) = match (&db, &write_error) {
        (Ok(()), Some(_)) => ("disk_full", StatusCode::SERVICE_UNAVAILABLE),
        _ => (status, code),
    };
    let last_success = sources.as_ref().and_then(|h| h.last_success_at);
    let body = json!({
        "status": status,
        "storage_error": write_error,
        "reason": sources.as_ref().and_then(|h| h.reason.clone()),
        "database": match (&db, &states) {
            (Ok(()), Ok(_)) => "ok".to_string(),
            (Err(e), _) => e.to_string(),
            (_, Err(e)) => e.clone(),
        },
        "sources_enabled": sources.as_ref().map(|h| h.enabled),
        "failing_sources": sources.as_ref().map(|h| &h.failing),
        "last_run": runs.first(),
        "last_success_at": last_success,
        "last_success_age_seconds": last_success.map(|t| (now - t).num_seconds()),
        "health_max_age_seconds": config.health_max_age().as_secs(),
    });
    (code, axum::Json(body)).into_response()
}

/// `GET /metrics`: the Prometheus text format, or OpenMetrics when the scraper's `Accept` asks
/// for it.
async fn metrics(State(st): State<Arc<AdminState>>, headers: axum::http::HeaderMap) -> Response {
    let format = Exposition::from_accept(headers.get(header::ACCEPT).and_then(|v| v.to_str().ok()));
    let (sources, up) = match st.store.sources().await {
        Ok(s) => (s, true),
        Err(e) => {
            tracing::warn!(error = %e, "metrics: database unavailable");
            (Vec::new(), false)
        }
    };
    let sources: Vec<_> = sources
        .into_iter()
        .filter(|s| st.current.borrow().source(&s.name).is_some())
        .collect();
    (
        [(header::CONTENT_TYPE, format.content_type())],
        st.metrics.render(&sources, up, format),
    )
        .into_response()
}

async fn new_stories(
    st: &AdminState,
    q: Option<&str>,
) -> Result<Vec<crate::model::Story>, Response> {
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
async fn related_or_none(st: &AdminState, stories: &[crate::model::Story]) -> export::Relations {
    export::relations(st.store.as_ref(), stories)
        .await
        .unwrap_or_else(|e| {
            tracing::warn!(error = %e, "related sources of the feed's stories not read");
            export::Relations::default()
        })
}

fn feed_title(st: &AdminState) -> String {
    format!("newsdesk: new stories ({})", st.current.borrow().topic.name)
}

/// `GET /stories/new.json[?limit=N&source=NAME]`: stories with status `new` as JSON Feed 1.1.
async fn new_json(State(st): State<Arc<AdminState>>, RawQuery(q): RawQuery) -> Response {
    match new_stories(&st, q.as_deref()).await {
        Ok(stories) => (
            [(header::CONTENT_TYPE, "application/feed+json")],
            export::render_related(
                &stories,
                &related_or_none(&st, &stories).await,
                export::StoryFormat::Jsonfeed,
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
            export::render_related(
                &stories,
                &related_or_none(&st, &stories).await,
                export::StoryFormat::Atom,
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

/// Reads `{"ids":[…]}` whatever the Content-Type says: CMS plugins and `curl -d` often send
/// JSON as `application/x-www-form-urlencoded` or with no type at all.
async fn set_status_from_body(st: &AdminState, body: &[u8], status: StoryStatus) -> Response {
    match serde_json::from_slice::<Ids>(body) {
        Ok(b) => set_status(st, &b.ids, status).await,
        Err(e) => error(
            StatusCode::BAD_REQUEST,
            &format!("expected a JSON body like {{\"ids\":[1,2]}}: {e}"),
        ),
    }
}

/// `POST /stories/publish` with `{"ids":[…]}`.
async fn publish_ids(State(st): State<Arc<AdminState>>, body: axum::body::Bytes) -> Response {
    set_status_from_body(&st, &body, StoryStatus::Published).await
}

/// `POST /stories/reject` with `{"ids":[…]}`.
async fn reject_ids(State(st): State<Arc<AdminState>>, body: axum::body::Bytes) -> Response {
    set_status_from_body(&st, &body, StoryStatus::Rejected).await
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::SourceState;
    use chrono::{DateTime, TimeZone};

    fn at(s: i64) -> DateTime<Utc> {
        Utc.timestamp_opt(1_800_000_000 + s, 0)
            .single()
            .expect("valid time")
    }

    fn config(extra: &str) -> Config {
        Config::parse(
            &format!(
                "[schedule]\nmin_interval = \"1m\"\nmax_interval = \"1h\"\n{extra}\n\
                 [[sources]]\nname = \"a\"\nkind = \"feed\"\nurl = \"https://example.com/a\"\n\
                 [[sources]]\nname = \"b\"\nkind = \"feed\"\nurl = \"https://example.com/b\"\n\
                 [[sources]]\nname = \"off\"\nkind = \"feed\"\nurl = \"https://example.com/c\"\n\
                 enabled = false\n"
            ),
            std::path::Path::new("t.toml"),
        )
        .expect("config")
    }

    fn state(name: &str, errors: i64, success: Option<i64>) -> SourceState {
        SourceState {
            name: name.into(),
            kind: "feed".into(),
            url: String::new(),
            etag: None,
            last_modified: None,
            last_fetch_at: Some(at(0)),
            last_success_at: success.map(at),
            last_error: (errors > 0).then(|| "HTTP 500".to_string()),
            consecutive_errors: errors,
            next_due_at: at(0),
            interval_secs: 60,
            last_new_story_at: None,
            lease_owner: None,
            lease_until: None,
        }
    }

    #[test]
    fn health_states() {
        let c = config("");
        let start = at(-10);
        let ok = source_health(
            &c,
            &[state("a", 0, Some(0)), state("b", 0, Some(0))],
            at(5),
            start,
        );
        assert_eq!((ok.status, ok.failing.len()), ("ok", 0));
        // A disabled source failing does not count.
        let h = source_health(
            &c,
            &[
                state("a", 0, Some(0)),
                state("b", 2, None),
                state("off", 9, None),
            ],
            at(5),
            start,
        );
        assert_eq!(h.status, "degraded");
        assert_eq!(h.failing.len(), 1);
        assert_eq!(h.failing[0].name, "b");
        let h = source_health(
            &c,
            &[state("a", 1, Some(0)), state("b", 2, None)],
            at(5),
            start,
        );
        assert_eq!(h.status, "failing");
        // Default age: twice max_interval (2 h).
        let fresh = [state("a", 0, Some(0)), state("b", 0, Some(0))];
        assert_eq!(source_health(&c, &fresh, at(7_199), start).status, "ok");
        assert_eq!(
            source_health(&c, &fresh, at(7_201), start).status,
            "failing"
        );
        let short = config("[admin]\nhealth_max_age = \"30s\"");
        assert_eq!(
            source_health(&short, &fresh, at(31), start).status,
            "failing"
        );
        // Never fetched yet: a daemon just started gets the whole age.
        let new = [state("a", 0, None), state("b", 0, None)];
        assert_eq!(source_health(&short, &new, at(10), at(0)).status, "ok");
        assert_eq!(source_health(&short, &new, at(40), at(0)).status, "failing");
    }
}
