//! The desk: server-rendered pages for editors and operators under `/desk/` on the admin
//! listener.
//!
//! - `GET /desk/`: the queue (stories with status `new`, newest first, grouped by cluster).
//! - `GET /desk/story/{id}`: one story as it will be published.
//! - `POST /desk/status`: publish or reject stories (form fields `action`, `id`…, `csrf`).
//! - `GET /desk/log`: runs and item events, filtered by `source`, `outcome`, `run`, paged
//!   with `before`; the newest page follows `GET /desk/log/events` (server-sent events,
//!   same filters, `after=ID`; see [`live`]) and falls back to re-reading itself every 3 s.
//! - `GET /desk/sources`: each source's health and next try; `POST /desk/fetch` (`source`
//!   optional) queues a manual run in the daemon; `POST /desk/fetch/stream?source=NAME`
//!   (CSRF token in `X-CSRF-Token`) does the same and streams its progress as NDJSON, the
//!   lines of the admin `POST /fetch`, for the page's script.
//! - `GET /desk/login`, `POST /desk/login`, `POST /desk/logout`: the session when the
//!   endpoint has a token.
//!
//! Pages are maud templates (escaped by default) and work without JavaScript; `desk.js` only
//! adds keyboard shortcuts. Every response carries a strict Content-Security-Policy (scripts
//! and styles only from `/desk/assets/`, nothing inline), so even a body that slipped past
//! sanitizing could not run script.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::body::Bytes;
use axum::extract::{Path, RawQuery, Request, State};
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::Router;
use chrono::{DateTime, Utc};
use maud::{html, Markup, PreEscaped, DOCTYPE};

use crate::daemon::admin::AdminState;
use crate::daemon::protocol::token_matches;
use crate::model::{Event, Outcome, StoryStatus};
use crate::store::desk_queries::{day_of, DeskDb, QueueStory, SourceDay};
use crate::store::{EventFilter, StoryFilter};

mod live;
mod pages;
mod preview;
pub mod web;

/// Name of the session cookie.
const COOKIE: &str = "newsdesk_desk";
/// How long a login lasts.
const SESSION_TTL: Duration = Duration::from_secs(12 * 3600);
/// Sessions kept at most; the oldest goes first (bounds memory against login floods).
const MAX_SESSIONS: usize = 256;
/// Stories on the queue page.
const QUEUE_LIMIT: i64 = 200;
/// The queue's count stops here ("more than 10000 new stories").
const QUEUE_COUNT_CAP: i64 = 10_000;
/// Events per log page.
const LOG_PAGE: i64 = 50;
/// Ids one form may change.
const MAX_IDS: usize = 1000;

/// The policy every desk response carries: nothing inline, nothing from elsewhere except
/// images in story bodies (`https:`), no framing.
const CSP: &str = "default-src 'none'; script-src 'self'; style-src 'self'; \
                   img-src 'self' https: data:; connect-src 'self'; form-action 'self'; frame-ancestors 'none'; \
                   base-uri 'none'";

const DESK_JS: &str = include_str!("assets/desk.js");
const DESK_CSS: &str = include_str!("assets/desk.css");

struct Session {
    csrf: String,
    created: Instant,
}

/// What the desk's handlers share.
struct Desk {
    admin: Arc<AdminState>,
    /// The admin token; `None` means the listener (a 0600 Unix socket) is the only gate.
    token: Option<String>,
    sessions: Mutex<HashMap<String, Session>>,
    /// The CSRF token of a tokenless endpoint (no sessions there).
    open_csrf: String,
    /// The desk's own read pool, opened on first use (the daemon's store migrated the
    /// database before the endpoint was bound).
    db: tokio::sync::OnceCell<DeskDb>,
}

/// The desk's routes, ready to merge into the admin router (outside its bearer-token layer:
/// the desk has its own login).
pub fn router(admin: Arc<AdminState>, token: Option<String>) -> Router {
    let desk = Arc::new(Desk {
        admin,
        token,
        sessions: Mutex::new(HashMap::new()),
        open_csrf: random_token(),
        db: tokio::sync::OnceCell::new(),
    });
    Router::new()
        .route("/desk", get(|| async { redirect("/desk/") }))
        .route("/desk/", get(queue))
        .route("/desk/story/{id}", get(story))
        .route("/desk/status", post(set_status))
        .route("/desk/log", get(log))
        .route("/desk/log/events", get(live::events))
        .route("/desk/sources", get(sources))
        .route("/desk/fetch", post(fetch_now))
        .route("/desk/fetch/stream", post(fetch_stream))
        .route("/desk/preview", get(preview_form).post(preview_run))
        .route("/desk/login", get(login_form).post(login))
        .route("/desk/logout", post(logout))
        .route("/desk/assets/desk.js", get(js))
        .route("/desk/assets/desk.css", get(css))
        .with_state(desk)
        .layer(middleware::from_fn(security_headers))
}

async fn security_headers(req: Request, next: Next) -> Response {
    let started = Instant::now();
    let mut resp = next.run(req).await;
    let h = resp.headers_mut();
    // The handler's time (queries + rendering), for the browser's devtools and benches/desk.rs.
    if let Ok(v) = HeaderValue::from_str(&format!(
        "app;dur={:.3}",
        started.elapsed().as_secs_f64() * 1000.0
    )) {
        h.insert("server-timing", v);
    }
    h.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(CSP),
    );
    h.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    h.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("no-referrer"),
    );
    h.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    h.entry(header::CACHE_CONTROL)
        .or_insert(HeaderValue::from_static("no-store"));
    resp
}

fn random_token() -> String {
    use rand::RngCore as _;
    let mut b = [0u8; 32];
    rand::rng().fill_bytes(&mut b);
    b.iter().map(|x| format!("{x:02x}")).collect()
}

fn redirect(to: &str) -> Response {
    (StatusCode::SEE_OTHER, [(header::LOCATION, to.to_string())]).into_response()
}

fn html_page(status: StatusCode, page: Markup) -> Response {
    (
        status,
        [(header::CONTENT_TYPE, "text/html; charset=utf-8")],
        page.into_string(),
    )
        .into_response()
}

fn form_values(body: &[u8]) -> Vec<(String, String)> {
    url::form_urlencoded::parse(body).into_owned().collect()
}

fn first<'a>(pairs: &'a [(String, String)], key: &str) -> Option<&'a str> {
    pairs
        .iter()
        .find(|(k, _)| k == key)
        .map(|(_, v)| v.as_str())
}

/// Who is asking: the CSRF token their forms must carry, or why not.
enum Access {
    Allowed { csrf: String },
    Denied,
}

impl Desk {
    async fn db(&self) -> Result<&DeskDb, crate::store::StoreError> {
        self.db
            .get_or_try_init(|| DeskDb::open(&self.admin.config.storage.url))
            .await
    }

    fn access(&self, headers: &HeaderMap) -> Access {
        if self.token.is_none() {
            return Access::Allowed {
                csrf: self.open_csrf.clone(),
            };
        }
        let Some(id) = session_cookie(headers) else {
            return Access::Denied;
        };
        let mut sessions = self
            .sessions
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        sessions.retain(|_, s| s.created.elapsed() < SESSION_TTL);
        let found = sessions
            .iter()
            .find(|(k, _)| token_matches(k, &id))
            .map(|(_, s)| s.csrf.clone());
        match found {
            Some(csrf) => Access::Allowed { csrf },
            None => Access::Denied,
        }
    }

    fn new_session(&self) -> String {
        let id = random_token();
        let mut sessions = self
            .sessions
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        sessions.retain(|_, s| s.created.elapsed() < SESSION_TTL);
        while sessions.len() >= MAX_SESSIONS {
            let oldest = sessions
                .iter()
                .min_by_key(|(_, s)| s.created)
                .map(|(k, _)| k.clone());
            match oldest {
                Some(k) => sessions.remove(&k),
                None => break,
            };
        }
        sessions.insert(
            id.clone(),
            Session {
                csrf: random_token(),
                created: Instant::now(),
            },
        );
        id
    }

    fn end_session(&self, headers: &HeaderMap) {
        if let Some(id) = session_cookie(headers) {
            self.sessions
                .lock()
                .unwrap_or_else(|poisoned| poisoned.into_inner())
                .remove(&id);
        }
    }

    /// Lets a page through, or sends the browser to the login form.
    fn page_access(&self, headers: &HeaderMap) -> Result<String, Refusal> {
        match self.access(headers) {
            Access::Allowed { csrf } => Ok(csrf),
            Access::Denied => Err(Refusal::Login),
        }
    }

    /// Lets a form post through when it carries the session's CSRF token.
    fn post_access(&self, headers: &HeaderMap, form: &[(String, String)]) -> Result<(), Refusal> {
        match self.access(headers) {
            Access::Allowed { csrf } => {
                if first(form, "csrf").is_some_and(|given| token_matches(given, &csrf)) {
                    Ok(())
                } else {
                    Err(Refusal::Csrf)
                }
            }
            Access::Denied => Err(Refusal::NotLoggedIn),
        }
    }
}

/// Why a request was turned away.
enum Refusal {
    /// A page without a session: off to the login form.
    Login,
    /// A post without a session.
    NotLoggedIn,
    /// A post without the session's CSRF token.
    Csrf,
}

impl IntoResponse for Refusal {
    fn into_response(self) -> Response {
        match self {
            Refusal::Login => redirect("/desk/login"),
            Refusal::NotLoggedIn => message(
                StatusCode::FORBIDDEN,
                "Not logged in",
                "Log in with the admin token first.",
            ),
            Refusal::Csrf => message(
                StatusCode::FORBIDDEN,
                "Form expired",
                "The form's CSRF token is missing or stale; reload the page and try again.",
            ),
        }
    }
}

fn session_cookie(headers: &HeaderMap) -> Option<String> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(k, _)| *k == COOKIE)
        .map(|(_, v)| v.to_string())
}

fn message(status: StatusCode, title: &str, text: &str) -> Response {
    html_page(
        status,
        pages::layout(
            title,
            None,
            "",
            html! { h1 { (title) } p.error { (text) } p { a href="/desk/" { "Back to the queue" } } },
        ),
    )
}

fn unavailable(e: impl std::fmt::Display) -> Response {
    message(
        StatusCode::SERVICE_UNAVAILABLE,
        "Database unavailable",
        &e.to_string(),
    )
}

async fn js() -> Response {
    (
        [
            (header::CONTENT_TYPE, "text/javascript; charset=utf-8"),
            (header::CACHE_CONTROL, "max-age=300"),
        ],
        DESK_JS,
    )
        .into_response()
}

async fn css() -> Response {
    (
        [
            (header::CONTENT_TYPE, "text/css; charset=utf-8"),
            (header::CACHE_CONTROL, "max-age=300"),
        ],
        DESK_CSS,
    )
        .into_response()
}

async fn login_form(State(desk): State<Arc<Desk>>, headers: HeaderMap) -> Response {
    if desk.token.is_none() || matches!(desk.access(&headers), Access::Allowed { .. }) {
        return redirect("/desk/");
    }
    html_page(StatusCode::OK, pages::login(None))
}

async fn login(State(desk): State<Arc<Desk>>, headers: HeaderMap, body: Bytes) -> Response {
    let Some(expected) = desk.token.as_deref() else {
        return redirect("/desk/");
    };
    let form = form_values(&body);
    let given = first(&form, "token").unwrap_or("").trim();
    if !token_matches(given, expected) {
        // Slows down guessing; the token is long enough that this is only a courtesy.
        tokio::time::sleep(Duration::from_millis(300)).await;
        tracing::warn!("desk: login with a wrong token");
        return html_page(
            StatusCode::UNAUTHORIZED,
            pages::login(Some("That is not the admin token.")),
        );
    }
    let id = desk.new_session();
    let mut cookie = format!(
        "{COOKIE}={id}; Path=/desk; HttpOnly; SameSite=Strict; Max-Age={}",
        SESSION_TTL.as_secs()
    );
    // The desk itself speaks plain HTTP; behind a proxy that terminates TLS the browser must
    // not send the session back in clear.
    if reached_over_https(&headers) {
        cookie.push_str("; Secure");
    }
    tracing::info!("desk: logged in");
    let mut resp = redirect("/desk/");
    if let Ok(v) = HeaderValue::from_str(&cookie) {
        resp.headers_mut().insert(header::SET_COOKIE, v);
    }
    resp
}

/// Whether the proxy in front says the browser used HTTPS: the first (client-side) entry of
/// `X-Forwarded-Proto`, or the `proto` of the first element of RFC 7239 `Forwarded`.
fn reached_over_https(headers: &HeaderMap) -> bool {
    let first_entry = |name: &str| {
        headers
            .get(name)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.split(',').next())
            .map(|v| v.trim().to_ascii_lowercase())
    };
    let x_forwarded = first_entry("x-forwarded-proto").is_some_and(|p| p == "https");
    let forwarded = first_entry("forwarded").is_some_and(|element| {
        element
            .split(';')
            .any(|pair| matches!(pair.trim(), "proto=https" | "proto=\"https\""))
    });
    x_forwarded || forwarded
}

async fn logout(State(desk): State<Arc<Desk>>, headers: HeaderMap, body: Bytes) -> Response {
    let form = form_values(&body);
    if let Err(r) = desk.post_access(&headers, &form) {
        return r.into_response();
    }
    desk.end_session(&headers);
    let mut resp = redirect("/desk/login");
    resp.headers_mut().insert(
        header::SET_COOKIE,
        HeaderValue::from_static(
            "newsdesk_desk=; Path=/desk; HttpOnly; SameSite=Strict; Max-Age=0",
        ),
    );
    resp
}

/// Stories of one cluster (or one story without a cluster), oldest first: the first is the
/// lead, the others "also reported by".
pub(crate) struct Group {
    cluster_id: Option<i64>,
    stories: Vec<QueueStory>,
}

/// Groups stories (newest first) by their stored cluster, keeping the order in which each
/// group's newest story appears. A cluster whose older reports fall on the next page shows
/// them there.
fn group_by_cluster(stories: Vec<QueueStory>) -> Vec<Group> {
    let mut groups: Vec<Group> = Vec::new();
    let mut index: HashMap<i64, usize> = HashMap::new();
    for s in stories {
        let slot = s.cluster_id.and_then(|c| index.get(&c).copied());
        match (slot, s.cluster_id) {
            (Some(i), _) => {
                if let Some(g) = groups.get_mut(i) {
                    g.stories.push(s);
                }
            }
            (None, cluster_id) => {
                if let Some(c) = cluster_id {
                    index.insert(c, groups.len());
                }
                groups.push(Group {
                    cluster_id,
                    stories: vec![s],
                });
            }
        }
    }
    for g in &mut groups {
        g.stories.sort_by_key(|s| (s.fetched_at, s.id));
    }
    groups
}

/// The queue's page cursor: `?before=ID` shows the stories older than ID.
fn queue_cursor(q: Option<&str>) -> Result<Option<i64>, String> {
    match url::form_urlencoded::parse(q.unwrap_or("").as_bytes())
        .find(|(k, v)| k == "before" && !v.trim().is_empty())
    {
        Some((_, v)) => v
            .trim()
            .parse()
            .map(Some)
            .map_err(|_| format!("before '{v}' is not a story id")),
        None => Ok(None),
    }
}

async fn queue(
    State(desk): State<Arc<Desk>>,
    headers: HeaderMap,
    RawQuery(q): RawQuery,
) -> Response {
    let csrf = match desk.page_access(&headers) {
        Ok(c) => c,
        Err(r) => return r.into_response(),
    };
    let before = match queue_cursor(q.as_deref()) {
        Ok(b) => b,
        Err(e) => return message(StatusCode::BAD_REQUEST, "Bad page", &e),
    };
    let db = match desk.db().await {
        Ok(db) => db,
        Err(e) => return unavailable(e),
    };
    // One more than shown tells whether an older page exists.
    let mut stories = match db.queue_page(before, QUEUE_LIMIT + 1).await {
        Ok(s) => s,
        Err(e) => return unavailable(e),
    };
    let older = if stories.len() > QUEUE_LIMIT as usize {
        stories.truncate(QUEUE_LIMIT as usize);
        stories.last().map(|s| format!("/desk/?before={}", s.id))
    } else {
        None
    };
    let total = match db.queue_len(QUEUE_COUNT_CAP + 1).await {
        Ok(n) => n,
        Err(e) => return unavailable(e),
    };
    let back = match before {
        Some(b) => format!("/desk/?before={b}"),
        None => "/desk/".to_string(),
    };
    let groups = group_by_cluster(stories);
    html_page(
        StatusCode::OK,
        pages::queue(&pages::QueueView {
            csrf: &csrf,
            groups: &groups,
            total,
            count_cap: QUEUE_COUNT_CAP,
            back: &back,
            older,
            newest: before.map(|_| "/desk/".to_string()),
        }),
    )
}

async fn story(
    State(desk): State<Arc<Desk>>,
    headers: HeaderMap,
    Path(id): Path<String>,
) -> Response {
    let csrf = match desk.page_access(&headers) {
        Ok(c) => c,
        Err(r) => return r.into_response(),
    };
    let Ok(id) = id.parse::<i64>() else {
        return message(
            StatusCode::NOT_FOUND,
            "No such story",
            "Story ids are numbers.",
        );
    };
    let story = match desk.admin.store.story(id).await {
        Ok(Some(s)) => s,
        Ok(None) => {
            return message(
                StatusCode::NOT_FOUND,
                "No such story",
                &format!("There is no story {id}."),
            )
        }
        Err(e) => return unavailable(e),
    };
    let siblings = match story.cluster_id {
        Some(c) => desk
            .admin
            .store
            .stories(&StoryFilter {
                status: None,
                source: None,
                cluster_id: Some(c),
                limit: 50,
            })
            .await
            .unwrap_or_default()
            .into_iter()
            .filter(|s| s.id != story.id)
            .collect(),
        None => Vec::new(),
    };
    // The event that stored it (why it passed) and the items dropped as its copies.
    let events = match desk.admin.store.story_events(story.id, 100).await {
        Ok(e) => e,
        Err(e) => return unavailable(e),
    };
    html_page(
        StatusCode::OK,
        pages::story(&csrf, &story, &siblings, &events),
    )
}

/// Only paths inside the desk are followed after a form post (no open redirect).
fn safe_back(back: Option<&str>) -> &str {
    match back {
        Some(b)
            if b.starts_with("/desk/")
                && !b.contains("//")
                && !b.contains('\\')
                && !b.chars().any(char::is_control) =>
        {
            b
        }
        _ => "/desk/",
    }
}

async fn set_status(State(desk): State<Arc<Desk>>, headers: HeaderMap, body: Bytes) -> Response {
    let form = form_values(&body);
    if let Err(r) = desk.post_access(&headers, &form) {
        return r.into_response();
    }
    let status = match first(&form, "action") {
        Some("publish") => StoryStatus::Published,
        Some("reject") => StoryStatus::Rejected,
        _ => {
            return message(
                StatusCode::BAD_REQUEST,
                "Unknown action",
                "The form must say publish or reject.",
            )
        }
    };
    let ids: Result<Vec<i64>, _> = form
        .iter()
        .filter(|(k, _)| k == "id")
        .map(|(_, v)| v.parse::<i64>())
        .collect();
    let ids = match ids {
        Ok(ids) if !ids.is_empty() && ids.len() <= MAX_IDS => ids,
        _ => {
            return message(
                StatusCode::BAD_REQUEST,
                "Bad story ids",
                &format!("The form must name between 1 and {MAX_IDS} story ids."),
            )
        }
    };
    match desk.admin.store.set_story_status(&ids, status).await {
        Ok(n) => {
            tracing::info!(ids = ?ids, status = status.as_str(), changed = n, "desk: story status set");
            redirect(safe_back(first(&form, "back")))
        }
        Err(e) => unavailable(e),
    }
}

/// The log page's filters, read from the query string.
#[derive(Debug, Default, Clone, PartialEq)]
pub(crate) struct LogQuery {
    source: Option<String>,
    outcome: Option<Outcome>,
    run: Option<i64>,
    /// Only events this recent (`2h`, `30m`, `1day`), as `newsdesk logs --since`.
    since: Option<String>,
    before: Option<i64>,
}

impl LogQuery {
    fn parse(q: Option<&str>) -> Result<LogQuery, String> {
        let mut out = LogQuery::default();
        for (k, v) in url::form_urlencoded::parse(q.unwrap_or("").as_bytes()) {
            let v = v.trim();
            if v.is_empty() {
                continue;
            }
            match k.as_ref() {
                "source" => out.source = Some(v.to_string()),
                "outcome" => {
                    out.outcome = Some(Outcome::parse(v).map_err(|_| {
                        format!("outcome '{v}' is not one of the outcomes listed in the filter")
                    })?)
                }
                "run" => {
                    out.run = Some(
                        v.parse()
                            .map_err(|_| format!("run '{v}' is not a run number"))?,
                    )
                }
                "since" => {
                    humantime::parse_duration(v).map_err(|e| {
                        format!("since '{v}' is not a duration like 2h or 30m: {e}")
                    })?;
                    out.since = Some(v.to_string())
                }
                "before" => {
                    out.before = Some(
                        v.parse()
                            .map_err(|_| format!("before '{v}' is not an event id"))?,
                    )
                }
                _ => {}
            }
        }
        Ok(out)
    }

    /// The live stream of these filters, from the event after `after`.
    fn events_href(&self, after: i64) -> String {
        let mut q = url::form_urlencoded::Serializer::new(String::new());
        if let Some(s) = &self.source {
            q.append_pair("source", s);
        }
        if let Some(o) = self.outcome {
            q.append_pair("outcome", o.as_str());
        }
        if let Some(r) = self.run {
            q.append_pair("run", &r.to_string());
        }
        q.append_pair("after", &after.to_string());
        format!("/desk/log/events?{}", q.finish())
    }

    /// The query string of these filters, with the page cursor `before`.
    fn href(&self, before: Option<i64>) -> String {
        let mut q = url::form_urlencoded::Serializer::new(String::new());
        if let Some(s) = &self.source {
            q.append_pair("source", s);
        }
        if let Some(o) = self.outcome {
            q.append_pair("outcome", o.as_str());
        }
        if let Some(r) = self.run {
            q.append_pair("run", &r.to_string());
        }
        if let Some(t) = &self.since {
            q.append_pair("since", t);
        }
        if let Some(b) = before {
            q.append_pair("before", &b.to_string());
        }
        let q = q.finish();
        if q.is_empty() {
            "/desk/log".into()
        } else {
            format!("/desk/log?{q}")
        }
    }
}

async fn log(State(desk): State<Arc<Desk>>, headers: HeaderMap, RawQuery(q): RawQuery) -> Response {
    let csrf = match desk.page_access(&headers) {
        Ok(c) => c,
        Err(r) => return r.into_response(),
    };
    let query = match LogQuery::parse(q.as_deref()) {
        Ok(q) => q,
        Err(e) => return message(StatusCode::BAD_REQUEST, "Bad filter", &e),
    };
    let filter = EventFilter {
        run_id: query.run,
        source: query.source.clone(),
        outcome: query.outcome,
        // Parsed already; a span reaching before any representable time means no bound.
        since: query
            .since
            .as_deref()
            .and_then(|t| humantime::parse_duration(t).ok())
            .and_then(|d| chrono::Duration::from_std(d).ok())
            .and_then(|d| Utc::now().checked_sub_signed(d)),
        after_id: None,
        // One more than shown tells whether an older page exists.
        limit: LOG_PAGE + 1,
    };
    let store = &desk.admin.store;
    let events = match query.before {
        Some(b) => store.events_before(&filter, b).await,
        None => store.events(&filter).await,
    };
    let mut events: Vec<Event> = match events {
        Ok(e) => e,
        Err(e) => return unavailable(e),
    };
    let older = if events.len() > LOG_PAGE as usize {
        events.truncate(LOG_PAGE as usize);
        events.last().map(|e| query.href(Some(e.id)))
    } else {
        None
    };
    let runs = match store.runs(20, query.run).await {
        Ok(r) => r,
        Err(e) => return unavailable(e),
    };
    // The newest page follows the events stored after the newest one it shows (or after the
    // newest of all, when none match yet), so nothing falls between the page and the stream.
    let events_url = if query.before.is_none() {
        let after = match events.first() {
            Some(e) => Ok(e.id),
            None => live::newest_event_id(store.as_ref()).await,
        };
        match after {
            Ok(after) => Some(query.events_href(after)),
            Err(e) => return unavailable(e),
        }
    } else {
        None
    };
    let sources: Vec<String> = desk
        .admin
        .current
        .borrow()
        .sources
        .iter()
        .map(|s| s.name.clone())
        .collect();
    html_page(
        StatusCode::OK,
        pages::log(&pages::LogView {
            csrf: &csrf,
            query: &query,
            sources: &sources,
            runs: &runs,
            events: &events,
            older,
            newer: query.before.map(|_| query.href(None)),
            events_url,
        }),
    )
}

/// Days in the sources page's charts.
const CHART_DAYS: i64 = 14;

/// One row of the sources page.
pub(crate) struct SourceRow {
    state: crate::model::SourceState,
    enabled: bool,
    next: crate::schedule::NextTry,
    /// The last [`CHART_DAYS`] days, oldest first (days without events count zero).
    days: Vec<SourceDay>,
}

/// Each source's last `CHART_DAYS` days up to `today`, oldest first, zero-filled.
fn chart_days(rows: Vec<SourceDay>, today: i64) -> HashMap<String, Vec<SourceDay>> {
    let first = today - (CHART_DAYS - 1);
    let mut out: HashMap<String, Vec<SourceDay>> = HashMap::new();
    for r in rows {
        let Ok(slot) = usize::try_from(r.day - first) else {
            continue;
        };
        let days = out.entry(r.source.clone()).or_insert_with(|| {
            (first..=today)
                .map(|day| SourceDay {
                    source: r.source.clone(),
                    day,
                    items: 0,
                    stored: 0,
                    errors: 0,
                })
                .collect()
        });
        if let Some(d) = days.get_mut(slot) {
            *d = r;
        }
    }
    out
}

async fn sources(
    State(desk): State<Arc<Desk>>,
    headers: HeaderMap,
    RawQuery(q): RawQuery,
) -> Response {
    let csrf = match desk.page_access(&headers) {
        Ok(c) => c,
        Err(r) => return r.into_response(),
    };
    let config = desk.admin.current.borrow().clone();
    let states: Vec<crate::model::SourceState> = match desk.admin.store.sources().await {
        Ok(s) => s
            .into_iter()
            .filter(|s| config.source(&s.name).is_some())
            .collect(),
        Err(e) => return unavailable(e),
    };
    let now = Utc::now();
    let today = day_of(now);
    let days = match desk.db().await {
        Ok(db) => db.source_days(today - (CHART_DAYS - 1)).await,
        Err(e) => Err(e),
    };
    let mut days = match days {
        Ok(d) => chart_days(d, today),
        Err(e) => return unavailable(e),
    };
    let health = crate::daemon::admin::source_health(&config, &states, now, desk.admin.started_at);
    let rows: Vec<SourceRow> = states
        .into_iter()
        .map(|state| SourceRow {
            enabled: config.source(&state.name).is_some_and(|c| c.enabled),
            next: crate::schedule::next_try(&config, &state, now),
            days: days.remove(&state.name).unwrap_or_else(|| {
                chart_days(
                    vec![SourceDay {
                        source: state.name.clone(),
                        day: today,
                        items: 0,
                        stored: 0,
                        errors: 0,
                    }],
                    today,
                )
                .remove(&state.name)
                .unwrap_or_default()
            }),
            state,
        })
        .collect();
    let queued = url::form_urlencoded::parse(q.as_deref().unwrap_or("").as_bytes())
        .find(|(k, _)| k == "queued")
        .map(|(_, v)| v.into_owned());
    html_page(
        StatusCode::OK,
        pages::sources(&csrf, &health, &rows, queued.as_deref()),
    )
}

/// Queues a manual run like `newsdesk fetch` and goes back to the sources page; the run's
/// events appear in the log as it goes.
async fn fetch_now(State(desk): State<Arc<Desk>>, headers: HeaderMap, body: Bytes) -> Response {
    let form = form_values(&body);
    if let Err(r) = desk.post_access(&headers, &form) {
        return r.into_response();
    }
    let source = first(&form, "source").filter(|s| !s.is_empty());
    if let Some(name) = source {
        if desk.admin.current.borrow().source(name).is_none() {
            return message(
                StatusCode::BAD_REQUEST,
                "Unknown source",
                &format!("There is no source named '{name}' in the config."),
            );
        }
    }
    // Nobody waits for the report here: the log page shows the run.
    let (respond, _) = tokio::sync::oneshot::channel();
    let trigger = crate::schedule::ManualTrigger {
        sources: source.map(str::to_string).into_iter().collect(),
        respond,
        progress: None,
    };
    match desk.admin.manual.try_send(trigger) {
        Ok(()) => {
            tracing::info!(source = source.unwrap_or("all"), "desk: manual run queued");
            let mut back = url::form_urlencoded::Serializer::new(String::new());
            back.append_pair("queued", source.unwrap_or("all sources"));
            redirect(&format!("/desk/sources?{}", back.finish()))
        }
        Err(tokio::sync::mpsc::error::TrySendError::Full(_)) => message(
            StatusCode::SERVICE_UNAVAILABLE,
            "Busy",
            "Too many manual runs are queued; try again when they finish.",
        ),
        Err(tokio::sync::mpsc::error::TrySendError::Closed(_)) => message(
            StatusCode::SERVICE_UNAVAILABLE,
            "Stopping",
            "The daemon is stopping.",
        ),
    }
}

async fn preview_form(State(desk): State<Arc<Desk>>, headers: HeaderMap) -> Response {
    let csrf = match desk.page_access(&headers) {
        Ok(c) => c,
        Err(r) => return r.into_response(),
    };
    html_page(StatusCode::OK, pages::preview(&csrf, None, None))
}

/// Fetches and judges what the form names, writing nothing. A POST (with the CSRF token)
/// although it changes nothing: it makes the daemon fetch a URL of the editor's choosing.
async fn preview_run(State(desk): State<Arc<Desk>>, headers: HeaderMap, body: Bytes) -> Response {
    let form = form_values(&body);
    if let Err(r) = desk.post_access(&headers, &form) {
        return r.into_response();
    }
    let csrf = match desk.page_access(&headers) {
        Ok(c) => c,
        Err(r) => return r.into_response(),
    };
    let req = match preview::Request::from_form(&form) {
        Ok(r) => r,
        Err(e) => {
            return html_page(
                StatusCode::BAD_REQUEST,
                pages::preview(&csrf, None, Some(Err(e))),
            )
        }
    };
    let config = desk.admin.current.borrow().clone();
    let result = preview::run(config, desk.admin.store.clone(), &req).await;
    if let Err(e) = &result {
        tracing::info!(url = %req.url, error = %e, "desk: preview failed");
    }
    html_page(
        StatusCode::OK,
        pages::preview(&csrf, Some(&req), Some(result)),
    )
}

/// The admin endpoint's `POST /fetch` (NDJSON progress, then the report) for a desk session;
/// the CSRF token comes in a header because the page's script sends it.
async fn fetch_stream(
    State(desk): State<Arc<Desk>>,
    headers: HeaderMap,
    RawQuery(q): RawQuery,
) -> Response {
    let token = headers
        .get("x-csrf-token")
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    if let Err(r) = desk.post_access(&headers, &[("csrf".to_string(), token.to_string())]) {
        return r.into_response();
    }
    crate::daemon::admin::fetch(State(desk.admin.clone()), RawQuery(q)).await
}

fn when(t: DateTime<Utc>) -> String {
    t.format("%Y-%m-%d %H:%M UTC").to_string()
}

/// A stored body for the page: sanitized again on the way out, so a row written by an older
/// version (or by hand) cannot carry script; the CSP is the last line behind this.
fn body_html(stored: &str) -> PreEscaped<String> {
    PreEscaped(ammonia::clean(stored))
}

fn doc(title: &str, body: Markup) -> Markup {
    html! {
        (DOCTYPE)
        html lang="en" {
            head {
                meta charset="utf-8";
                meta name="viewport" content="width=device-width, initial-scale=1";
                title { (title) " · newsdesk" }
                link rel="stylesheet" href="/desk/assets/desk.css";
                script src="/desk/assets/desk.js" defer {}
            }
            body { (body) }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn story(id: i64, cluster: Option<i64>, minute: i64) -> QueueStory {
        QueueStory {
            id,
            source: "s".into(),
            url: format!("https://example.com/{id}"),
            title: Some(format!("t{id}")),
            author: None,
            published_at: None,
            fetched_at: DateTime::from_timestamp(1_800_000_000 + minute * 60, 0)
                .unwrap_or_default(),
            cluster_id: cluster,
            topic_score: None,
            reason: None,
        }
    }

    #[test]
    fn https_is_read_from_the_first_proxy_entry() {
        let with = |pairs: &[(&'static str, &'static str)]| {
            let mut h = HeaderMap::new();
            for (k, v) in pairs {
                h.append(*k, HeaderValue::from_static(v));
            }
            reached_over_https(&h)
        };
        assert!(!with(&[]));
        assert!(with(&[("x-forwarded-proto", "HTTPS")]));
        assert!(with(&[("x-forwarded-proto", "https, http")]));
        assert!(!with(&[("x-forwarded-proto", "http, https")]));
        assert!(with(&[(
            "forwarded",
            "for=192.0.2.1;proto=https;by=10.0.0.1"
        )]));
        assert!(with(&[("forwarded", "for=192.0.2.1; proto=\"https\"")]));
        assert!(!with(&[(
            "forwarded",
            "for=192.0.2.1;proto=http, proto=https"
        )]));
    }

    #[test]
    fn groups_follow_the_newest_story_and_lead_with_the_first_report() {
        // Newest first, as the store gives them.
        let groups = group_by_cluster(vec![
            story(5, Some(1), 5),
            story(4, None, 4),
            story(3, Some(2), 3),
            story(2, Some(1), 2),
            story(1, Some(1), 1),
        ]);
        let ids: Vec<Vec<i64>> = groups
            .iter()
            .map(|g| g.stories.iter().map(|s| s.id).collect())
            .collect();
        assert_eq!(ids, vec![vec![1, 2, 5], vec![4], vec![3]]);
        assert_eq!(groups[0].cluster_id, Some(1));
    }

    #[test]
    fn queue_pages_by_story_id() {
        assert_eq!(queue_cursor(None), Ok(None));
        assert_eq!(queue_cursor(Some("before=")), Ok(None));
        assert_eq!(queue_cursor(Some("x=1&before=250")), Ok(Some(250)));
        assert!(queue_cursor(Some("before=abc")).is_err());
    }

    #[test]
    fn charts_have_fourteen_days_oldest_first_with_gaps_as_zero() {
        let day = |source: &str, day, items| SourceDay {
            source: source.into(),
            day,
            items,
            stored: 0,
            errors: 0,
        };
        let mut by = chart_days(
            vec![
                day("a", 100, 5),
                day("a", 87, 2),
                day("a", 86, 9),
                day("b", 99, 1),
            ],
            100,
        );
        let a = by.remove("a").expect("a");
        assert_eq!(a.len(), 14);
        assert_eq!(a.first().map(|d| (d.day, d.items)), Some((87, 2)));
        assert_eq!(a.last().map(|d| (d.day, d.items)), Some((100, 5)));
        assert_eq!(
            a.iter().map(|d| d.items).sum::<i64>(),
            7,
            "day 86 is outside"
        );
        let b = by.remove("b").expect("b");
        assert_eq!(b.iter().map(|d| d.items).collect::<Vec<_>>()[12], 1);
    }

    #[test]
    fn back_links_stay_inside_the_desk() {
        assert_eq!(safe_back(Some("/desk/story/3")), "/desk/story/3");
        for bad in [
            "https://evil.example/",
            "//evil.example/desk/",
            "/desk/\\evil",
            "/desk//evil.example",
            "/other",
        ] {
            assert_eq!(safe_back(Some(bad)), "/desk/", "{bad}");
        }
        assert_eq!(safe_back(None), "/desk/");
    }

    #[test]
    fn log_filters_round_trip_and_refuse_bad_values() {
        let q = LogQuery::parse(Some("source=a%20b&outcome=off_topic&run=7&before=90"))
            .expect("parses");
        assert_eq!(q.source.as_deref(), Some("a b"));
        assert_eq!(q.outcome, Some(Outcome::OffTopic));
        assert_eq!((q.run, q.before), (Some(7), Some(90)));
        assert_eq!(
            q.href(Some(40)),
            "/desk/log?source=a+b&outcome=off_topic&run=7&before=40"
        );
        assert_eq!(
            LogQuery::parse(Some("outcome=&run=")),
            Ok(LogQuery::default())
        );
        assert!(LogQuery::parse(Some("outcome=nope")).is_err());
        assert!(LogQuery::parse(Some("run=x")).is_err());
        assert!(LogQuery::parse(Some("since=soon")).is_err());
        let q = LogQuery::parse(Some("since=2h&outcome=failed")).expect("parses");
        assert_eq!(q.since.as_deref(), Some("2h"));
        assert_eq!(q.href(None), "/desk/log?outcome=failed&since=2h");
    }

    #[test]
    fn stored_bodies_lose_script_on_the_way_out() {
        let out = body_html("<p onclick=\"x()\">hi<script>alert(1)</script></p>").0;
        assert!(!out.contains("script") && !out.contains("onclick"), "{out}");
        assert!(out.contains("<p>hi</p>"), "{out}");
    }

    #[test]
    fn session_cookie_is_found_among_others() {
        let mut h = HeaderMap::new();
        h.insert(
            header::COOKIE,
            HeaderValue::from_static("a=1; newsdesk_desk=abc; b=2"),
        );
        assert_eq!(session_cookie(&h).as_deref(), Some("abc"));
        h.insert(
            header::COOKIE,
            HeaderValue::from_static("newsdesk_deskx=abc"),
        );
        assert_eq!(session_cookie(&h), None);
    }
}
