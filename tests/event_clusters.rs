//! Event clusters in a one-topic intake, end to end: a fixture site on loopback where three
//! outlets each report the same three Microsoft–OpenAI events in their own words (every story
//! names both companies), and a wire service republishes one report. The pipeline must store
//! nine stories in three clusters of three, drop the copy as a duplicate, and
//! `newsdesk stories --group` must show each cluster's lead with "also reported by" the other
//! outlets and the dropped copy.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;
use std::process::Command;
use std::sync::Arc;

use axum::extract::{Path as AxPath, State};
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::Router;
use newsdesk::config::Config;
use newsdesk::export::{self, StoryFormat};
use newsdesk::model::Trigger;
use newsdesk::pipeline::{Pipeline, RunRequest};
use newsdesk::store::{self, Store, StoryFilter};
use testkit::site::{template_a, template_b};
use tokio::sync::watch;

const OUTLETS: [&str; 3] = ["outlet-a", "outlet-b", "outlet-c"];
const EVENTS: [&str; 3] = ["probe", "earnings", "agi"];

/// (title, paragraphs) of `outlet`'s report of `event`: each outlet in its own words.
fn report(outlet: usize, event: usize) -> (&'static str, [&'static str; 4]) {
    match (event, outlet) {
        (0, 0) => ("FTC opens antitrust probe into the Microsoft OpenAI partnership", [
            "The Federal Trade Commission has opened an antitrust investigation into the partnership between Microsoft and OpenAI, sending civil investigative demands to both companies on Tuesday, people familiar with the inquiry said.",
            "FTC chair Andrew Ferguson wants to know whether the $13 billion investment gave Microsoft control of OpenAI without a merger review. Investigators asked for board minutes, Azure contracts and emails about the exclusivity terms of the deal.",
            "Microsoft said it would cooperate with the regulator. OpenAI said its partnership with Microsoft had been reviewed before and that it expected the commission to find nothing improper.",
            "The subpoenas give the companies thirty days to respond. Lawyers said the probe could last a year and might end in a consent decree rather than a lawsuit.",
        ]),
        (0, 1) => ("Regulators subpoena Microsoft and OpenAI over their alliance", [
            "US antitrust regulators have demanded documents from Microsoft and OpenAI, opening a formal probe of the partnership that made the software giant the largest backer of the ChatGPT maker.",
            "The Federal Trade Commission sent civil investigative demands this week, according to two people briefed on the matter. Andrew Ferguson, who leads the FTC, is examining whether Microsoft's $13 billion stake amounts to control that should have faced merger review.",
            "The subpoenas cover Azure computing contracts, board minutes and the exclusivity clauses in the deal. Microsoft and OpenAI both said they would cooperate with the commission.",
            "Antitrust lawyers expect the investigation to run for months; a consent decree is a likelier ending than a court fight.",
        ]),
        (0, 2) => ("Inside the FTC's investigation of Microsoft's OpenAI stake", [
            "Federal Trade Commission investigators have sent subpoenas to Microsoft and OpenAI as part of an antitrust probe into their partnership, the first formal inquiry into the arrangement.",
            "The civil investigative demands ask for internal emails, board minutes and the Azure contracts behind Microsoft's $13 billion investment. Chair Andrew Ferguson has said that minority stakes can confer control without a merger filing.",
            "OpenAI said the partnership had been examined before. Microsoft said it was confident the deal complied with the law and would cooperate with the FTC.",
            "Both companies have thirty days to answer the demands, and people close to the inquiry said a consent decree was possible.",
        ]),
        (1, 0) => ("Microsoft earnings beat forecasts as Azure growth hits 39%", [
            "Microsoft reported quarterly revenue of $77.7 billion on Wednesday, ahead of analyst forecasts, as Azure cloud sales grew 39% on demand for AI computing from OpenAI and other customers.",
            "Chief financial officer Amy Hood said capital expenditure reached $34.9 billion in the quarter, most of it data centers. Microsoft booked a $4.1 billion loss from its share of OpenAI's results under the equity method.",
            "Satya Nadella told analysts that the partnership with OpenAI remained central to Copilot sales, and that commercial bookings had more than doubled.",
            "Shares rose 4% in after-hours trading in New York.",
        ]),
        (1, 1) => ("Azure up 39% as Microsoft tops quarterly estimates", [
            "Microsoft's fiscal first-quarter revenue rose to $77.7 billion, beating Wall Street estimates, with its Azure cloud unit growing 39% as OpenAI and corporate customers rented AI capacity.",
            "Amy Hood, the finance chief, said spending on data centers reached $34.9 billion and would rise again next quarter. The results include a $4.1 billion charge for Microsoft's share of OpenAI losses.",
            "On the earnings call Satya Nadella said the OpenAI partnership drove demand for Copilot, and bookings more than doubled from a year earlier.",
            "The stock gained 4% after the bell.",
        ]),
        (1, 2) => ("Microsoft quarterly results: capex, Azure and the OpenAI loss", [
            "Microsoft beat expectations for the quarter with revenue of $77.7 billion. Azure grew 39%, helped by OpenAI's appetite for computing power under the partnership between the companies.",
            "Capital spending climbed to $34.9 billion, finance chief Amy Hood told analysts, and the company recorded a $4.1 billion loss on its OpenAI holding, accounted for by the equity method.",
            "Satya Nadella said Copilot seats and commercial bookings had more than doubled, and that the OpenAI deal kept paying off for Microsoft.",
            "Investors sent the shares up 4% in extended trading.",
        ]),
        (2, 0) => ("Microsoft and OpenAI agree expert panel for the AGI clause", [
            "Microsoft and OpenAI have agreed that an independent panel of experts will decide when OpenAI has achieved artificial general intelligence, rewriting the AGI clause at the heart of their partnership.",
            "Under the new terms Microsoft keeps rights to OpenAI models and intellectual property through 2032, even after a declaration of AGI, and holds a stake of about 27% in the restructured public benefit corporation.",
            "Sam Altman said the agreement settled the last open question of the restructuring. Delaware attorney general Kathy Jennings, who reviewed the plan, said she would not object.",
            "The nonprofit OpenAI Foundation will keep control of the company.",
        ]),
        (2, 1) => ("The AGI clause is rewritten: an expert panel will rule", [
            "The AGI clause that once let OpenAI cut Microsoft off has been rewritten: a panel of independent experts must now verify any declaration of artificial general intelligence, the companies said.",
            "Microsoft's rights to OpenAI's models and intellectual property now run through 2032, and it will hold roughly 27% of the public benefit corporation that the restructuring creates.",
            "Sam Altman called the partnership stronger than ever. Kathy Jennings, the Delaware attorney general, said the restructured company met her conditions.",
            "Control stays with the nonprofit OpenAI Foundation.",
        ]),
        (2, 2) => ("OpenAI restructuring clears its last hurdle with Microsoft", [
            "OpenAI completed its restructuring into a public benefit corporation after reaching a new partnership agreement with Microsoft, including an expert panel that will verify any claim of artificial general intelligence.",
            "Microsoft will own about 27% and keep intellectual property rights to OpenAI models until 2032, whether or not the AGI clause is triggered.",
            "Delaware attorney general Kathy Jennings said she had no objection to the plan. Sam Altman said the deal gave OpenAI the capital it needs.",
            "The OpenAI Foundation, a nonprofit, keeps control.",
        ]),
        _ => ("", ["", "", "", ""]),
    }
}

#[derive(Clone)]
struct Site {
    base: String,
}

/// `/p/{outlet}/{event}`: an outlet's report; `/p/wire-copy/probe` republishes outlet-a's.
async fn page(
    State(s): State<Site>,
    AxPath((outlet, event)): AxPath<(String, String)>,
) -> Response {
    let Some(e) = EVENTS.iter().position(|x| *x == event) else {
        return StatusCode::NOT_FOUND.into_response();
    };
    let html = match outlet.as_str() {
        "wire-copy" => {
            let (_, paragraphs) = report(0, e);
            let mut p: Vec<String> = paragraphs.iter().map(|x| x.to_string()).collect();
            p.push("This report was first published by Outlet A and is republished by the wire under a content agreement.".into());
            template_b("Wire: regulators look at Microsoft and OpenAI", &p)
        }
        _ => {
            let Some(o) = OUTLETS.iter().position(|x| *x == outlet) else {
                return StatusCode::NOT_FOUND.into_response();
            };
            let (title, paragraphs) = report(o, e);
            let p: Vec<String> = paragraphs.iter().map(|x| x.to_string()).collect();
            if o == 0 {
                template_a(&s.base, &format!("{outlet}-{event}"), title, &p, 20 + e)
            } else {
                template_b(title, &p)
            }
        }
    };
    ([(header::CONTENT_TYPE, "text/html; charset=utf-8")], html).into_response()
}

/// `/feeds/{outlet}.rss`: the outlet's reports (the wire service carries only the probe).
async fn feed(State(s): State<Site>, AxPath(name): AxPath<String>) -> Response {
    let outlet = name.trim_end_matches(".rss");
    let events: &[&str] = if outlet == "wire-copy" {
        &EVENTS[..1]
    } else {
        &EVENTS
    };
    let items: String = events
        .iter()
        .map(|e| {
            format!(
                "<item><title>{outlet} {e}</title><link>{b}/p/{outlet}/{e}</link>\
                 <guid isPermaLink=\"false\">{outlet}-{e}</guid></item>",
                b = s.base
            )
        })
        .collect();
    let body = format!(
        r#"<?xml version="1.0" encoding="UTF-8"?><rss version="2.0"><channel><title>{outlet}</title><link>{}/</link><description>d</description>{items}</channel></rss>"#,
        s.base
    );
    ([(header::CONTENT_TYPE, "application/rss+xml")], body).into_response()
}

async fn start_site() -> (String, testkit::loopback::Served) {
    let port = testkit::loopback::bind().await;
    let base = port.base.clone();
    let app = Router::new()
        .route("/p/{outlet}/{event}", get(page))
        .route("/feeds/{name}", get(feed))
        .with_state(Site { base: base.clone() });
    (base, port.serve(app))
}

/// The default topic (Microsoft–OpenAI partnership) and one source per outlet.
fn config_toml(base: &str, db: &Path) -> String {
    let mut toml = format!(
        r#"
[storage]
url = "sqlite://{}"

[schedule]
cron = "0 */15 * * * *"
concurrency = 2
item_concurrency = 2

[http]
allow_private_networks = true
connect_timeout = "2s"
read_timeout = "2s"
total_timeout = "5s"
per_host_concurrency = 8
per_host_delay = "0s"
respect_robots_txt = false
"#,
        db.display()
    );
    for f in OUTLETS.iter().chain(&["wire-copy"]) {
        toml.push_str(&format!(
            "\n[[sources]]\nname = \"{f}\"\nkind = \"feed\"\nurl = \"{base}/feeds/{f}.rss\"\n"
        ));
    }
    toml
}

/// Which event a stored story reports, from the address it was fetched at (outlet A declares a
/// canonical address of its own, which becomes the published `url`).
fn event_of(url: &str) -> &str {
    EVENTS
        .iter()
        .find(|e| url.ends_with(&format!("/{e}")))
        .copied()
        .unwrap_or("?")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn three_events_by_three_outlets_make_three_clusters_an_editor_can_read() {
    let (base, _stop) = start_site().await;
    let dir = tempfile::tempdir().expect("tempdir");
    let db = dir.path().join("clusters.db");
    let toml = config_toml(&base, &db);
    let config_path = dir.path().join("newsdesk.toml");
    std::fs::write(&config_path, &toml).expect("write config");
    let config = Config::parse(&toml, &config_path).expect("config");
    let store: Arc<dyn Store> = Arc::from(store::open(&config.storage.url).await.expect("store"));
    let p = Pipeline::new(Arc::new(config), store.clone()).expect("pipeline");
    p.sync_sources().await.expect("sync");
    // The outlets first (one run each, as polls come), then the wire service's copy.
    for source in OUTLETS.iter().chain(&["wire-copy"]) {
        let (_tx, rx) = watch::channel(false);
        let req = RunRequest {
            trigger: Trigger::Manual,
            sources: vec![source.to_string()],
            force: true,
        };
        p.run(&req, rx).await.expect("run");
    }
    let stories = store
        .stories(&StoryFilter {
            limit: 100,
            ..Default::default()
        })
        .await
        .expect("stories");
    assert_eq!(
        stories.len(),
        9,
        "nine reports stored, the wire copy dropped"
    );
    let mut clusters: BTreeMap<i64, BTreeSet<(String, String)>> = BTreeMap::new();
    for s in &stories {
        let c = s.cluster_id.expect("every story has a cluster");
        clusters
            .entry(c)
            .or_default()
            .insert((event_of(&s.fetched_url).to_string(), s.source.clone()));
    }
    let got: BTreeSet<Vec<(String, String)>> = clusters
        .values()
        .map(|m| m.iter().cloned().collect())
        .collect();
    let want: BTreeSet<Vec<(String, String)>> = EVENTS
        .iter()
        .map(|e| {
            let mut v: Vec<(String, String)> = OUTLETS
                .iter()
                .map(|o| (e.to_string(), o.to_string()))
                .collect();
            v.sort();
            v
        })
        .collect();
    assert_eq!(
        got, want,
        "one cluster per event, holding its three reports"
    );

    // JSON Feed and Atom carry the cluster and the other sources.
    let related = export::relations(store.as_ref(), &stories)
        .await
        .expect("relations");
    let feed: serde_json::Value = serde_json::from_str(&export::render_related(
        &stories,
        &related,
        StoryFormat::Jsonfeed,
        "t",
    ))
    .expect("json feed");
    let probe_a = stories
        .iter()
        .find(|s| s.source == "outlet-a" && event_of(&s.fetched_url) == "probe")
        .expect("outlet-a's probe report");
    let item = feed["items"]
        .as_array()
        .expect("items")
        .iter()
        .find(|i| i["id"].as_str() == Some(probe_a.id.to_string().as_str()))
        .expect("item");
    assert_eq!(
        item["_newsdesk"]["cluster_id"],
        probe_a.cluster_id.expect("cluster")
    );
    let also: BTreeSet<&str> = item["_newsdesk"]["also_reported_by"]
        .as_array()
        .expect("also_reported_by")
        .iter()
        .filter_map(|v| v.as_str())
        .collect();
    assert_eq!(also, BTreeSet::from(["outlet-b", "outlet-c", "wire-copy"]));
    assert_eq!(item["_newsdesk"]["duplicates"][0]["source"], "wire-copy");
    let atom = export::render_related(&stories, &related, StoryFormat::Atom, "t");
    assert!(atom.contains(&format!(
        r#"<category term="cluster:{}" label="event cluster"/>"#,
        probe_a.cluster_id.expect("cluster")
    )));
    assert!(atom.contains(r#"rel="related""#) && atom.contains(r#"title="wire-copy""#));

    // The editor's view, through the real binary.
    let out = Command::new(env!("CARGO_BIN_EXE_newsdesk"))
        .arg("--config")
        .arg(&config_path)
        .args(["stories", "--group"])
        .output()
        .expect("run newsdesk");
    let text = String::from_utf8_lossy(&out.stdout);
    eprintln!("newsdesk stories --group:\n{text}");
    assert!(
        out.status.success(),
        "{text}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let blocks: Vec<&str> = text
        .split("cluster ")
        .filter(|b| !b.trim().is_empty())
        .collect();
    assert_eq!(blocks.len(), 3, "{text}");
    for block in blocks {
        let lead = OUTLETS
            .iter()
            .find(|o| {
                block
                    .lines()
                    .next()
                    .is_some_and(|l| l.contains(&format!("({o})")))
            })
            .unwrap_or_else(|| panic!("lead source in {block}"));
        let also_line = block
            .lines()
            .find_map(|l| l.trim().strip_prefix("also reported by: "))
            .unwrap_or_else(|| panic!("no also-reported-by line in {block}"));
        let also: BTreeSet<&str> = also_line.split(", ").collect();
        let mut want: BTreeSet<&str> = OUTLETS.iter().copied().filter(|o| o != lead).collect();
        if block.contains("probe") || block.contains("FTC") {
            want.insert("wire-copy");
            assert!(block.contains("duplicates dropped: wire-copy ("), "{block}");
        }
        assert_eq!(also, want, "{block}");
    }
}
