//! The desk's templates (maud: compiled into the binary, every `(value)` HTML-escaped).

use maud::{html, Markup};

use super::{body_html, doc, preview, when, Group, LogQuery, SourceRow};
use crate::daemon::admin::SourceHealth;
use crate::model::{Event, Outcome, Run, Story};
use crate::store::desk_queries::{QueueStory, SourceDay};

/// Outcomes offered by the log filter, in the order operators look for them.
const OUTCOMES: &[Outcome] = &[
    Outcome::Stored,
    Outcome::Duplicate,
    Outcome::OffTopic,
    Outcome::Failed,
    Outcome::GivenUp,
    Outcome::Fetched,
    Outcome::NotModified,
];

/// The frame of every page; `csrf` is `None` on pages shown before login.
pub(super) fn layout(title: &str, csrf: Option<&str>, active: &str, main: Markup) -> Markup {
    let tab = |href: &str, name: &str, label: &str| {
        html! { a href=(href) class=[(active == name).then_some("active")] { (label) } }
    };
    doc(
        title,
        html! {
            header.top {
                strong { "newsdesk" }
                (tab("/desk/", "queue", "Queue"))
                (tab("/desk/log", "log", "Ingestion log"))
                (tab("/desk/sources", "sources", "Sources"))
                (tab("/desk/preview", "preview", "Preview"))
                @if let Some(csrf) = csrf {
                    form.inline method="post" action="/desk/logout" {
                        input type="hidden" name="csrf" value=(csrf);
                        button type="submit" { "Log out" }
                    }
                }
            }
            main { (main) }
        },
    )
}

pub(super) fn login(error: Option<&str>) -> Markup {
    layout(
        "Log in",
        None,
        "",
        html! {
            h1 { "Log in to the desk" }
            @if let Some(e) = error { p.error { (e) } }
            form.login method="post" action="/desk/login" {
                label for="token" { "Admin token (admin.token in the config)" }
                input #token type="password" name="token" autocomplete="current-password" required autofocus;
                button type="submit" { "Log in" }
            }
        },
    )
}

/// Publish and reject buttons for `ids`; `class` is `one` (a story) or `all` (a cluster).
fn actions(csrf: &str, ids: &[i64], class: &str, back: &str, label: &str) -> Markup {
    html! {
        form class=(class) method="post" action="/desk/status" {
            input type="hidden" name="csrf" value=(csrf);
            input type="hidden" name="back" value=(back);
            @for id in ids { input type="hidden" name="id" value=(id); }
            button.publish type="submit" name="action" value="publish" { "Publish" (label) }
            " "
            button.reject type="submit" name="action" value="reject" { "Reject" (label) }
        }
    }
}

fn score(s: &Story) -> String {
    s.topic_score
        .map_or_else(|| "no score".into(), |v| format!("score {v:.2}"))
}

fn story_meta(s: &Story) -> Markup {
    html! {
        p.meta {
            (s.source) " · fetched " (when(s.fetched_at))
            @if let Some(p) = s.published_at { " · published " (when(p)) }
            " · " (score(s))
            @if !s.authors.is_empty() { " · by " (s.authors.join(", ")) }
        }
    }
}

fn title(s: &Story) -> &str {
    s.title.as_deref().unwrap_or("(untitled)")
}

/// What the queue page shows.
pub(super) struct QueueView<'a> {
    pub csrf: &'a str,
    pub groups: &'a [Group],
    /// Stories waiting in all (not only on this page), counted up to `count_cap + 1`.
    pub total: i64,
    /// Past this the page says "more than".
    pub count_cap: i64,
    /// Where the forms come back to (this page).
    pub back: &'a str,
    /// Link to the next older page.
    pub older: Option<String>,
    /// Link back to the newest page.
    pub newest: Option<String>,
}

fn queue_score(s: &QueueStory) -> String {
    s.topic_score
        .map_or_else(|| "no score".into(), |v| format!("score {v:.2}"))
}

fn queue_title(s: &QueueStory) -> &str {
    s.title.as_deref().unwrap_or("(untitled)")
}

/// Why the story passed, as the topic filter said when it stored it.
fn passed(s: &QueueStory) -> Markup {
    html! {
        @if let Some(r) = &s.reason { p.meta.passed { "Passed: " (r) } }
    }
}

pub(super) fn queue(v: &QueueView<'_>) -> Markup {
    let (csrf, back, total) = (v.csrf, v.back, v.total);
    layout(
        "Queue",
        Some(csrf),
        "queue",
        html! {
            h1 {
                "Queue: "
                @if total > v.count_cap { "more than " (v.count_cap) } @else { (total) }
                " new stor" @if total == 1 { "y" } @else { "ies" }
            }
            p.hint { "Keys: j/k move · p publish · r reject · P/R the whole cluster · o open the original · Enter read" }
            @if v.groups.is_empty() { p { "Nothing waiting. New stories appear here after the next run." } }
            @for g in v.groups {
                @let ids: Vec<i64> = g.stories.iter().map(|s| s.id).collect();
                section.cluster data-cluster=[g.cluster_id] {
                    @if let Some((lead, also)) = g.stories.split_first() {
                        article data-story=(lead.id) data-url=(lead.url) {
                            h2 { a.open href={ "/desk/story/" (lead.id) } { (queue_title(lead)) } }
                            p.meta {
                                (lead.source) " · fetched " (when(lead.fetched_at))
                                @if let Some(p) = lead.published_at { " · published " (when(p)) }
                                " · " (queue_score(lead))
                                @if let Some(a) = &lead.author { " · by " (a) }
                            }
                            (passed(lead))
                            (actions(csrf, &[lead.id], "one", back, ""))
                        }
                        @if !also.is_empty() {
                            p.meta { "Also reported by" }
                            ul.also {
                                @for s in also {
                                    li data-story=(s.id) data-url=(s.url) {
                                        a.open href={ "/desk/story/" (s.id) } { (s.source) ": " (queue_title(s)) }
                                        " " span.meta { (when(s.fetched_at)) " · " (queue_score(s)) } " "
                                        (actions(csrf, &[s.id], "one", back, ""))
                                        (passed(s))
                                    }
                                }
                            }
                            div.cluster-actions {
                                (actions(csrf, &ids, "all", back, &format!(" all {}", ids.len())))
                            }
                        }
                    }
                }
            }
            div.pager {
                @if let Some(n) = &v.newest { a href=(n) { "← Newest" } }
                @if let Some(o) = &v.older { a rel="next" href=(o) { "Older →" } }
            }
        },
    )
}

pub(super) fn story(csrf: &str, s: &Story, siblings: &[Story], events: &[Event]) -> Markup {
    let stored = events.iter().find(|e| e.story_id == Some(s.id));
    let dropped: Vec<&Event> = events
        .iter()
        .filter(|e| e.duplicate_of == Some(s.id))
        .collect();
    let mut all: Vec<i64> = vec![s.id];
    all.extend(siblings.iter().map(|x| x.id));
    layout(
        title(s),
        Some(csrf),
        "",
        html! {
            p { a href="/desk/" { "← Queue" } }
            section data-cluster=[s.cluster_id] {
                article.full data-story=(s.id) data-url=(s.url) {
                    h1 { (title(s)) }
                    (story_meta(s))
                    p.meta {
                        "Status " strong { (s.status.as_str()) } " · original: "
                        a href=(s.url) rel="noopener noreferrer" target="_blank" { (s.url) }
                    }
                    @if s.fetched_url != s.url { p.meta { "Fetched from: " (s.fetched_url) } }
                    @if let Some(e) = stored {
                        p.meta.passed { "Passed: " (e.reason) " (run " a href={ "/desk/log?run=" (e.run_id) } { (e.run_id) } ", " (when(e.at)) ")" }
                    }
                    (actions(csrf, &[s.id], "one", "/desk/", ""))
                    @if let Some(summary) = &s.summary { p.summary { strong { "Summary: " } (summary) } }
                    div.body { (body_html(&s.html)) }
                }
                @if !dropped.is_empty() {
                    h2 { "Duplicates dropped for it" }
                    ul.dropped {
                        @for e in &dropped {
                            li {
                                (e.source) ": " (e.title.as_deref().or(e.url.as_deref()).unwrap_or("(no title)"))
                                " — " (e.reason) " (" (when(e.at)) ")"
                            }
                        }
                    }
                }
                @if !siblings.is_empty() {
                    h2 { "Same event" }
                    ul.also {
                        @for x in siblings {
                            li { a href={ "/desk/story/" (x.id) } { (x.source) ": " (title(x)) } " (" (x.status.as_str()) ")" }
                        }
                    }
                    (actions(csrf, &all, "all", "/desk/", &format!(" all {}", all.len())))
                }
            }
        },
    )
}

/// What the log page shows.
pub(super) struct LogView<'a> {
    pub csrf: &'a str,
    pub query: &'a LogQuery,
    pub sources: &'a [String],
    pub runs: &'a [Run],
    pub events: &'a [Event],
    /// Link to the next older page.
    pub older: Option<String>,
    /// Link back to the newest page.
    pub newer: Option<String>,
    /// The newest page's server-sent events (`/desk/log/events?...`), for desk.js.
    pub events_url: Option<String>,
}

/// The event's score after its reason, unless the reason already says it (a near-duplicate's
/// reason names its similarity).
fn score_suffix(e: &Event) -> String {
    match e.score.map(|s| format!("{s:.2}")) {
        Some(s) if !e.reason.contains(&s) => format!(" ({s})"),
        _ => String::new(),
    }
}

fn event_link(e: &Event) -> Markup {
    html! {
        @if let Some(id) = e.story_id { a href={ "/desk/story/" (id) } { "story " (id) } }
        @if let Some(id) = e.duplicate_of { a href={ "/desk/story/" (id) } { "duplicate of " (id) } }
    }
}

pub(super) fn log(v: &LogView<'_>) -> Markup {
    let q = v.query;
    layout(
        "Ingestion log",
        Some(v.csrf),
        "log",
        html! {
            h1 { "Ingestion log" }
            form.filters method="get" action="/desk/log" {
                label { "Source"
                    select name="source" {
                        option value="" { "all" }
                        @for s in v.sources {
                            option value=(s) selected[q.source.as_deref() == Some(s.as_str())] { (s) }
                        }
                    }
                }
                label { "Outcome"
                    select name="outcome" {
                        option value="" { "all" }
                        @for o in OUTCOMES {
                            option value=(o.as_str()) selected[q.outcome == Some(*o)] { (o.as_str()) }
                        }
                    }
                }
                label { "Run" input type="number" name="run" min="1" value=[q.run]; }
                label { "Since (e.g. 2h)" input type="text" name="since" size="6" value=[q.since.as_deref()]; }
                button type="submit" { "Filter" }
                a href="/desk/log" { "clear" }
            }
            // The newest page is live: desk.js follows `data-events` (server-sent events) and
            // falls back to re-reading the page every `data-live` ms.
            div #live data-live=[v.newer.is_none().then_some("3000")] data-events=[v.events_url.as_deref()] {
                h2 { "Runs" }
                table.runs {
                    thead { tr { th { "Run" } th { "Trigger" } th { "Started" } th { "Duration" } th { "Sources (failed)" } th { "Items" } th { "Stored" } th { "Duplicates" } th { "Off topic" } th { "Failed" } } }
                    tbody #runs { (runs_rows(v.runs)) }
                }
                h2 { "Events" }
                p #no-events hidden[!v.events.is_empty()] { "No events match." }
                table.events {
                    thead { tr { th { "Id" } th { "Time" } th { "Run" } th { "Source" } th { "Outcome" } th { "Item" } th { "Reason" } th { "Story" } } }
                    tbody #events {
                        @for e in v.events { (event_row(e)) }
                    }
                }
            }
            div.pager {
                @if let Some(n) = &v.newer { a href=(n) { "← Newest" } }
                @if let Some(o) = &v.older { a rel="next" href=(o) { "Older →" } }
            }
        },
    )
}

/// The rows of the runs table (also sent by the live stream when they change).
pub(super) fn runs_rows(runs: &[Run]) -> Markup {
    html! {
        @for r in runs {
            tr {
                td { a href={ "/desk/log?run=" (r.id) } { (r.id) } }
                td { (r.trigger.as_str()) }
                td { (when(r.started_at)) }
                td { @match r.finished_at {
                    Some(f) => { ((f - r.started_at).num_milliseconds().max(0) as f64 / 1000.0) " s" }
                    None => { "running" }
                } }
                td { (r.counts.sources) " (" (r.counts.sources_failed) ")" }
                td { (r.counts.items) }
                td { (r.counts.stored) }
                td { (r.counts.duplicates) }
                td { (r.counts.off_topic) }
                td { (r.counts.failed) }
            }
        }
    }
}

/// One row of the events table (also sent, one per event, by the live stream).
pub(super) fn event_row(e: &Event) -> Markup {
    html! {
        tr data-outcome=(e.outcome.as_str()) data-id=(e.id) {
            td { (e.id) }
            td { (when(e.at)) }
            td { a href={ "/desk/log?run=" (e.run_id) } { (e.run_id) } }
            td { (e.source) }
            td class={ "outcome-" (e.outcome.as_str()) } { (e.outcome.as_str()) }
            td {
                @if let Some(t) = &e.title { (t) br; }
                @if let Some(u) = &e.url { span.meta { (u) } }
            }
            td.reason { (e.reason) (score_suffix(e)) }
            td { (event_link(e)) }
        }
    }
}

fn fetch_button(csrf: &str, source: Option<&str>, label: &str) -> Markup {
    html! {
        form.inline.fetch method="post" action="/desk/fetch" {
            input type="hidden" name="csrf" value=(csrf);
            @if let Some(s) = source { input type="hidden" name="source" value=(s); }
            button type="submit" { (label) }
        }
    }
}

/// Width and height of a chart (SVG user units); each day gets one bar.
const CHART_W: i64 = 140;
const CHART_H: i64 = 28;

/// A day number (days since the epoch) as a date.
fn day_label(day: i64) -> String {
    chrono::DateTime::from_timestamp(day.saturating_mul(86_400), 0)
        .map_or_else(|| day.to_string(), |d| d.format("%Y-%m-%d").to_string())
}

/// A small bar chart of one count per day, drawn on the server (no script, allowed by the
/// CSP as part of the page). `value` picks the count, `class` colours the bars. The bars are
/// one path (a page of 200 sources stays small); the title lists the total and every day
/// with a count, for hovering and screen readers.
fn day_chart(days: &[SourceDay], what: &str, class: &str, value: fn(&SourceDay) -> i64) -> Markup {
    let max = days.iter().map(value).max().unwrap_or(0).max(1);
    let total: i64 = days.iter().map(value).sum();
    let n = i64::try_from(days.len()).unwrap_or(1).max(1);
    let slot = CHART_W / n;
    let base = CHART_H - 1;
    let mut bars = String::new();
    let mut listed: Vec<String> = Vec::new();
    for (i, d) in days.iter().enumerate() {
        let v = value(d);
        if v <= 0 {
            continue;
        }
        // At least 1 unit for a day with any count, so it never looks like zero.
        let h = (v.saturating_mul(CHART_H - 2) / max).max(1);
        let x = i64::try_from(i).unwrap_or(0).saturating_mul(slot) + 1;
        bars.push_str(&format!("M{x} {base}v-{h}h{}v{h}z", (slot - 2).max(1)));
        listed.push(format!("{} {v}", day_label(d.day)));
    }
    let label = format!("{what} per day over {n} days: {total} in all");
    let title = if listed.is_empty() {
        label.clone()
    } else {
        format!("{label} ({})", listed.join(", "))
    };
    html! {
        svg class={ "chart " (class) } role="img" aria-label=(label) width=(CHART_W) height=(CHART_H)
            viewBox={ "0 0 " (CHART_W) " " (CHART_H) } {
            title { (title) }
            line.base x1="0" y1=(base) x2=(CHART_W) y2=(base) {}
            @if !bars.is_empty() { path d=(bars) {} }
        }
    }
}

fn opt_when(t: Option<chrono::DateTime<chrono::Utc>>) -> String {
    t.map_or_else(|| "never".into(), when)
}

pub(super) fn sources(
    csrf: &str,
    health: &SourceHealth,
    rows: &[SourceRow],
    queued: Option<&str>,
) -> Markup {
    layout(
        "Sources",
        Some(csrf),
        "sources",
        html! {
            h1 { "Sources" }
            @if let Some(q) = queued {
                p.notice { "Fetch of " (q) " queued; its events appear in the " a href="/desk/log" { "ingestion log" } " as it runs." }
            }
            p {
                "Health: " strong class={ "health-" (health.status) } { (health.status) }
                @if let Some(r) = &health.reason { " — " (r) }
                " · last success " (opt_when(health.last_success_at)) " "
                (fetch_button(csrf, None, "Fetch all now"))
            }
            ol #progress hidden {}
            table.sources {
                thead { tr { th { "Source" } th { "Kind" } th { "Last success" } th { "Errors in a row" } th { "Last error" } th { "Next try" } th { "Why" } th { "Interval" } th { "Items / day (14 d)" } th { "Errors / day" } th {} } }
                tbody {
                    @for r in rows {
                        tr data-source=(r.state.name) class=[(!r.enabled).then_some("disabled")] {
                            td { a href={ "/desk/log?source=" (r.state.name) } { (r.state.name) } br; span.meta { (r.state.url) } }
                            td { (r.state.kind) }
                            td { (opt_when(r.state.last_success_at)) }
                            td class=[(r.state.consecutive_errors > 0).then_some("error")] { (r.state.consecutive_errors) }
                            td.reason { (r.state.last_error.as_deref().unwrap_or("")) }
                            td { (opt_when(r.next.at)) }
                            td.reason { (r.next.reason) }
                            td { (humantime::format_duration(std::time::Duration::from_secs(r.state.interval_secs.max(0).unsigned_abs()))) }
                            td { (day_chart(&r.days, "items", "items", |d| d.items)) }
                            td { (day_chart(&r.days, "errors", "errors", |d| d.errors)) }
                            td { @if r.enabled { (fetch_button(csrf, Some(&r.state.name), "Fetch now")) } }
                        }
                    }
                }
            }
        },
    )
}

/// The preview form, and what the last preview found.
pub(super) fn preview(
    csrf: &str,
    req: Option<&preview::Request>,
    result: Option<Result<preview::Outcome, String>>,
) -> Markup {
    let kind = req.map_or(preview::Kind::Feed, |r| r.kind);
    layout(
        "Preview",
        Some(csrf),
        "preview",
        html! {
            h1 { "Preview a source or an article" }
            p.hint { "Fetches now and shows what a run would do, writing nothing. The daemon's HTTP settings apply (private addresses only with http.allow_private_networks)." }
            form.preview method="post" action="/desk/preview" {
                input type="hidden" name="csrf" value=(csrf);
                label { "URL" input #preview-url type="url" name="url" size="70" required value=[req.map(|r| r.url.as_str())]; }
                fieldset {
                    legend { "What it is" }
                    @for (k, value, label) in preview::Kind::ALL {
                        label.choice { input type="radio" name="kind" value=(value) checked[*k == kind]; " " (label) }
                    }
                }
                label { "Link selector (pages)" input type="text" name="link_selector" size="30" value=[req.and_then(|r| r.link_selector.as_deref())]; }
                label { "Body selector (site rule to try)" input type="text" name="body_selector" size="30" value=[req.and_then(|r| r.body_selector.as_deref())]; }
                button type="submit" { "Preview" }
            }
            @match result {
                None => {}
                Some(Err(e)) => { p.error #preview-error { (e) } }
                Some(Ok(preview::Outcome::Items(items))) => {
                    h2 { (items.len()) " item(s)" }
                    @if items.is_empty() { p { "The source lists nothing (or answered Not Modified)." } }
                    @else {
                        table.events #preview-items {
                            thead { tr { th { "Would be" } th { "Score" } th { "Item" } th { "Reason" } } }
                            tbody {
                                @for d in &items {
                                    tr data-outcome=(d.outcome.as_str()) {
                                        td class={ "outcome-" (d.outcome.as_str()) } { (d.outcome.as_str()) }
                                        td { @if let Some(s) = d.score { (format!("{s:.2}")) } }
                                        td {
                                            @if let Some(t) = &d.title { (t) br; }
                                            span.meta { (d.url) }
                                        }
                                        td.reason { (d.reason) }
                                    }
                                }
                            }
                        }
                    }
                }
                Some(Ok(preview::Outcome::Article { final_url, article, verdict })) => {
                    article.full #preview-article {
                        h2 { (article.title.as_deref().unwrap_or("(no title found)")) }
                        p.meta {
                            "Fetched " (final_url)
                            @if !article.authors.is_empty() { " · by " (article.authors.join(", ")) }
                            @if let Some(p) = article.published_at { " · published " (when(p)) }
                            @if let Some(s) = &article.site_name { " · " (s) }
                            @if let Some(l) = &article.language { " · " (l) }
                        }
                        @if let Some(c) = &article.canonical_url { p.meta { "Canonical: " (c) } }
                        @if let Some(summary) = &article.summary { p.summary { strong { "Summary: " } (summary) } }
                        p class=(if verdict.on_topic { "meta passed" } else { "meta error" }) {
                            @if verdict.on_topic { "On topic: " } @else { "Off topic: " }
                            (verdict.reason)
                        }
                        p.meta { (article.text.chars().count()) " characters of text" }
                        div.body { (body_html(&article.html)) }
                    }
                }
            }
        },
    )
}
