//! `GET /desk/log/events`: the log's new events as server-sent events, for the newest log
//! page while a run is going.
//!
//! The query takes the log page's filters (`source`, `outcome`, `run`) and `after=ID` (the
//! newest event the page shows); a reconnecting browser's `Last-Event-ID` wins over `after`.
//! Every [`TICK`] the stream asks the store for matching events above the last one sent (the
//! store is the only place every writer — this daemon, `newsdesk fetch`, another daemon on the
//! same database — meets) and sends:
//!
//! - `event: row`, `id: <event id>`, data: the `<tr>` the log page renders for it (maud,
//!   escaped like the page), oldest first;
//! - `event: runs`, data: the runs table's rows, when they changed;
//! - `event: gap`, when more than [`BATCH`] events arrived in one tick (the page reloads
//!   rather than show a log with a hole), and the stream ends;
//! - `event: bye`, when the session ended or the stream lived [`LIFETIME`]; the browser
//!   reconnects by itself (`retry`) with `Last-Event-ID`, and the session is checked again.
//!
//! A comment line every [`KEEP_ALIVE`] keeps proxies from closing an idle stream. The stream
//! also ends when the daemon's run loop stops (its manual-run channel closes), so shutdown
//! does not wait on open log pages.

use std::collections::VecDeque;
use std::convert::Infallible;
use std::sync::Arc;
use std::time::Duration;

use axum::extract::{RawQuery, State};
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::sse::{Event as SseEvent, KeepAlive, Sse};
use axum::response::{IntoResponse, Response};
use futures_util::stream::{self, Stream};
use tokio::time::Instant;

use super::{message, pages, Access, Desk, LogQuery};
use crate::model::Event;
use crate::store::{EventFilter, Store, StoreError};

/// How often the stream asks the store for new events.
const TICK: Duration = Duration::from_secs(1);
/// Events one tick sends at most; more means the page reloads.
const BATCH: i64 = 200;
/// How long one stream lives before the browser reconnects (and the session is checked again).
const LIFETIME: Duration = Duration::from_secs(10 * 60);
/// Comment lines on an idle stream.
const KEEP_ALIVE: Duration = Duration::from_secs(15);
/// The browser's reconnect delay after a stream ends.
const RETRY: Duration = Duration::from_secs(2);
/// Runs shown in the runs table (as the page).
const RUNS: i64 = 20;

/// The id of the newest event of all (0 when there is none): where a stream starts when the
/// page shows no event.
pub(super) async fn newest_event_id(store: &dyn Store) -> Result<i64, StoreError> {
    let newest = store
        .events(&EventFilter {
            limit: 1,
            ..EventFilter::default()
        })
        .await?;
    Ok(newest.first().map_or(0, |e| e.id))
}

/// Where the stream starts: `Last-Event-ID` (a reconnect) before `after`.
fn start_after(headers: &HeaderMap, q: Option<&str>) -> Result<Option<i64>, String> {
    if let Some(v) = headers.get("last-event-id") {
        let v = v.to_str().unwrap_or("").trim();
        return v
            .parse()
            .map(Some)
            .map_err(|_| format!("Last-Event-ID '{v}' is not an event id"));
    }
    let after = url::form_urlencoded::parse(q.unwrap_or("").as_bytes())
        .find(|(k, _)| k == "after")
        .map(|(_, v)| v.trim().to_string());
    match after {
        None => Ok(None),
        Some(v) if v.is_empty() => Ok(None),
        Some(v) => v
            .parse()
            .map(Some)
            .map_err(|_| format!("after '{v}' is not an event id")),
    }
}

/// What one stream carries between ticks.
struct Follow {
    desk: Arc<Desk>,
    headers: HeaderMap,
    filter: EventFilter,
    last: i64,
    runs_html: String,
    pending: VecDeque<SseEvent>,
    ends_at: Instant,
    first_tick: bool,
    done: bool,
}

impl Follow {
    /// The next thing to send, waiting ticks until there is one; `None` ends the stream.
    async fn next(mut self) -> Option<(Result<SseEvent, Infallible>, Follow)> {
        loop {
            if let Some(e) = self.pending.pop_front() {
                return Some((Ok(e), self));
            }
            if self.done {
                return None;
            }
            if !self.first_tick {
                let wait = tokio::time::sleep(TICK);
                tokio::select! {
                    _ = wait => {}
                    // The run loop stopped: the daemon is shutting down.
                    _ = self.desk.admin.manual.closed() => return None,
                }
            }
            self.first_tick = false;
            if Instant::now() >= self.ends_at
                || !matches!(self.desk.access(&self.headers), Access::Allowed { .. })
            {
                self.done = true;
                self.pending
                    .push_back(SseEvent::default().event("bye").data("reconnect"));
                continue;
            }
            self.poll().await;
        }
    }

    /// Queues the rows stored since the last tick and the runs table when it changed.
    async fn poll(&mut self) {
        let store = self.desk.admin.store.clone();
        let mut f = self.filter.clone();
        f.after_id = Some(self.last);
        f.limit = BATCH + 1;
        let batch: Vec<Event> = match store.events(&f).await {
            Ok(b) => b,
            Err(e) => {
                // The next tick tries again; the page keeps what it has.
                tracing::warn!(error = %e, "desk: live log query failed");
                return;
            }
        };
        if batch.len() > BATCH as usize {
            self.done = true;
            self.pending
                .push_back(SseEvent::default().event("gap").data("reload"));
            return;
        }
        // The store answers newest first; the page prepends, so send oldest first.
        for e in batch.iter().rev() {
            self.last = self.last.max(e.id);
            self.pending.push_back(
                SseEvent::default()
                    .event("row")
                    .id(e.id.to_string())
                    .data(pages::event_row(e).into_string()),
            );
        }
        match store.runs(RUNS, self.filter.run_id).await {
            Ok(runs) => {
                let html = pages::runs_rows(&runs).into_string();
                if html != self.runs_html {
                    self.pending
                        .push_back(SseEvent::default().event("runs").data(&html));
                    self.runs_html = html;
                }
            }
            Err(e) => tracing::warn!(error = %e, "desk: live log runs query failed"),
        }
    }
}

/// The handler: same session as the pages (a stream without one gets 403, not the login
/// form, so `EventSource` fails and the page falls back to polling, which redirects).
pub(super) async fn events(
    State(desk): State<Arc<Desk>>,
    headers: HeaderMap,
    RawQuery(q): RawQuery,
) -> Response {
    if !matches!(desk.access(&headers), Access::Allowed { .. }) {
        return message(
            StatusCode::FORBIDDEN,
            "Not logged in",
            "Log in with the admin token first.",
        );
    }
    let query = match LogQuery::parse(q.as_deref()) {
        Ok(q) => q,
        Err(e) => return message(StatusCode::BAD_REQUEST, "Bad filter", &e),
    };
    let after = match start_after(&headers, q.as_deref()) {
        Ok(a) => a,
        Err(e) => return message(StatusCode::BAD_REQUEST, "Bad cursor", &e),
    };
    let last = match after {
        Some(a) => a,
        None => match newest_event_id(desk.admin.store.as_ref()).await {
            Ok(id) => id,
            Err(e) => return super::unavailable(e),
        },
    };
    let follow = Follow {
        desk,
        headers,
        // New events are recent: `since` does not apply to what the stream adds.
        filter: EventFilter {
            run_id: query.run,
            source: query.source,
            outcome: query.outcome,
            since: None,
            after_id: None,
            limit: BATCH + 1,
        },
        last,
        runs_html: String::new(),
        pending: VecDeque::from([SseEvent::default().retry(RETRY).comment("live log")]),
        ends_at: Instant::now() + LIFETIME,
        first_tick: true,
        done: false,
    };
    let mut resp = Sse::new(stream_of(follow))
        .keep_alive(KeepAlive::new().interval(KEEP_ALIVE))
        .into_response();
    // A buffering proxy (nginx) would hold the events back.
    resp.headers_mut()
        .insert("x-accel-buffering", header::HeaderValue::from_static("no"));
    resp
}

fn stream_of(follow: Follow) -> impl Stream<Item = Result<SseEvent, Infallible>> {
    stream::unfold(follow, Follow::next)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn last_event_id_wins_over_after_and_bad_values_are_refused() {
        let mut h = HeaderMap::new();
        assert_eq!(start_after(&h, Some("source=a&after=40")), Ok(Some(40)));
        assert_eq!(start_after(&h, Some("source=a")), Ok(None));
        assert_eq!(start_after(&h, Some("after=")), Ok(None));
        assert!(start_after(&h, Some("after=x")).is_err());
        h.insert("last-event-id", header::HeaderValue::from_static("57"));
        assert_eq!(start_after(&h, Some("after=40")), Ok(Some(57)));
        h.insert("last-event-id", header::HeaderValue::from_static("nope"));
        assert!(start_after(&h, Some("after=40")).is_err());
    }
}
