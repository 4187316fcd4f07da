//! One contract, two databases: every test here runs against a SQLite file and against a real
//! PostgreSQL (a throwaway cluster, see `support/pg.rs`), through the `Store` trait only.

use std::collections::HashSet;
use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, TimeZone, Utc};
use newsdesk::config::{SourceConfig, SourceKind};
use newsdesk::model::{
    DuplicateKey, Event, EventScope, InsertOutcome, NewStory, Outcome, RunCounts, SeenItem,
    SourceUpdate, StoryStatus, Trigger,
};
use newsdesk::store::{self, EventFilter, Store, StoryFilter};
use testkit::pg;

/// A fresh database of one kind; keeps the SQLite folder alive.
struct Db {
    url: String,
    _dir: Option<tempfile::TempDir>,
}

impl Db {
    fn sqlite() -> Db {
        let dir = tempfile::tempdir().expect("tempdir");
        let url = format!("sqlite://{}", dir.path().join("contract.db").display());
        Db {
            url,
            _dir: Some(dir),
        }
    }

    async fn postgres(tag: &str) -> Option<Db> {
        Some(Db {
            url: pg::fresh_db(tag).await?,
            _dir: None,
        })
    }

    /// A new handle (its own pool), as a second daemon would have.
    async fn open(&self) -> Arc<dyn Store> {
        Arc::from(store::open(&self.url).await.expect("open store"))
    }
}

macro_rules! contract {
    ($($name:ident),* $(,)?) => {
        mod sqlite {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
                async fn $name() {
                    super::$name(super::Db::sqlite()).await;
                }
            )*
        }
        mod postgres {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
                async fn $name() {
                    let Some(db) = super::Db::postgres(stringify!($name)).await else {
                        return;
                    };
                    super::$name(db).await;
                }
            )*
        }
    };
}

contract!(
    migration_fills_publishing_fields_of_old_stories,
    sync_sources_creates_and_updates,
    leases_are_exclusive_and_expire,
    lease_respects_due_times_force_and_names,
    lease_batch_takes_oldest_first_up_to_limit,
    concurrent_batch_leases_are_disjoint,
    finish_source_keeps_validators_and_counts_errors,
    insert_story_once_under_concurrency,
    duplicates_by_canonical_url_and_fingerprint,
    known_items_by_guid_and_canonical_url,
    runs_and_events_queries,
    stories_filters_status_and_signatures,
    open_twice_migrates_once,
    guarded_inserts_store_one_of_concurrent_near_copies,
    set_cluster_ids_moves_stories_between_clusters,
    item_retries_are_kept_until_the_item_is_final,
    story_by_id_and_events_before_for_the_desk,
    read_only_open_reads_counts_and_refuses_writes,
    renewed_leases_hold_and_lost_ones_say_so,
    dead_runs_are_marked_abandoned,
);

async fn renewed_leases_hold_and_lost_ones_say_so(db: Db) {
    let a = with_sources(&db, 1).await;
    let b = db.open().await;
    let got = a
        .lease_sources(&[], true, "daemon-a", t0(), LEASE)
        .await
        .expect("lease");
    assert_eq!(got.len(), 1);
    // Renewed before it runs out: still held past the first expiry.
    assert!(a
        .renew_lease("s0000", "daemon-a", t0() + secs(1200))
        .await
        .expect("renew"));
    let at = t0() + secs(900);
    let stolen = b
        .lease_sources(&[], true, "daemon-b", at, LEASE)
        .await
        .expect("lease b");
    assert!(stolen.is_empty(), "taken despite renewal");
    // Past the renewed time it goes to daemon-b, and daemon-a learns it lost it.
    let at = t0() + secs(1200);
    let stolen = b
        .lease_sources(&[], true, "daemon-b", at, LEASE)
        .await
        .expect("lease b");
    assert_eq!(stolen.len(), 1);
    assert!(!a
        .renew_lease("s0000", "daemon-a", at + secs(600))
        .await
        .expect("renew"));
    let s = b.sources().await.expect("sources");
    assert_eq!(s[0].lease_owner.as_deref(), Some("daemon-b"));
}

async fn dead_runs_are_marked_abandoned(db: Db) {
    let store = with_sources(&db, 1).await;
    let dead = store.start_run(Trigger::Schedule, t0()).await.expect("run");
    let live = store.start_run(Trigger::Manual, t0()).await.expect("run");
    store
        .claim_run_and_mark_abandoned(live, "daemon-live", t0(), LEASE)
        .await
        .expect("claim");
    store
        .lease_sources(&[], true, "daemon-live", t0() + secs(700), LEASE)
        .await
        .expect("lease");
    let now = t0() + secs(700);
    let newest = store.start_run(Trigger::Manual, now).await.expect("run");
    let marked = store
        .claim_run_and_mark_abandoned(newest, "daemon-new", now, LEASE)
        .await
        .expect("mark");
    assert_eq!(marked, 1);
    let runs = store.runs(10, None).await.expect("runs");
    let run = |id: i64| runs.iter().find(|r| r.id == id).expect("listed").clone();
    assert_eq!(run(dead).abandoned_at, Some(now));
    assert_eq!(run(live).abandoned_at, None);
    assert_eq!(run(newest).abandoned_at, None);
    // A run marked by mistake that finishes after all is not abandoned.
    store
        .finish_run(dead, &RunCounts::default(), now + secs(1))
        .await
        .expect("finish");
    let runs = store.runs(10, Some(dead)).await.expect("runs");
    assert_eq!(runs[0].abandoned_at, None);
    assert!(runs[0].finished_at.is_some());
}

/// A fixed instant with whole milliseconds (what both stores keep).
fn t0() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 11, 23, 9, 30, 0)
        .single()
        .expect("valid time")
        + chrono::Duration::milliseconds(123)
}

fn secs(n: i64) -> chrono::Duration {
    chrono::Duration::seconds(n)
}

fn src(name: &str) -> SourceConfig {
    SourceConfig {
        name: name.into(),
        kind: SourceKind::Feed,
        url: format!("http://127.0.0.1:9/{name}.xml"),
        link_selector: None,
        body_selector: None,
        drop_selectors: Vec::new(),
        max_body_bytes: None,
        interval: None,
        max_items_per_run: None,
        enabled: true,
    }
}

fn names(v: &[newsdesk::model::SourceState]) -> Vec<String> {
    v.iter().map(|s| s.name.clone()).collect()
}

const LEASE: Duration = Duration::from_secs(600);
const DEFAULT_INTERVAL: Duration = Duration::from_secs(900);

async fn with_sources(db: &Db, n: usize) -> Arc<dyn Store> {
    let s = db.open().await;
    let sources: Vec<_> = (0..n).map(|i| src(&format!("s{i:04}"))).collect();
    s.sync_sources(&sources, DEFAULT_INTERVAL, t0())
        .await
        .expect("sync");
    s
}

fn ok_update(at: DateTime<Utc>, next: DateTime<Utc>) -> SourceUpdate {
    SourceUpdate {
        fetched_at: at,
        result: Ok(()),
        etag: None,
        last_modified: None,
        next_due_at: next,
        interval_secs: 900,
        new_story_at: None,
    }
}

async fn sync_sources_creates_and_updates(db: Db) {
    let s = db.open().await;
    let mut b = src("b-feed");
    b.interval = Some(Duration::from_secs(60));
    s.sync_sources(&[src("a-feed"), b, src("B-upper")], DEFAULT_INTERVAL, t0())
        .await
        .expect("sync");
    let all = s.sources().await.expect("sources");
    // Byte order of names, in both databases.
    assert_eq!(names(&all), vec!["B-upper", "a-feed", "b-feed"]);
    let a = &all[1];
    assert_eq!(a.kind, "feed");
    assert_eq!(a.next_due_at, t0());
    assert_eq!(a.interval_secs, 900);
    assert_eq!(all[2].interval_secs, 60);
    assert_eq!(a.consecutive_errors, 0);
    assert!(a.lease_owner.is_none() && a.etag.is_none() && a.last_fetch_at.is_none());

    // A fetch moves the due time; a re-sync with a new URL keeps that state.
    let leased = s
        .lease_sources(&["a-feed".into()], false, "o1", t0(), LEASE)
        .await
        .expect("lease");
    assert_eq!(names(&leased), vec!["a-feed"]);
    s.finish_source("a-feed", "o1", &ok_update(t0(), t0() + secs(900)))
        .await
        .expect("finish");
    let mut moved = src("a-feed");
    moved.url = "http://127.0.0.1:9/moved.xml".into();
    s.sync_sources(&[moved, src("c-new")], DEFAULT_INTERVAL, t0() + secs(5))
        .await
        .expect("resync");
    let all = s.sources().await.expect("sources");
    assert_eq!(
        all.len(),
        4,
        "removed sources stay (they are just not polled)"
    );
    let a = all.iter().find(|x| x.name == "a-feed").expect("a-feed");
    assert_eq!(a.url, "http://127.0.0.1:9/moved.xml");
    assert_eq!(a.next_due_at, t0() + secs(900));
    assert_eq!(a.last_fetch_at, Some(t0()));
    let c = all.iter().find(|x| x.name == "c-new").expect("c-new");
    assert_eq!(c.next_due_at, t0() + secs(5));
}

async fn leases_are_exclusive_and_expire(db: Db) {
    let a = with_sources(&db, 3).await;
    let b = db.open().await;
    let got_a = a
        .lease_sources(&[], false, "daemon-a", t0(), LEASE)
        .await
        .expect("lease a");
    assert_eq!(got_a.len(), 3);
    assert!(got_a
        .iter()
        .all(|s| s.lease_owner.as_deref() == Some("daemon-a")
            && s.lease_until == Some(t0() + secs(600))));
    // Held: another daemon gets nothing, forced or not, until the lease runs out.
    for (force, at) in [(false, t0()), (true, t0() + secs(599))] {
        let got_b = b
            .lease_sources(&[], force, "daemon-b", at, LEASE)
            .await
            .expect("lease b");
        assert!(got_b.is_empty(), "leased twice: {:?}", names(&got_b));
        let batch = b
            .lease_batch(&[], force, "daemon-b", at, LEASE, 10)
            .await
            .expect("batch b");
        assert!(batch.is_empty());
    }
    // daemon-a finishes one; the other two expire (daemon-a died) and daemon-b takes them.
    a.finish_source("s0000", "daemon-a", &ok_update(t0(), t0() + secs(900)))
        .await
        .expect("finish");
    let later = t0() + secs(600);
    let got_b = b
        .lease_sources(&[], false, "daemon-b", later, LEASE)
        .await
        .expect("lease b after expiry");
    assert_eq!(names(&got_b), vec!["s0001", "s0002"]);
    // The dead owner's late write is ignored: the source is daemon-b's now.
    a.finish_source("s0001", "daemon-a", &ok_update(later, later + secs(5)))
        .await
        .expect("stale finish");
    let s1 = b
        .sources()
        .await
        .expect("sources")
        .into_iter()
        .find(|s| s.name == "s0001")
        .expect("s0001");
    assert_eq!(s1.lease_owner.as_deref(), Some("daemon-b"));
    assert_eq!(s1.last_fetch_at, None);
    b.finish_source("s0001", "daemon-b", &ok_update(later, later + secs(900)))
        .await
        .expect("finish b");
    let s1 = b
        .sources()
        .await
        .expect("sources")
        .into_iter()
        .find(|s| s.name == "s0001")
        .expect("s0001");
    assert_eq!(s1.lease_owner, None);
    assert_eq!(s1.lease_until, None);
    assert_eq!(s1.last_fetch_at, Some(later));
}

async fn lease_respects_due_times_force_and_names(db: Db) {
    let s = with_sources(&db, 3).await;
    // s0000 fetched and due again in 15 minutes.
    s.lease_sources(&["s0000".into()], false, "o", t0(), LEASE)
        .await
        .expect("lease");
    s.finish_source("s0000", "o", &ok_update(t0(), t0() + secs(900)))
        .await
        .expect("finish");
    let due = s
        .lease_sources(&[], false, "o", t0() + secs(1), LEASE)
        .await
        .expect("due");
    assert_eq!(names(&due), vec!["s0001", "s0002"]);
    for n in ["s0001", "s0002"] {
        s.finish_source(n, "o", &ok_update(t0(), t0() + secs(900)))
            .await
            .expect("finish");
    }
    let none = s
        .lease_batch(&[], false, "o", t0() + secs(899), LEASE, 10)
        .await
        .expect("none due");
    assert!(none.is_empty());
    let forced = s
        .lease_sources(&["s0002".into()], true, "o", t0() + secs(890), LEASE)
        .await
        .expect("forced");
    assert_eq!(names(&forced), vec!["s0002"]);
    let due_again = s
        .lease_sources(&[], false, "o2", t0() + secs(900), LEASE)
        .await
        .expect("due again");
    assert_eq!(
        names(&due_again),
        vec!["s0000", "s0001"],
        "s0002 is still held by the forced run"
    );
    let unknown = s
        .lease_sources(&["nope".into()], true, "o", t0(), LEASE)
        .await
        .expect("unknown name");
    assert!(unknown.is_empty());
}

async fn lease_batch_takes_oldest_first_up_to_limit(db: Db) {
    let s = with_sources(&db, 5).await;
    // Due times: s0004 oldest … s0000 newest.
    let all: Vec<String> = (0..5).map(|i| format!("s{i:04}")).collect();
    s.lease_sources(&all, true, "setup", t0(), LEASE)
        .await
        .expect("lease all");
    for i in 0..5i64 {
        let n = format!("s{i:04}");
        s.finish_source(&n, "setup", &ok_update(t0(), t0() + secs(100 - i)))
            .await
            .expect("finish");
    }
    let now = t0() + secs(200);
    let b1 = s
        .lease_batch(&[], false, "o", now, LEASE, 2)
        .await
        .expect("b1");
    assert_eq!(names(&b1), vec!["s0003", "s0004"]);
    let b2 = s
        .lease_batch(&all[..4], false, "o", now, LEASE, 2)
        .await
        .expect("b2");
    assert_eq!(names(&b2), vec!["s0001", "s0002"]);
    let b3 = s
        .lease_batch(&all[1..4], false, "o", now, LEASE, 2)
        .await
        .expect("b3");
    assert!(b3.is_empty(), "s0000 is not among the names asked for");
    let b4 = s
        .lease_batch(&[], false, "o", now, LEASE, 0)
        .await
        .expect("b4");
    assert!(b4.is_empty(), "a limit of 0 leases nothing");
    let b5 = s
        .lease_batch(&[], false, "o", now, LEASE, 100)
        .await
        .expect("b5");
    assert_eq!(names(&b5), vec!["s0000"]);
}

async fn concurrent_batch_leases_are_disjoint(db: Db) {
    const N: usize = 300;
    with_sources(&db, N).await;
    let mut handles = Vec::new();
    for d in 0..3 {
        // Three "daemons", each with its own pool, four workers each.
        let store = db.open().await;
        for w in 0..4 {
            let store = store.clone();
            handles.push(tokio::spawn(async move {
                let owner = format!("d{d}-w{w}");
                let mut mine = Vec::new();
                loop {
                    let got = store
                        .lease_batch(&[], false, &owner, t0() + secs(1), LEASE, 7)
                        .await
                        .expect("lease batch");
                    if got.is_empty() {
                        break;
                    }
                    assert!(got.len() <= 7);
                    for s in &got {
                        assert_eq!(s.lease_owner.as_deref(), Some(owner.as_str()));
                    }
                    mine.extend(names(&got));
                    tokio::task::yield_now().await;
                }
                mine
            }));
        }
    }
    let mut seen = HashSet::new();
    let mut total = 0;
    let mut workers_with_work = 0;
    for h in handles {
        let mine = h.await.expect("worker");
        workers_with_work += usize::from(!mine.is_empty());
        total += mine.len();
        for n in mine {
            assert!(seen.insert(n.clone()), "{n} leased by two workers");
        }
    }
    assert_eq!(total, N, "every source leased exactly once");
    assert_eq!(seen.len(), N);
    assert!(
        workers_with_work >= 2,
        "the work was shared ({workers_with_work} workers got some)"
    );
}

async fn finish_source_keeps_validators_and_counts_errors(db: Db) {
    let s = with_sources(&db, 1).await;
    let n = "s0000";
    let cycle = |at: DateTime<Utc>, u: SourceUpdate| {
        let s = s.clone();
        async move {
            let l = s
                .lease_sources(&[n.into()], true, "o", at, LEASE)
                .await
                .expect("lease");
            assert_eq!(l.len(), 1);
            s.finish_source(n, "o", &u).await.expect("finish");
            s.sources().await.expect("sources").remove(0)
        }
    };
    let mut u = ok_update(t0(), t0() + secs(900));
    u.etag = Some("\"v1\"".into());
    u.last_modified = Some("Mon, 23 Nov 2026 09:30:00 GMT".into());
    u.new_story_at = Some(t0());
    let st = cycle(t0(), u).await;
    assert_eq!(st.etag.as_deref(), Some("\"v1\""));
    assert_eq!(st.last_success_at, Some(t0()));
    assert_eq!(st.last_new_story_at, Some(t0()));
    assert_eq!(st.next_due_at, t0() + secs(900));

    // Two failures: counted, error kept, validators and last success untouched.
    for k in 1..=2i64 {
        let at = t0() + secs(k * 1000);
        let st = cycle(
            at,
            SourceUpdate {
                fetched_at: at,
                result: Err(format!("HTTP 500 #{k}")),
                etag: None,
                last_modified: None,
                next_due_at: at + secs(60),
                interval_secs: 900,
                new_story_at: None,
            },
        )
        .await;
        assert_eq!(st.consecutive_errors, k);
        assert_eq!(
            st.last_error.as_deref(),
            Some(format!("HTTP 500 #{k}").as_str())
        );
        assert_eq!(st.etag.as_deref(), Some("\"v1\""));
        assert_eq!(st.last_success_at, Some(t0()));
        assert_eq!(st.last_fetch_at, Some(at));
    }
    // A success resets the count and the error; new validators replace the old.
    let at = t0() + secs(5000);
    let mut u = ok_update(at, at + secs(1800));
    u.etag = Some("\"v2\"".into());
    u.interval_secs = 1800;
    let st = cycle(at, u).await;
    assert_eq!(st.consecutive_errors, 0);
    assert_eq!(st.last_error, None);
    assert_eq!(st.etag.as_deref(), Some("\"v2\""));
    assert_eq!(
        st.last_modified.as_deref(),
        Some("Mon, 23 Nov 2026 09:30:00 GMT")
    );
    assert_eq!(st.interval_secs, 1800);
    assert_eq!(st.last_new_story_at, Some(t0()), "kept when not given");
}

fn story(n: usize, canonical: &str, fingerprint: &str) -> NewStory {
    NewStory {
        source: "s0000".into(),
        url: format!("{}/published", canonical.replace("https://", "http://www.")),
        fetched_url: format!("{canonical}?utm_source=x{n}"),
        dedup_key: canonical.into(),
        guid: Some(format!("guid-{n}")),
        title: Some(format!("Title {n}")),
        authors: vec!["Dana".into(), "Lee Chen".into()],
        site_name: Some("Example News".into()),
        summary: Some(format!("What story {n} is about.")),
        language: Some("en-GB".into()),
        published_at: Some(t0() - secs(3600)),
        updated_at: Some(t0() - secs(1800)),
        fetched_at: t0(),
        text: format!("Body text {n}"),
        html: format!("<p>Body text {n}</p>"),
        fingerprint: fingerprint.into(),
        near_dup: Some(vec![n as u8, 1, 2, 3]),
        cluster_id: None,
        topic_score: Some(4.5),
    }
}

fn seen_of(s: &NewStory) -> SeenItem {
    SeenItem {
        source: s.source.clone(),
        guid: s.guid.clone(),
        canonical_url: s.dedup_key.clone(),
    }
}

fn item_event(run_id: i64, outcome: Outcome, at: DateTime<Utc>, url: &str) -> Event {
    Event {
        id: 0,
        run_id,
        at,
        source: "s0000".into(),
        scope: EventScope::Item,
        outcome,
        url: Some(url.into()),
        title: None,
        story_id: None,
        duplicate_of: None,
        score: Some(4.5),
        reason: "on topic".into(),
    }
}

fn racer_url(n: usize) -> String {
    if n == 0 || n % 4 < 2 {
        "https://example.com/one".into()
    } else {
        format!("https://example.com/copy-{n}")
    }
}

fn racer_fp(n: usize) -> String {
    if n == 0 || n % 4 >= 2 {
        "fp-shared".into()
    } else {
        format!("fp-{n}-other")
    }
}

async fn insert_story_once_under_concurrency(db: Db) {
    let a = with_sources(&db, 1).await;
    let b = db.open().await;
    let run = a.start_run(Trigger::Schedule, t0()).await.expect("run");
    let mut handles = Vec::new();
    for n in 0..16usize {
        let store = if n % 2 == 0 { a.clone() } else { b.clone() };
        handles.push(tokio::spawn(async move {
            // Story 0 has both keys; half the others race it on the canonical URL, half on
            // the fingerprint.
            let s = story(n, &racer_url(n), &racer_fp(n));
            let ev = item_event(run, Outcome::Stored, t0(), &s.url);
            store
                .insert_story(&s, &seen_of(&s), &ev)
                .await
                .expect("insert_story must not fail on a race")
        }));
    }
    let mut outcomes = Vec::new();
    for h in handles {
        outcomes.push(h.await.expect("task"));
    }
    let stories = a
        .stories(&StoryFilter {
            limit: 100,
            ..Default::default()
        })
        .await
        .expect("stories");
    // Story 0 holds both keys, so whichever insert wins (0, or one URL racer and one
    // fingerprint racer), the keys are never stored twice.
    let urls: HashSet<_> = stories.iter().map(|s| s.dedup_key.clone()).collect();
    let fps: HashSet<_> = stories
        .iter()
        .map(|s| {
            let n: usize = s
                .guid
                .as_deref()
                .and_then(|g| g.strip_prefix("guid-"))
                .and_then(|n| n.parse().ok())
                .expect("guid of a racer");
            racer_fp(n)
        })
        .collect();
    assert_eq!(urls.len(), stories.len(), "a canonical URL stored twice");
    assert_eq!(fps.len(), stories.len(), "a fingerprint stored twice");
    let stored: Vec<i64> = outcomes
        .iter()
        .filter_map(|o| match o {
            InsertOutcome::Stored(id) => Some(*id),
            _ => None,
        })
        .collect();
    assert_eq!(stored.len(), stories.len());
    assert!(!stored.is_empty() && stored.len() <= 2, "{outcomes:?}");
    for o in &outcomes {
        if let InsertOutcome::Duplicate { of, key } = o {
            assert!(stored.contains(of), "duplicate of a stored story: {o:?}");
            assert!(matches!(
                key,
                DuplicateKey::CanonicalUrl | DuplicateKey::Fingerprint
            ));
        }
    }
    let events = a
        .events(&EventFilter {
            run_id: Some(run),
            limit: 100,
            ..Default::default()
        })
        .await
        .expect("events");
    assert_eq!(events.len(), 16, "one event per insert");
    let stored_events = events
        .iter()
        .filter(|e| e.outcome == Outcome::Stored)
        .count();
    assert_eq!(stored_events, stored.len());
    assert!(events
        .iter()
        .filter(|e| e.outcome == Outcome::Duplicate)
        .all(|e| e.duplicate_of.is_some_and(|d| stored.contains(&d))));
    assert!(events
        .iter()
        .filter(|e| e.outcome == Outcome::Stored)
        .all(|e| e.story_id.is_some_and(|d| stored.contains(&d))));
}

async fn guarded_inserts_store_one_of_concurrent_near_copies(db: Db) {
    // Eight near-copies (distinct URLs and fingerprints, one signature) from two handles at
    // once: the check inside each insert's transaction must see the ones committed before it.
    let a = with_sources(&db, 1).await;
    let b = db.open().await;
    let run = a.start_run(Trigger::Schedule, t0()).await.expect("run");
    let mut handles = Vec::new();
    for n in 0..8usize {
        let store = if n % 2 == 0 { a.clone() } else { b.clone() };
        handles.push(tokio::spawn(async move {
            let mut s = story(
                n,
                &format!("https://example.com/near-{n}"),
                &format!("fp-near-{n}"),
            );
            s.near_dup = Some(vec![9, 9, 9, 9]);
            let ev = item_event(run, Outcome::Stored, t0(), &s.url);
            let check = |stored: &[(i64, Vec<u8>)]| {
                stored
                    .iter()
                    .find(|(_, sig)| sig == &vec![9u8, 9, 9, 9])
                    .map(|(id, _)| (*id, 1.0))
            };
            store
                .insert_story_guarded(&s, &seen_of(&s), &ev, 0, &check)
                .await
                .expect("guarded insert")
        }));
    }
    let mut outcomes = Vec::new();
    for h in handles {
        outcomes.push(h.await.expect("task"));
    }
    let stored: Vec<i64> = outcomes
        .iter()
        .filter_map(|o| match o {
            InsertOutcome::Stored(id) => Some(*id),
            _ => None,
        })
        .collect();
    assert_eq!(stored.len(), 1, "{outcomes:?}");
    for o in &outcomes {
        if let InsertOutcome::Duplicate { of, key } = o {
            assert_eq!((*of, *key), (stored[0], DuplicateKey::NearDup));
        }
    }
    // The story that starts a cluster is its own cluster; recent_stories reads it back.
    let recent = a
        .recent_stories(0, t0() - secs(60))
        .await
        .expect("recent stories");
    assert_eq!(recent.len(), 1);
    assert_eq!(recent[0].id, stored[0]);
    assert_eq!(recent[0].cluster_id, Some(stored[0]));
    assert!(a
        .recent_stories(stored[0], t0() - secs(60))
        .await
        .expect("after")
        .is_empty());
    let events = a
        .events(&EventFilter {
            run_id: Some(run),
            limit: 100,
            ..Default::default()
        })
        .await
        .expect("events");
    assert_eq!(events.len(), 8, "one event per insert");
    assert_eq!(
        events
            .iter()
            .filter(|e| e.outcome == Outcome::Duplicate && e.duplicate_of == Some(stored[0]))
            .count(),
        7
    );
}

async fn duplicates_by_canonical_url_and_fingerprint(db: Db) {
    let s = with_sources(&db, 1).await;
    let run = s.start_run(Trigger::Manual, t0()).await.expect("run");
    let first = story(1, "https://example.com/a", "fp-a");
    let ev = item_event(run, Outcome::Stored, t0(), &first.url);
    let id = match s.insert_story(&first, &seen_of(&first), &ev).await {
        Ok(InsertOutcome::Stored(id)) => id,
        other => panic!("first insert: {other:?}"),
    };
    assert_eq!(
        s.story_by_canonical_url("https://example.com/a")
            .await
            .expect("by url"),
        Some(id)
    );
    assert_eq!(
        s.story_by_fingerprint("fp-a").await.expect("by fp"),
        Some(id)
    );
    assert_eq!(s.story_by_fingerprint("fp-x").await.expect("by fp"), None);

    let same_url = story(2, "https://example.com/a", "fp-b");
    let out = s
        .insert_story(&same_url, &seen_of(&same_url), &ev)
        .await
        .expect("dup url");
    assert_eq!(
        out,
        InsertOutcome::Duplicate {
            of: id,
            key: DuplicateKey::CanonicalUrl
        }
    );
    let same_text = story(3, "https://other.example/b", "fp-a");
    let out = s
        .insert_story(&same_text, &seen_of(&same_text), &ev)
        .await
        .expect("dup fp");
    assert_eq!(
        out,
        InsertOutcome::Duplicate {
            of: id,
            key: DuplicateKey::Fingerprint
        }
    );
    // The duplicate's item is remembered (never fetched again) and its event says of what.
    assert!(s
        .is_known("s0000", Some("guid-3"), "https://nowhere.example/")
        .await
        .expect("known"));
    let dups = s
        .events(&EventFilter {
            outcome: Some(Outcome::Duplicate),
            limit: 10,
            ..Default::default()
        })
        .await
        .expect("events");
    assert_eq!(dups.len(), 2);
    assert!(dups.iter().all(|e| e.duplicate_of == Some(id)));
    assert_eq!(
        s.stories(&StoryFilter {
            limit: 10,
            ..Default::default()
        })
        .await
        .expect("stories")
        .len(),
        1
    );
}

async fn known_items_by_guid_and_canonical_url(db: Db) {
    let s = with_sources(&db, 2).await;
    let run = s.start_run(Trigger::Manual, t0()).await.expect("run");
    let url = "https://example.com/off";
    assert!(!s.is_known("s0000", Some("g1"), url).await.expect("known"));
    // A failed item (retry) is not remembered; an off-topic one is.
    let failed = item_event(run, Outcome::Failed, t0(), url);
    s.record_item(None, &failed).await.expect("failed");
    assert!(!s.is_known("s0000", Some("g1"), url).await.expect("known"));
    let seen = SeenItem {
        source: "s0000".into(),
        guid: Some("g1".into()),
        canonical_url: url.into(),
    };
    let off = item_event(run, Outcome::OffTopic, t0(), url);
    s.record_item(Some(&seen), &off).await.expect("off topic");
    s.record_item(Some(&seen), &off)
        .await
        .expect("same item twice is not an error");
    assert!(s
        .is_known("s0000", Some("g1"), "https://x.example/")
        .await
        .expect("by guid"));
    assert!(
        !s.is_known("s0001", Some("g1"), "https://x.example/")
            .await
            .expect("guid is per source"),
        "a GUID is only known within its source"
    );
    assert!(s.is_known("s0001", None, url).await.expect("by url"));
    // A stored story's canonical URL is known everywhere.
    let st = story(7, "https://example.com/stored", "fp-7");
    s.insert_story(
        &st,
        &seen_of(&st),
        &item_event(run, Outcome::Stored, t0(), &st.url),
    )
    .await
    .expect("insert");
    assert!(s
        .is_known("s0001", None, "https://example.com/stored")
        .await
        .expect("story url"));
}

async fn runs_and_events_queries(db: Db) {
    let s = with_sources(&db, 2).await;
    let r1 = s.start_run(Trigger::Schedule, t0()).await.expect("r1");
    let r2 = s
        .start_run(Trigger::Manual, t0() + secs(60))
        .await
        .expect("r2");
    assert!(r2 > r1);
    let counts = RunCounts {
        sources: 2,
        sources_failed: 1,
        items: 7,
        known: 1,
        stored: 2,
        duplicates: 1,
        off_topic: 2,
        failed: 1,
    };
    s.finish_run(r1, &counts, t0() + secs(30))
        .await
        .expect("finish");
    let runs = s.runs(10, None).await.expect("runs");
    assert_eq!(runs.iter().map(|r| r.id).collect::<Vec<_>>(), vec![r2, r1]);
    assert_eq!(runs[1].trigger, Trigger::Schedule);
    assert_eq!(runs[1].started_at, t0());
    assert_eq!(runs[1].finished_at, Some(t0() + secs(30)));
    assert_eq!(runs[1].counts, counts);
    assert_eq!(runs[0].trigger, Trigger::Manual);
    assert_eq!(runs[0].finished_at, None, "still running");
    assert_eq!(s.runs(1, None).await.expect("limit").len(), 1);
    let one = s.runs(10, Some(r1)).await.expect("by id");
    assert_eq!(one.len(), 1);
    assert_eq!(one[0].id, r1);

    let mut ids = Vec::new();
    for (i, (run, src, outcome)) in [
        (r1, "s0000", Outcome::Fetched),
        (r1, "s0000", Outcome::OffTopic),
        (r1, "s0001", Outcome::Failed),
        (r2, "s0001", Outcome::NotModified),
    ]
    .into_iter()
    .enumerate()
    {
        let mut e = item_event(
            run,
            outcome,
            t0() + secs(i as i64 * 10),
            "https://e.example/",
        );
        e.source = src.into();
        e.scope = if matches!(outcome, Outcome::Fetched | Outcome::NotModified) {
            EventScope::Source
        } else {
            EventScope::Item
        };
        e.reason = format!("reason {i}");
        e.score = (i == 1).then_some(0.25);
        s.record_event(&e).await.expect("event");
        ids.push(e);
    }
    let all = s
        .events(&EventFilter {
            limit: 100,
            ..Default::default()
        })
        .await
        .expect("all");
    assert_eq!(all.len(), 4);
    assert!(all.windows(2).all(|w| w[0].id > w[1].id), "newest first");
    let oldest = &all[3];
    assert_eq!(oldest.run_id, r1);
    assert_eq!(oldest.scope, EventScope::Source);
    assert_eq!(oldest.outcome, Outcome::Fetched);
    assert_eq!(oldest.at, t0());
    assert_eq!(oldest.reason, "reason 0");
    assert_eq!(all[2].score, Some(0.25));
    let filter = |f: EventFilter| {
        let s = s.clone();
        async move {
            s.events(&f)
                .await
                .expect("filtered")
                .into_iter()
                .map(|e| e.reason)
                .collect::<Vec<_>>()
        }
    };
    let by_run = filter(EventFilter {
        run_id: Some(r1),
        limit: 100,
        ..Default::default()
    })
    .await;
    assert_eq!(by_run, vec!["reason 2", "reason 1", "reason 0"]);
    let by_source = filter(EventFilter {
        source: Some("s0001".into()),
        limit: 100,
        ..Default::default()
    })
    .await;
    assert_eq!(by_source, vec!["reason 3", "reason 2"]);
    let by_outcome = filter(EventFilter {
        outcome: Some(Outcome::OffTopic),
        limit: 100,
        ..Default::default()
    })
    .await;
    assert_eq!(by_outcome, vec!["reason 1"]);
    let since = filter(EventFilter {
        since: Some(t0() + secs(20)),
        limit: 100,
        ..Default::default()
    })
    .await;
    assert_eq!(since, vec!["reason 3", "reason 2"]);
    let after = filter(EventFilter {
        after_id: Some(all[2].id),
        limit: 100,
        ..Default::default()
    })
    .await;
    assert_eq!(after, vec!["reason 3", "reason 2"]);
    let limited = filter(EventFilter {
        limit: 1,
        ..Default::default()
    })
    .await;
    assert_eq!(limited, vec!["reason 3"]);

    let pruned = s.prune_events(t0() + secs(15)).await.expect("prune");
    assert_eq!(pruned, 2);
    let left = filter(EventFilter {
        limit: 100,
        ..Default::default()
    })
    .await;
    assert_eq!(left, vec!["reason 3", "reason 2"]);
    s.ping().await.expect("ping");
}

async fn stories_filters_status_and_signatures(db: Db) {
    let s = with_sources(&db, 2).await;
    let run = s.start_run(Trigger::Manual, t0()).await.expect("run");
    let mut ids = Vec::new();
    for n in 0..4usize {
        let mut st = story(n, &format!("https://example.com/{n}"), &format!("fp-{n}"));
        if n == 3 {
            st.source = "s0001".into();
            st.near_dup = None;
            st.authors = Vec::new();
            st.site_name = None;
            st.summary = None;
            st.language = None;
            st.published_at = None;
            st.updated_at = None;
        }
        let ev = item_event(run, Outcome::Stored, t0(), &st.url);
        match s
            .insert_story(&st, &seen_of(&st), &ev)
            .await
            .expect("insert")
        {
            InsertOutcome::Stored(id) => ids.push(id),
            other => panic!("{other:?}"),
        }
    }
    let all = s
        .stories(&StoryFilter {
            limit: 100,
            ..Default::default()
        })
        .await
        .expect("stories");
    assert_eq!(
        all.iter().map(|x| x.id).collect::<Vec<_>>(),
        ids.iter().rev().copied().collect::<Vec<_>>(),
        "newest first"
    );
    let first = all.last().expect("first story");
    assert_eq!(first.dedup_key, "https://example.com/0");
    assert_eq!(first.url, "http://www.example.com/0/published");
    assert_eq!(first.fetched_url, "https://example.com/0?utm_source=x0");
    assert_eq!(first.guid.as_deref(), Some("guid-0"));
    assert_eq!(first.title.as_deref(), Some("Title 0"));
    assert_eq!(first.authors, ["Dana", "Lee Chen"]);
    assert_eq!(first.site_name.as_deref(), Some("Example News"));
    assert_eq!(first.summary.as_deref(), Some("What story 0 is about."));
    assert_eq!(first.language.as_deref(), Some("en-GB"));
    assert_eq!(first.published_at, Some(t0() - secs(3600)));
    assert_eq!(first.updated_at, Some(t0() - secs(1800)));
    assert_eq!(first.fetched_at, t0());
    assert_eq!(first.status, StoryStatus::New);
    assert_eq!(first.topic_score, Some(4.5));
    assert_eq!(first.text, "Body text 0");
    assert_eq!(first.html, "<p>Body text 0</p>");
    assert!(all[0].authors.is_empty());
    assert_eq!(all[0].site_name, None);
    assert_eq!(all[0].summary, None);
    assert_eq!(all[0].language, None);
    assert_eq!(all[0].published_at, None);
    assert_eq!(all[0].updated_at, None);

    let changed = s
        .set_story_status(&[ids[0], ids[2]], StoryStatus::Published)
        .await
        .expect("status");
    assert_eq!(changed, 2);
    assert_eq!(
        s.set_story_status(&[], StoryStatus::Rejected)
            .await
            .expect("none"),
        0
    );
    let published = s
        .stories(&StoryFilter {
            status: Some(StoryStatus::Published),
            limit: 100,
            ..Default::default()
        })
        .await
        .expect("published");
    assert_eq!(
        published.iter().map(|x| x.id).collect::<Vec<_>>(),
        vec![ids[2], ids[0]]
    );
    let by_source = s
        .stories(&StoryFilter {
            source: Some("s0001".into()),
            limit: 100,
            ..Default::default()
        })
        .await
        .expect("by source");
    assert_eq!(by_source.len(), 1);
    assert_eq!(by_source[0].id, ids[3]);
    let limited = s
        .stories(&StoryFilter {
            limit: 2,
            ..Default::default()
        })
        .await
        .expect("limit");
    assert_eq!(limited.len(), 2);

    let sigs = s.near_dup_signatures(0).await.expect("sigs");
    assert_eq!(
        sigs,
        vec![
            (ids[0], vec![0, 1, 2, 3]),
            (ids[1], vec![1, 1, 2, 3]),
            (ids[2], vec![2, 1, 2, 3]),
        ],
        "ascending, without the story that has none"
    );
    let later = s.near_dup_signatures(ids[1]).await.expect("after");
    assert_eq!(later, vec![(ids[2], vec![2, 1, 2, 3])]);

    // A selection longer than SQLite binds in one statement (32,766), naming stories more
    // than once (far apart, and more times than one statement's share) and ids that do not
    // exist: all are set, each story counted once.
    let mut many = vec![ids[3]];
    many.extend(1_000_000..1_040_000);
    many.extend(std::iter::repeat_n(ids[1], 1_500));
    many.push(ids[3]);
    let changed = s
        .set_story_status(&many, StoryStatus::Rejected)
        .await
        .expect("many");
    assert_eq!(changed, 2);
    let rejected = s
        .stories(&StoryFilter {
            status: Some(StoryStatus::Rejected),
            limit: 100,
            ..Default::default()
        })
        .await
        .expect("rejected");
    assert_eq!(
        rejected.iter().map(|x| x.id).collect::<Vec<_>>(),
        vec![ids[3], ids[1]]
    );
}

/// Brings a database to the schema of migration 0001 only (today's schema before the
/// publishing fields), through sqlx's migrator so its bookkeeping is what a deployed database has.
async fn old_schema<DB>(pool: &sqlx::Pool<DB>, folder: &str)
where
    DB: sqlx::Database,
    <DB as sqlx::Database>::Connection: sqlx::migrate::Migrate,
{
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join(folder);
    let mut m = sqlx::migrate::Migrator::new(dir).await.expect("migrations");
    m.migrations = m
        .migrations
        .iter()
        .filter(|x| x.version == 1)
        .cloned()
        .collect::<Vec<_>>()
        .into();
    m.run(pool).await.expect("migration 0001");
}

/// Stories stored by the previous schema get `published_url` (their fetched URL without
/// tracking parameters: their page's declared canonical address was never stored) and
/// `authors` (the old byline as one entry); the dedup key and the fetched URL stay as they were.
async fn migration_fills_publishing_fields_of_old_stories(db: Db) {
    const OLD: &[(&str, &str, Option<&str>)] = &[
        (
            "http://www.plain.example/2026/a.html",
            "https://plain.example/2026/a.html",
            Some("Ann Lee, Bo Chen"),
        ),
        (
            "https://news.example/story?id=5&utm_source=rss&fbclid=x#c",
            "https://news.example/story?id=5",
            None,
        ),
    ];
    let insert = |i: usize| {
        format!(
            "INSERT INTO stories (source, url, canonical_url, author, fetched_at, text, html, \
             fingerprint) VALUES ('s', {p1}, {p2}, {p3}, {p4}, 'body', '<p>body</p>', 'fp{i}')",
            p1 = if db.url.starts_with("sqlite") {
                "?"
            } else {
                "$1"
            },
            p2 = if db.url.starts_with("sqlite") {
                "?"
            } else {
                "$2"
            },
            p3 = if db.url.starts_with("sqlite") {
                "?"
            } else {
                "$3"
            },
            p4 = if db.url.starts_with("sqlite") {
                "?"
            } else {
                "$4"
            },
        )
    };
    if db.url.starts_with("sqlite") {
        let opts = <sqlx::sqlite::SqliteConnectOptions as std::str::FromStr>::from_str(&db.url)
            .expect("url")
            .create_if_missing(true);
        let pool = sqlx::SqlitePool::connect_with(opts).await.expect("sqlite");
        old_schema(&pool, "migrations/sqlite").await;
        for (i, (url, key, author)) in OLD.iter().enumerate() {
            sqlx::query(sqlx::AssertSqlSafe(insert(i)))
                .bind(*url)
                .bind(*key)
                .bind(*author)
                .bind(t0().timestamp_millis())
                .execute(&pool)
                .await
                .expect("old row");
        }
        pool.close().await;
    } else {
        let pool = sqlx::PgPool::connect(&db.url).await.expect("postgres");
        old_schema(&pool, "migrations/postgres").await;
        for (i, (url, key, author)) in OLD.iter().enumerate() {
            sqlx::query(sqlx::AssertSqlSafe(insert(i)))
                .bind(*url)
                .bind(*key)
                .bind(*author)
                .bind(t0())
                .execute(&pool)
                .await
                .expect("old row");
        }
        pool.close().await;
    }

    let s = db.open().await;
    let mut stories = s
        .stories(&StoryFilter {
            limit: 10,
            ..Default::default()
        })
        .await
        .expect("stories");
    stories.reverse();
    assert_eq!(stories.len(), 2);
    assert_eq!(stories[0].url, "http://www.plain.example/2026/a.html");
    assert_eq!(stories[1].url, "https://news.example/story?id=5");
    for (st, (url, key, _)) in stories.iter().zip(OLD) {
        assert_eq!(st.fetched_url, *url);
        assert_eq!(st.dedup_key, *key);
        assert_eq!(st.site_name, None);
        assert_eq!(st.language, None);
        assert_eq!(st.updated_at, None);
    }
    assert_eq!(stories[0].authors, ["Ann Lee, Bo Chen"]);
    assert!(stories[1].authors.is_empty());

    // Filled in the table, not only on reading: the next open finds nothing to do.
    let missing: i64 = if db.url.starts_with("sqlite") {
        let pool = sqlx::SqlitePool::connect(&db.url).await.expect("sqlite");
        sqlx::query_scalar("SELECT count(*) FROM stories WHERE published_url IS NULL")
            .fetch_one(&pool)
            .await
            .expect("count")
    } else {
        let pool = sqlx::PgPool::connect(&db.url).await.expect("postgres");
        sqlx::query_scalar("SELECT count(*) FROM stories WHERE published_url IS NULL")
            .fetch_one(&pool)
            .await
            .expect("count")
    };
    assert_eq!(missing, 0);
}

async fn open_twice_migrates_once(db: Db) {
    // Two daemons starting together: both migrate (one waits for the other), both work.
    let (a, b) = tokio::join!(store::open(&db.url), store::open(&db.url));
    let (a, b) = (a.expect("open a"), b.expect("open b"));
    a.sync_sources(&[src("x")], DEFAULT_INTERVAL, t0())
        .await
        .expect("sync");
    assert_eq!(names(&b.sources().await.expect("sources")), vec!["x"]);
    drop(a);
    let c = store::open(&db.url).await.expect("reopen");
    assert_eq!(c.sources().await.expect("sources").len(), 1);
}

/// PostgreSQL only: a database that does not exist yet is created (the role may create
/// databases), like a SQLite file; a bad URL is refused without leaking its password.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_database_created_when_missing_and_bad_url_refused() {
    let Some(server) = pg::server() else {
        return;
    };
    let url = pg::with_database(
        server.admin_url(),
        &format!("nd_created_{}", std::process::id()),
    );
    let s = store::open(&url).await.expect("created and migrated");
    s.ping().await.expect("ping");
    assert!(s.sources().await.expect("sources").is_empty());

    let err = match store::open("postgres://news:s3cret@localhost:notaport/x").await {
        Ok(_) => panic!("a bad port must be refused"),
        Err(e) => e.to_string(),
    };
    assert!(!err.contains("s3cret"), "password leaked: {err}");
    assert!(err.contains("news:***@"), "{err}");
}

async fn set_cluster_ids_moves_stories_between_clusters(db: Db) {
    let store = with_sources(&db, 1).await;
    let run = store.start_run(Trigger::Schedule, t0()).await.expect("run");
    let mut ids = Vec::new();
    for n in 0..3usize {
        let s = story(
            n,
            &format!("https://example.com/c-{n}"),
            &format!("fp-c-{n}"),
        );
        let ev = item_event(run, Outcome::Stored, t0(), &s.url);
        match store
            .insert_story(&s, &seen_of(&s), &ev)
            .await
            .expect("insert")
        {
            InsertOutcome::Stored(id) => ids.push(id),
            other => panic!("{other:?}"),
        }
    }
    store
        .set_cluster_ids(&[(ids[1], ids[0]), (ids[2], ids[0])])
        .await
        .expect("set cluster ids");
    store.set_cluster_ids(&[]).await.expect("nothing to set");
    let cluster = store
        .stories(&StoryFilter {
            cluster_id: Some(ids[0]),
            limit: 10,
            ..Default::default()
        })
        .await
        .expect("cluster");
    let mut got: Vec<i64> = cluster.iter().map(|s| s.id).collect();
    got.sort_unstable();
    assert_eq!(got, ids);
    store
        .set_cluster_ids(&[(ids[2], ids[2])])
        .await
        .expect("move back");
    let recent = store
        .recent_stories(0, t0() - secs(60))
        .await
        .expect("recent");
    let clusters: Vec<Option<i64>> = recent.iter().map(|s| s.cluster_id).collect();
    assert_eq!(clusters, vec![Some(ids[0]), Some(ids[0]), Some(ids[2])]);
}

async fn item_retries_are_kept_until_the_item_is_final(db: Db) {
    let s = with_sources(&db, 1).await;
    let run = s.start_run(Trigger::Manual, t0()).await.expect("run");
    let url = "https://example.com/gone";
    let seen = SeenItem {
        source: "s0000".into(),
        guid: Some("gone".into()),
        canonical_url: url.into(),
    };
    assert_eq!(s.item_retry("s0000", url).await.expect("none yet"), None);
    let mut retry = newsdesk::model::ItemRetry {
        attempts: 1,
        first_failed_at: t0(),
        last_failed_at: t0(),
        next_attempt_at: t0() + secs(60),
        last_error: "article fetch: HTTP 404".into(),
    };
    let failed = item_event(run, Outcome::Failed, t0(), url);
    s.record_item_retry(&seen, &failed, &retry)
        .await
        .expect("first failure");
    assert_eq!(
        s.item_retry("s0000", url).await.expect("read"),
        Some(retry.clone())
    );
    // A second failure updates the row (first failure kept) and is one more event.
    retry.attempts = 2;
    retry.last_failed_at = t0() + secs(60);
    retry.next_attempt_at = t0() + secs(180);
    s.record_item_retry(&seen, &failed, &retry)
        .await
        .expect("second failure");
    assert_eq!(
        s.item_retry("s0000", url).await.expect("read"),
        Some(retry.clone())
    );
    assert_eq!(s.item_retry("s0001", url).await.expect("per source"), None);
    assert!(!s.is_known("s0000", Some("gone"), url).await.expect("known"));
    // Given up: final, known, and no longer in retry.
    let given_up = item_event(run, Outcome::GivenUp, t0() + secs(180), url);
    s.record_item(Some(&seen), &given_up)
        .await
        .expect("given up");
    assert_eq!(s.item_retry("s0000", url).await.expect("read"), None);
    assert!(s.is_known("s0000", Some("gone"), url).await.expect("known"));
    let events = s
        .events(&store::EventFilter {
            outcome: Some(Outcome::GivenUp),
            limit: 10,
            ..Default::default()
        })
        .await
        .expect("events");
    assert_eq!(events.len(), 1);
    assert_eq!(events[0].outcome, Outcome::GivenUp);
    // Retry rows left by items that later succeeded go with old events.
    let other = SeenItem {
        canonical_url: "https://example.com/flaky".into(),
        guid: None,
        ..seen.clone()
    };
    s.record_item_retry(&other, &failed, &retry)
        .await
        .expect("flaky");
    s.prune_events(t0() + secs(30))
        .await
        .expect("prune nothing");
    assert!(s
        .item_retry("s0000", "https://example.com/flaky")
        .await
        .expect("read")
        .is_some());
    s.prune_events(t0() + secs(3600)).await.expect("prune");
    assert_eq!(
        s.item_retry("s0000", "https://example.com/flaky")
            .await
            .expect("read"),
        None
    );
}

/// The desk's queries: one story by id, and the log paged with an id cursor (filters kept).
async fn story_by_id_and_events_before_for_the_desk(db: Db) {
    let s = with_sources(&db, 1).await;
    let run = s.start_run(Trigger::Manual, t0()).await.expect("run");
    let st = story(0, "https://example.com/desk", "fp-desk");
    let ev = item_event(run, Outcome::Stored, t0(), &st.url);
    let id = match s
        .insert_story(&st, &seen_of(&st), &ev)
        .await
        .expect("insert")
    {
        InsertOutcome::Stored(id) => id,
        other => panic!("{other:?}"),
    };
    // Events about the story: the one that stored it and a copy dropped for it.
    let mut copy = item_event(run, Outcome::Duplicate, t0(), "https://e.com/copy");
    copy.duplicate_of = Some(id);
    s.record_event(&copy).await.expect("event");
    let about: Vec<(Outcome, Option<i64>, Option<i64>)> = s
        .story_events(id, 10)
        .await
        .expect("story events")
        .into_iter()
        .map(|e| (e.outcome, e.story_id, e.duplicate_of))
        .collect();
    assert_eq!(
        about,
        vec![
            (Outcome::Duplicate, None, Some(id)),
            (Outcome::Stored, Some(id), None)
        ]
    );
    assert!(s
        .story_events(id + 1000, 10)
        .await
        .expect("none")
        .is_empty());
    let got = s.story(id).await.expect("story").expect("found");
    assert_eq!((got.id, got.title.as_deref()), (id, Some("Title 0")));
    assert_eq!(got.html, st.html);
    assert!(s.story(id + 1000).await.expect("story").is_none());
    for n in 0..5 {
        let outcome = if n % 2 == 0 {
            Outcome::OffTopic
        } else {
            Outcome::Duplicate
        };
        let e = item_event(run, outcome, t0() + secs(n), &format!("https://e.com/{n}"));
        s.record_event(&e).await.expect("event");
    }
    let all = s
        .events(&EventFilter {
            limit: 100,
            ..Default::default()
        })
        .await
        .expect("events");
    assert_eq!(all.len(), 7);
    let page = |before: i64, outcome: Option<Outcome>, limit: i64| {
        let s = s.clone();
        async move {
            s.events_before(
                &EventFilter {
                    outcome,
                    limit,
                    ..Default::default()
                },
                before,
            )
            .await
            .expect("page")
            .into_iter()
            .map(|e| e.id)
            .collect::<Vec<_>>()
        }
    };
    let ids: Vec<i64> = all.iter().map(|e| e.id).collect();
    assert_eq!(page(ids[1], None, 2).await, ids[2..4].to_vec());
    assert_eq!(page(ids[3], None, 100).await, ids[4..].to_vec());
    let off_topic: Vec<i64> = all
        .iter()
        .filter(|e| e.outcome == Outcome::OffTopic)
        .map(|e| e.id)
        .collect();
    assert_eq!(
        page(off_topic[0], Some(Outcome::OffTopic), 100).await,
        off_topic[1..].to_vec()
    );
}

async fn read_only_open_reads_counts_and_refuses_writes(db: Db) {
    // Nothing there yet (SQLite: no file; PostgreSQL: no database or one never migrated).
    assert!(store::open_read_only(&db.url).await.is_err());
    let rw = with_sources(&db, 1).await;
    let run = rw.start_run(Trigger::Manual, t0()).await.expect("run");
    let stored = [
        story(1, "https://a.example/1", "fp-1"),
        story(2, "https://a.example/2", "fp-2"),
        story(3, "https://a.example/3", "fp-3"),
    ];
    for s in &stored {
        let ev = item_event(run, Outcome::Stored, t0(), &s.url);
        rw.insert_story(s, &seen_of(s), &ev).await.expect("insert");
    }
    let ids: Vec<i64> = rw
        .stories(&StoryFilter {
            limit: 10,
            ..StoryFilter::default()
        })
        .await
        .expect("stories")
        .iter()
        .map(|s| s.id)
        .collect();
    rw.set_story_status(&ids[..1], StoryStatus::Published)
        .await
        .expect("publish");

    let ro = store::open_read_only(&db.url)
        .await
        .expect("read-only open");
    assert_eq!(
        ro.story_counts().await.expect("counts"),
        vec![(StoryStatus::New, 2), (StoryStatus::Published, 1)]
    );
    assert!(ro.database_size().await.expect("size") > 0);
    assert_eq!(
        ro.stories(&StoryFilter {
            limit: 10,
            ..StoryFilter::default()
        })
        .await
        .expect("stories")
        .len(),
        3
    );
    // Writes through a read-only handle fail; the data is unchanged.
    assert!(ro
        .set_story_status(&ids, StoryStatus::Rejected)
        .await
        .is_err());
    assert_eq!(rw.story_counts().await.expect("counts").len(), 2);
}
