//! `newsdesk stories`: the stored stories, newest first (or one entry per event cluster with
//! `--group`); `stories publish|reject ID…` set their status, through the daemon when it runs.

use anyhow::Context as _;

use newsdesk::config::Config;
use newsdesk::config::ListenAddr;
use newsdesk::export::{self, Relations, StoryFormat, StoryRelations};
use newsdesk::model::{Story, StoryStatus};
use newsdesk::store::{Store, StoryFilter};

use super::admin_client::{AdminClient, ClientError};
use super::{output, Format};

// `newsdesk stories`'s arguments.
#[derive(clap::Args, Debug)]
pub struct StoriesArgs {
    #[command(subcommand)]
    action: Option<StoriesAction>,
    /// Only this status.
    #[arg(long, value_enum)]
    status: Option<super::args::StoryStatusArg>,
    /// Only this source.
    #[arg(long)]
    source: Option<String>,
    /// Only this same-event cluster.
    #[arg(long)]
    cluster: Option<i64>,
    /// At most this many.
    #[arg(long, default_value_t = 50)]
    limit: i64,
    /// One entry per event cluster: its lead story and the other sources that reported it.
    #[arg(long)]
    group: bool,
    /// Output format.
    #[arg(long, value_enum, default_value_t = Format::Table)]
    format: Format,
}

#[derive(clap::Subcommand, Debug)]
enum StoriesAction {
    /// Mark stories published.
    Publish {
        /// Story ids.
        #[arg(required = true)]
        ids: Vec<i64>,
    },
    /// Mark stories rejected.
    Reject {
        /// Story ids.
        #[arg(required = true)]
        ids: Vec<i64>,
    },
}

/// Lists stories (read-only), or sets their status.
pub async fn run(config: &Config, args: StoriesArgs) -> anyhow::Result<()> {
    match args.action {
        Some(StoriesAction::Publish { ids }) => {
            cmd_set_status(config, &ids, StoryStatus::Published).await
        }
        Some(StoriesAction::Reject { ids }) => {
            cmd_set_status(config, &ids, StoryStatus::Rejected).await
        }
        None => {
            let store = super::open_store_read_only(config).await?;
            let filter = StoryFilter {
                status: args.status.map(StoryStatus::from),
                source: args.source,
                cluster_id: args.cluster,
                limit: args.limit,
            };
            if args.group {
                return cmd_stories_grouped(store.as_ref(), &filter, args.format).await;
            }
            cmd_stories(store.as_ref(), &filter, args.format).await
        }
    }
}

async fn cmd_stories(
    store: &dyn Store,
    filter: &StoryFilter,
    format: Format,
) -> anyhow::Result<()> {
    let stories = store.stories(filter).await?;
    let related = export::relations(store, &stories).await?;
    if format == Format::Json {
        println!("{}", stories_json(&stories, &related)?);
        return Ok(());
    }
    let rows: Vec<Vec<String>> = stories
        .iter()
        .map(|s| {
            vec![
                s.id.to_string(),
                s.status.as_str().into(),
                s.source.clone(),
                output::opt(s.cluster_id),
                output::time(s.published_at.or(Some(s.fetched_at))),
                s.title.clone().unwrap_or_default(),
                s.url.clone(),
                dropped_copies(related.get(&s.id)),
            ]
        })
        .collect();
    print!(
        "{}",
        output::table(
            &[
                "ID",
                "STATUS",
                "SOURCE",
                "CLUSTER",
                "PUBLISHED",
                "TITLE",
                "URL",
                "DUPLICATES DROPPED"
            ],
            &rows,
            60
        )
    );
    Ok(())
}

/// The admin client when the config has an endpoint.
fn admin_client(config: &Config) -> anyhow::Result<Option<AdminClient>> {
    if config.admin.listen.is_empty() {
        return Ok(None);
    }
    let addr = ListenAddr::parse(&config.admin.listen)
        .map_err(|e| anyhow::anyhow!("admin.listen: {e}"))?;
    Ok(Some(AdminClient::new(addr, config.admin.token.clone())))
}

/// Sets story status through the running daemon (so the daemon's user does every database
/// write), else directly in the store. Gives how many stories changed.
pub(super) async fn set_status(
    config: &Config,
    ids: &[i64],
    status: StoryStatus,
) -> anyhow::Result<u64> {
    if let Some(client) = admin_client(config)? {
        let path = match status {
            StoryStatus::Published => "/stories/publish",
            StoryStatus::Rejected => "/stories/reject",
            StoryStatus::New => anyhow::bail!("stories cannot be set back to new"),
        };
        let body = serde_json::json!({ "ids": ids });
        match client.call(hyper::Method::POST, path, Some(body)).await {
            Ok(text) => {
                let v: serde_json::Value =
                    serde_json::from_str(&text).context("reading the daemon's answer")?;
                return v["changed"]
                    .as_u64()
                    .ok_or_else(|| anyhow::anyhow!("the daemon answered {text}"));
            }
            Err(ClientError::NotRunning { .. }) => {}
            Err(e) => return Err(e).context("setting the status through the running daemon"),
        }
    }
    let store = super::open_store(config).await?;
    let changed = store.set_story_status(ids, status).await;
    store.close().await;
    Ok(changed?)
}

/// `newsdesk stories publish|reject ID…`.
async fn cmd_set_status(config: &Config, ids: &[i64], status: StoryStatus) -> anyhow::Result<()> {
    let mut ids = ids.to_vec();
    ids.sort_unstable();
    ids.dedup();
    let changed = set_status(config, &ids, status).await?;
    println!(
        "{changed} of {} story(ies) marked {}",
        ids.len(),
        status.as_str()
    );
    if changed < ids.len() as u64 {
        anyhow::bail!("{} id(s) name no stored story", ids.len() as u64 - changed);
    }
    Ok(())
}

/// Stories as pretty JSON, each with its relations (`also_reported_by`, `same_event`,
/// `duplicates`) beside the stored fields.
fn stories_json(stories: &[Story], related: &Relations) -> anyhow::Result<String> {
    let lines = export::render_related(stories, related, StoryFormat::Ndjson, "");
    let values: Vec<serde_json::Value> = lines
        .lines()
        .map(serde_json::from_str)
        .collect::<Result<_, _>>()?;
    Ok(serde_json::to_string_pretty(&values)?)
}

/// The duplicates dropped for a story, for a table cell: `SOURCE (when)`, oldest first.
fn dropped_copies(r: Option<&StoryRelations>) -> String {
    r.map(|r| {
        r.duplicates
            .iter()
            .map(|d| format!("{} ({})", d.source, output::time(Some(d.at))))
            .collect::<Vec<_>>()
            .join(", ")
    })
    .unwrap_or_default()
}

/// `newsdesk stories --group`: one entry per event cluster of the listed stories, newest
/// cluster first: its lead story (the cluster's first report), the other sources that
/// reported the event, and the duplicates dropped for each of its stories.
async fn cmd_stories_grouped(
    store: &dyn Store,
    filter: &StoryFilter,
    format: Format,
) -> anyhow::Result<()> {
    let stories = store.stories(filter).await?;
    let related = export::relations(store, &stories).await?;
    // Clusters in the order their newest listed story appears (stories come newest first).
    let mut order: Vec<i64> = Vec::new();
    let mut members: std::collections::HashMap<i64, Vec<&Story>> = Default::default();
    for s in &stories {
        let c = s.cluster_id.unwrap_or(s.id);
        if !members.contains_key(&c) {
            order.push(c);
        }
        members.entry(c).or_default().push(s);
    }
    let mut groups = Vec::new();
    for c in order {
        let mut listed = members.remove(&c).unwrap_or_default();
        // The lead (first report) first, then the later ones.
        listed.sort_by_key(|s| s.id);
        let Some(lead) = listed.iter().min_by_key(|s| s.id).copied() else {
            continue;
        };
        let rel = related.get(&lead.id).cloned().unwrap_or_default();
        // The cluster's earliest report leads, even when the listing cut it off.
        let lead_id = rel
            .same_event
            .first()
            .map_or(lead.id, |m| m.id.min(lead.id));
        let lead_source = rel
            .same_event
            .iter()
            .find(|m| m.id == lead_id)
            .map_or(lead.source.clone(), |m| m.source.clone());
        let mut sources = vec![lead_source.clone()];
        for src in std::iter::once(&lead.source)
            .chain(rel.same_event.iter().map(|m| &m.source))
            .chain(listed.iter().flat_map(|s| {
                related
                    .get(&s.id)
                    .into_iter()
                    .flat_map(|r| r.duplicates.iter().map(|d| &d.source))
            }))
        {
            if !sources.contains(src) {
                sources.push(src.clone());
            }
        }
        let also: Vec<String> = sources.into_iter().skip(1).collect();
        let lead_story = if lead_id == lead.id { Some(lead) } else { None };
        groups.push((c, lead_id, lead_source, lead_story, listed, also));
    }
    if format == Format::Json {
        let out: Vec<serde_json::Value> = groups
            .iter()
            .map(|(c, lead_id, lead_source, _, listed, also)| {
                serde_json::json!({
                    "cluster_id": c,
                    "lead_story": lead_id,
                    "lead_source": lead_source,
                    "also_reported_by": also,
                    "stories": listed.iter().map(|s| serde_json::json!({
                        "id": s.id,
                        "source": s.source,
                        "title": s.title,
                        "url": s.url,
                        "duplicates": related.get(&s.id).map(|r| r.duplicates.clone()).unwrap_or_default(),
                    })).collect::<Vec<_>>(),
                })
            })
            .collect();
        println!("{}", serde_json::to_string_pretty(&out)?);
        return Ok(());
    }
    let mut text = String::new();
    for (c, lead_id, lead_source, lead_story, listed, also) in &groups {
        let title = lead_story
            .or_else(|| listed.first().copied())
            .and_then(|s| s.title.clone())
            .unwrap_or_default();
        text.push_str(&format!(
            "cluster {c} · lead story {lead_id} ({lead_source}) · {title}\n"
        ));
        if also.is_empty() {
            text.push_str("  also reported by: (no other source)\n");
        } else {
            text.push_str(&format!("  also reported by: {}\n", also.join(", ")));
        }
        for s in listed {
            text.push_str(&format!(
                "  {:>6}  {:<16} {}  {}\n",
                s.id,
                s.source,
                output::time(s.published_at.or(Some(s.fetched_at))),
                s.title.as_deref().unwrap_or("")
            ));
            let dropped = dropped_copies(related.get(&s.id));
            if !dropped.is_empty() {
                text.push_str(&format!("          duplicates dropped: {dropped}\n"));
            }
        }
    }
    if groups.is_empty() {
        text.push_str("no stories\n");
    }
    print!("{text}");
    Ok(())
}
