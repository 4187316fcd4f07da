//! Configuration: reads the TOML file, fills defaults, and validates everything once at start.
//!
//! Takes a path, gives a [`Config`] or a [`ConfigError`] naming the file, the key and the reason.
//! The key names are a contract with tools outside the repository: keep them.

use std::collections::{BTreeMap, HashSet};
use std::path::{Path, PathBuf};
use std::time::Duration;

use serde::Deserialize;

mod durations;
mod listen;
mod validate;

pub use listen::ListenAddr;

pub mod edit;

/// Default config path, relative to the working directory.
pub const DEFAULT_CONFIG_PATH: &str = "config/newsdesk.toml";

/// A config file that cannot be used, with the file, the key and the reason.
#[derive(Debug, thiserror::Error)]
#[error("{file}: {key}: {reason}")]
pub struct ConfigError {
    /// The config file.
    pub file: PathBuf,
    /// Dotted key path, e.g. `sources[2].link_selector`; `-` when the whole file is at fault.
    pub key: String,
    /// Why the value was refused.
    pub reason: String,
}

/// The whole configuration.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Config {
    /// Where stories are kept.
    #[serde(default)]
    pub storage: StorageConfig,
    /// When the daemon wakes.
    #[serde(default)]
    pub schedule: ScheduleConfig,
    /// How the web is fetched.
    #[serde(default)]
    pub http: HttpConfig,
    /// Which stories are kept.
    #[serde(default)]
    pub topic: TopicConfig,
    /// Admin endpoint of the daemon.
    #[serde(default)]
    pub admin: AdminConfig,
    /// How near-copies and same-event stories are recognized.
    #[serde(default)]
    pub dedup: DedupConfig,
    /// The desk on a listener of its own (for a reverse proxy).
    #[serde(default)]
    pub web: WebConfig,
    /// The feeds and pages to poll.
    #[serde(default)]
    pub sources: Vec<SourceConfig>,
}

/// `[dedup]`: the thresholds of near-copy detection and event clustering. The defaults are the
/// values measured best on the ECB+ benches (README); change them only with a reason.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DedupConfig {
    /// Estimated shingle similarity (0–1) at or above which a story is a near-copy of a stored one.
    #[serde(default = "default_near_duplicate_threshold")]
    pub near_duplicate_threshold: f64,
    /// Cosine similarity (0–1) at or above which a story joins an event's cluster on arrival.
    #[serde(default = "default_cluster_threshold")]
    pub cluster_threshold: f64,
    /// Cosine similarity (0–1) every two stories of a cluster must reach when the window is
    /// re-clustered after a run.
    #[serde(default = "default_recluster_threshold")]
    pub recluster_threshold: f64,
    /// How far back stories count for clustering, e.g. `7d`.
    #[serde(default = "default_cluster_window", with = "durations")]
    pub cluster_window: Duration,
}

impl Default for DedupConfig {
    fn default() -> Self {
        Self {
            near_duplicate_threshold: default_near_duplicate_threshold(),
            cluster_threshold: default_cluster_threshold(),
            recluster_threshold: default_recluster_threshold(),
            cluster_window: default_cluster_window(),
        }
    }
}

/// Default `dedup.near_duplicate_threshold`: estimated shingle similarity of a near-copy.
pub const DEFAULT_NEAR_DUPLICATE_THRESHOLD: f64 = 0.4;
/// Default `dedup.cluster_threshold`: cosine similarity at which a story joins an event cluster.
pub const DEFAULT_CLUSTER_THRESHOLD: f64 = 0.3;
/// Default `dedup.recluster_threshold`: similarity every pair of a re-clustered event reaches.
pub const DEFAULT_RECLUSTER_THRESHOLD: f64 = 0.11;
/// Default `dedup.cluster_window`: how far back stories are compared for event clustering.
pub const DEFAULT_CLUSTER_WINDOW: Duration = Duration::from_secs(7 * 86_400);

// The dedup stage's own defaults (`dedup::ClusterParams::default`, `dedup::DEFAULT_THRESHOLD`)
// are these values; src/dedup/state.rs tests that they agree. Config owns them so that it
// depends on no stage.
fn default_near_duplicate_threshold() -> f64 {
    DEFAULT_NEAR_DUPLICATE_THRESHOLD
}

fn default_cluster_threshold() -> f64 {
    DEFAULT_CLUSTER_THRESHOLD
}

fn default_recluster_threshold() -> f64 {
    DEFAULT_RECLUSTER_THRESHOLD
}

fn default_cluster_window() -> Duration {
    DEFAULT_CLUSTER_WINDOW
}

/// `[storage]`
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StorageConfig {
    /// `sqlite://path` (file and folders created if missing) or `postgres://…`.
    #[serde(default = "default_storage_url")]
    pub url: String,
    /// How long run events are kept, e.g. `30d`.
    #[serde(default = "default_event_retention", with = "durations")]
    pub event_retention: Duration,
    /// File whose first line is the PostgreSQL password, put into `url` by
    /// [`Config::load_secrets`] (`${VAR}` is replaced from the environment). `PGPASSWORD` and
    /// `PGPASSFILE` work too, as with libpq.
    #[serde(default)]
    pub password_file: Option<String>,
}

impl Default for StorageConfig {
    fn default() -> Self {
        Self {
            url: default_storage_url(),
            event_retention: default_event_retention(),
            password_file: None,
        }
    }
}

fn default_storage_url() -> String {
    "sqlite://data/newsdesk.db".into()
}
fn default_event_retention() -> Duration {
    Duration::from_secs(30 * 24 * 3600)
}

/// `[schedule]`
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ScheduleConfig {
    /// Six-field cron expression (seconds first): when the daemon wakes to fetch due sources.
    #[serde(default = "default_cron")]
    pub cron: String,
    /// Shortest time between two polls of one source.
    #[serde(default = "default_min_interval", with = "durations")]
    pub min_interval: Duration,
    /// Longest time between two polls of a source that rarely publishes.
    #[serde(default = "default_max_interval", with = "durations")]
    pub max_interval: Duration,
    /// Sources fetched at once within one run.
    #[serde(default = "default_concurrency")]
    pub concurrency: usize,
    /// Articles fetched at once within one source.
    #[serde(default = "default_item_concurrency")]
    pub item_concurrency: usize,
    /// How long a daemon holds a source it is fetching before another may take it over.
    #[serde(default = "default_lease", with = "durations")]
    pub lease: Duration,
    /// Waits before an article whose fetch failed is tried again, one per retry; the last one
    /// repeats for transient errors. A permanent HTTP error (404, 410, 451) gives up once these
    /// are used up.
    #[serde(default = "default_item_retry_delays", with = "durations::list")]
    pub item_retry_delays: Vec<Duration>,
    /// How long an article failing with a transient error (timeouts, 5xx, …) is retried, counted
    /// from its first failure, before it is given up.
    #[serde(default = "default_item_retry_max_age", with = "durations")]
    pub item_retry_max_age: Duration,
    /// New items taken from one source per run, newest first; the rest wait for later runs
    /// (a 50,000-item feed would otherwise queue hours of article fetches).
    #[serde(default = "default_max_items_per_run")]
    pub max_items_per_run: usize,
}

impl Default for ScheduleConfig {
    fn default() -> Self {
        Self {
            cron: default_cron(),
            min_interval: default_min_interval(),
            max_interval: default_max_interval(),
            concurrency: default_concurrency(),
            item_concurrency: default_item_concurrency(),
            lease: default_lease(),
            item_retry_delays: default_item_retry_delays(),
            item_retry_max_age: default_item_retry_max_age(),
            max_items_per_run: default_max_items_per_run(),
        }
    }
}

fn default_cron() -> String {
    "0 */15 * * * *".into()
}
fn default_min_interval() -> Duration {
    Duration::from_secs(15 * 60)
}
fn default_max_interval() -> Duration {
    Duration::from_secs(6 * 3600)
}
fn default_concurrency() -> usize {
    8
}
fn default_item_concurrency() -> usize {
    4
}
fn default_max_items_per_run() -> usize {
    200
}
fn default_lease() -> Duration {
    Duration::from_secs(10 * 60)
}
fn default_item_retry_delays() -> Vec<Duration> {
    [15 * 60, 3600, 4 * 3600]
        .into_iter()
        .map(Duration::from_secs)
        .collect()
}
fn default_item_retry_max_age() -> Duration {
    Duration::from_secs(3 * 24 * 3600)
}

/// `[http]`
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct HttpConfig {
    /// Allow loopback, private, link-local and similar targets. Off by default; tests turn it on.
    #[serde(default)]
    pub allow_private_networks: bool,
    /// Sent as `User-Agent`; a contact URL is appended when set.
    #[serde(default = "default_user_agent")]
    pub user_agent: String,
    /// Where a site owner can reach the operator; appended to the User-Agent.
    #[serde(default)]
    pub contact_url: Option<String>,
    /// Time to establish a connection.
    #[serde(default = "default_connect_timeout", with = "durations")]
    pub connect_timeout: Duration,
    /// Longest wait for the next bytes of a response.
    #[serde(default = "default_read_timeout", with = "durations")]
    pub read_timeout: Duration,
    /// Whole request, body included.
    #[serde(default = "default_total_timeout", with = "durations")]
    pub total_timeout: Duration,
    /// Cap on the decompressed body, in bytes.
    #[serde(default = "default_max_body_bytes")]
    pub max_body_bytes: u64,
    /// Redirect hops followed at most.
    #[serde(default = "default_max_redirects")]
    pub max_redirects: usize,
    /// Requests in flight to one host at once.
    #[serde(default = "default_per_host_concurrency")]
    pub per_host_concurrency: usize,
    /// Minimum delay between two requests to one host.
    #[serde(default = "default_per_host_delay", with = "durations")]
    pub per_host_delay: Duration,
    /// Honour robots.txt for article pages.
    #[serde(default = "default_true")]
    pub respect_robots_txt: bool,
    /// Time one fetched article page may take to extract; a page that takes longer (a
    /// pathological document) fails its item instead of holding a CPU.
    #[serde(default = "default_extract_timeout", with = "durations")]
    pub extract_timeout: Duration,
}

impl Default for HttpConfig {
    fn default() -> Self {
        Self {
            allow_private_networks: false,
            user_agent: default_user_agent(),
            contact_url: None,
            connect_timeout: default_connect_timeout(),
            read_timeout: default_read_timeout(),
            total_timeout: default_total_timeout(),
            max_body_bytes: default_max_body_bytes(),
            max_redirects: default_max_redirects(),
            per_host_concurrency: default_per_host_concurrency(),
            per_host_delay: default_per_host_delay(),
            respect_robots_txt: true,
            extract_timeout: default_extract_timeout(),
        }
    }
}

impl HttpConfig {
    /// The User-Agent header value, with the contact URL when one is configured.
    pub fn user_agent_header(&self) -> String {
        match &self.contact_url {
            Some(c) => format!("{} (+{})", self.user_agent, c),
            None => self.user_agent.clone(),
        }
    }
}

fn default_user_agent() -> String {
    format!("newsdesk/{}", env!("CARGO_PKG_VERSION"))
}
fn default_connect_timeout() -> Duration {
    Duration::from_secs(10)
}
fn default_read_timeout() -> Duration {
    Duration::from_secs(20)
}
fn default_total_timeout() -> Duration {
    Duration::from_secs(60)
}
fn default_max_body_bytes() -> u64 {
    16 * 1024 * 1024
}
fn default_max_redirects() -> usize {
    5
}
fn default_per_host_concurrency() -> usize {
    2
}
fn default_per_host_delay() -> Duration {
    Duration::from_millis(250)
}
fn default_extract_timeout() -> Duration {
    Duration::from_secs(10)
}
fn default_true() -> bool {
    true
}

/// `[topic]`: which stories are kept. See the README for the scoring rule.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TopicConfig {
    /// Human name of the topic, shown in logs.
    #[serde(default = "default_topic_name")]
    pub name: String,
    /// Groups of alternative terms; every group must be mentioned at least `min_mentions` times.
    #[serde(default = "default_required")]
    pub required: Vec<Vec<String>>,
    /// How often each required group must appear in title + body.
    #[serde(default = "default_min_mentions")]
    pub min_mentions: usize,
    /// Terms that make a story more on topic, with their weight.
    #[serde(default = "default_weighted")]
    pub weighted: BTreeMap<String, f64>,
    /// Score a story needs to be kept.
    #[serde(default = "default_threshold")]
    pub threshold: f64,
}

impl Default for TopicConfig {
    fn default() -> Self {
        Self {
            name: default_topic_name(),
            required: default_required(),
            min_mentions: default_min_mentions(),
            weighted: default_weighted(),
            threshold: default_threshold(),
        }
    }
}

fn default_topic_name() -> String {
    "Microsoft–OpenAI partnership".into()
}
fn default_required() -> Vec<Vec<String>> {
    vec![vec!["Microsoft".into()], vec!["OpenAI".into()]]
}
fn default_min_mentions() -> usize {
    2
}
fn default_weighted() -> BTreeMap<String, f64> {
    [
        ("partnership", 3.0),
        ("partner", 1.5),
        ("alliance", 2.0),
        ("deal", 1.5),
        ("agreement", 1.5),
        ("contract", 1.0),
        ("investment", 1.5),
        ("invests", 1.5),
        ("stake", 1.5),
        ("exclusive", 1.5),
        ("exclusivity", 2.0),
        ("restructure", 2.0),
        ("restructuring", 2.0),
        ("restructured", 2.0),
        ("Azure", 1.0),
        ("revenue share", 2.0),
        ("revenue sharing", 2.0),
        ("AGI clause", 2.0),
        ("Satya Nadella", 1.0),
        ("Sam Altman", 1.0),
        ("Copilot", 0.5),
        ("cloud provider", 1.0),
        ("antitrust", 1.0),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_string(), v))
    .collect()
}
fn default_threshold() -> f64 {
    6.0
}

/// `[web]`: the desk (`/desk/` pages only, not the admin API) on a TCP listener of its own,
/// for a reverse proxy; its pages need the login with `admin.token`.
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct WebConfig {
    /// `HOST:PORT` (an IP address, loopback or any); unset: the desk is only on the admin
    /// listener.
    pub listen: Option<String>,
}

impl WebConfig {
    /// `web.listen` checked: an IP socket address, and a token to log in with.
    pub(crate) fn validate(&self, admin: &AdminConfig) -> Result<(), (String, String)> {
        let Some(listen) = &self.listen else {
            return Ok(());
        };
        listen.parse::<std::net::SocketAddr>().map_err(|e| {
            (
                "web.listen".to_string(),
                format!("'{listen}' is not IP:PORT (e.g. 127.0.0.1:8090): {e}"),
            )
        })?;
        if admin.token.is_none()
            && admin.token_file.is_none()
            && std::env::var_os(ADMIN_TOKEN_ENV).is_none()
        {
            return Err((
                "web.listen".into(),
                "needs admin.token (or admin.token_file): the desk's login is the only gate on \
                 this listener"
                    .into(),
            ));
        }
        Ok(())
    }
}

/// `[admin]`: the daemon's admin endpoint.
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AdminConfig {
    /// `unix:/path/to.sock`, `127.0.0.1:PORT`, or empty to disable.
    #[serde(default)]
    pub listen: String,
    /// Bearer token required on TCP. Filled from `token_file` or `NEWSDESK_ADMIN_TOKEN` by
    /// [`Config::load_secrets`] when not written in the file.
    #[serde(default)]
    pub token: Option<String>,
    /// `/health` says `failing` when no source was fetched successfully for this long; unset
    /// means twice `schedule.max_interval` (see [`Config::health_max_age`]).
    #[serde(default, with = "durations::option")]
    pub health_max_age: Option<Duration>,
    /// File whose first line is the token, so the config itself can stay world-readable;
    /// `${VAR}` is replaced from the environment (`${CREDENTIALS_DIRECTORY}/admin-token` with
    /// systemd's `LoadCredential=`).
    #[serde(default)]
    pub token_file: Option<String>,
    /// Group given the Unix socket (e.g. `newsdesk`), so its members can use the endpoint.
    #[serde(default)]
    pub socket_group: Option<String>,
    /// Mode of the Unix socket as octal text (`"0660"`); `0600` by default, `0660` by default
    /// when `socket_group` is set.
    #[serde(default)]
    pub socket_mode: Option<String>,
}

impl AdminConfig {
    /// The Unix socket's mode: `socket_mode`, else 0660 with a `socket_group`, else 0600.
    pub fn socket_mode(&self) -> u32 {
        match &self.socket_mode {
            Some(m) => parse_mode(m).unwrap_or(0o600),
            None if self.socket_group.is_some() => 0o660,
            None => 0o600,
        }
    }
}

/// Parses an octal permission mode such as `0660`; at most 0777.
fn parse_mode(s: &str) -> Result<u32, String> {
    let digits = s.trim();
    let digits = digits.strip_prefix("0o").unwrap_or(digits);
    match u32::from_str_radix(digits, 8) {
        Ok(m) if m <= 0o777 && !digits.is_empty() => Ok(m),
        _ => Err(format!(
            "'{s}' is not an octal permission mode like \"0660\""
        )),
    }
}

/// Environment variable holding the admin token; when set it overrides `admin.token` and
/// `admin.token_file` (an operator's CLI needs the token too when the daemon asks for one).
pub const ADMIN_TOKEN_ENV: &str = "NEWSDESK_ADMIN_TOKEN";

/// Environment variable naming the config file when `--config` is not given.
pub const CONFIG_ENV: &str = "NEWSDESK_CONFIG";

/// Where the CLI looks for its config when neither `--config` nor `NEWSDESK_CONFIG` names one,
/// in order: the installed service's file, then the checkout's.
pub const CONFIG_SEARCH_PATH: &[&str] = &["/etc/newsdesk/newsdesk.toml", DEFAULT_CONFIG_PATH];

/// The config file to use: `explicit` (from `--config` or `NEWSDESK_CONFIG`), else the first
/// file of [`CONFIG_SEARCH_PATH`] that exists, else the last one (whose absence is then
/// reported when it is read).
pub fn find_config(explicit: Option<&Path>) -> PathBuf {
    if let Some(p) = explicit {
        return p.to_path_buf();
    }
    CONFIG_SEARCH_PATH
        .iter()
        .map(Path::new)
        .find(|p| p.is_file())
        .unwrap_or(Path::new(DEFAULT_CONFIG_PATH))
        .to_path_buf()
}

/// Replaces `${NAME}` with the environment variable `NAME`; an unset variable is an error
/// naming it.
fn expand_env(s: &str) -> Result<String, String> {
    let mut out = String::with_capacity(s.len());
    let mut rest = s;
    while let Some(start) = rest.find("${") {
        out.push_str(&rest[..start]);
        let after = &rest[start + 2..];
        let end = after
            .find('}')
            .ok_or_else(|| format!("unclosed '${{' in '{s}'"))?;
        let name = &after[..end];
        let value = std::env::var(name).map_err(|_| {
            format!(
                "'{s}' names ${{{name}}}, which is not set (systemd sets CREDENTIALS_DIRECTORY \
                 only inside the service)"
            )
        })?;
        out.push_str(&value);
        rest = &after[end + 1..];
    }
    out.push_str(rest);
    Ok(out)
}

/// Reads a secret: the first line of the file, without surrounding whitespace.
fn read_secret(path_template: &str) -> Result<String, String> {
    let path = expand_env(path_template)?;
    let text = std::fs::read_to_string(&path).map_err(|e| format!("cannot read {path}: {e}"))?;
    let secret = text.lines().next().unwrap_or("").trim().to_string();
    if secret.is_empty() {
        return Err(format!("{path} is empty"));
    }
    Ok(secret)
}

/// What kind of source a `[[sources]]` entry is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum SourceKind {
    /// RSS 0.9x/1.0/2.0, Atom or JSON Feed.
    Feed,
    /// A listing page whose article links are found with `link_selector`.
    Page,
}

impl SourceKind {
    /// The config spelling.
    pub fn as_str(self) -> &'static str {
        match self {
            SourceKind::Feed => "feed",
            SourceKind::Page => "page",
        }
    }
}

/// One `[[sources]]` entry.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SourceConfig {
    /// Unique name, used in logs and on the command line.
    pub name: String,
    /// `feed` or `page`.
    pub kind: SourceKind,
    /// Where the feed or listing page lives.
    pub url: String,
    /// CSS selector of article links, for `page` sources.
    #[serde(default)]
    pub link_selector: Option<String>,
    /// CSS selector of the element(s) holding the article body on this source's pages, when
    /// the generic extractor picks the wrong part of the page.
    #[serde(default)]
    pub body_selector: Option<String>,
    /// CSS selectors of elements to remove from this source's articles besides the generic
    /// clutter rules (a site's own promo box, a byline block).
    #[serde(default)]
    pub drop_selectors: Vec<String>,
    /// Per-source override of `http.max_body_bytes`.
    #[serde(default)]
    pub max_body_bytes: Option<u64>,
    /// Per-source override of `schedule.min_interval`.
    #[serde(default, with = "durations::option")]
    pub interval: Option<Duration>,
    /// Per-source override of `schedule.max_items_per_run`.
    #[serde(default)]
    pub max_items_per_run: Option<usize>,
    /// Set false to keep a source configured but not polled.
    #[serde(default = "default_true")]
    pub enabled: bool,
}

impl Config {
    /// Reads and validates the file at `path`.
    pub fn load(path: &Path) -> Result<Config, ConfigError> {
        let text = std::fs::read_to_string(path).map_err(|e| ConfigError {
            file: path.to_path_buf(),
            key: "-".into(),
            reason: format!("cannot read the file: {e}"),
        })?;
        // An empty file is almost always the wrong path or a truncated deploy: say so instead of
        // running a daemon with no sources.
        let has_content = text
            .lines()
            .map(str::trim)
            .any(|l| !l.is_empty() && !l.starts_with('#'));
        if !has_content {
            return Err(ConfigError {
                file: path.to_path_buf(),
                key: "-".into(),
                reason: "the file is empty (no settings, no sources)".into(),
            });
        }
        Self::parse(&text, path)
    }

    /// Parses and validates config text; `path` is used only in error messages.
    pub fn parse(text: &str, path: &Path) -> Result<Config, ConfigError> {
        let err = |key: String, reason: String| ConfigError {
            file: path.to_path_buf(),
            key,
            reason,
        };
        let config: Config = toml::from_str(text).map_err(|e| {
            let key = toml_error_key(text, &e);
            let reason = match e.span() {
                Some(span) => {
                    let before = &text[..span.start.min(text.len())];
                    let line = before.matches('\n').count() + 1;
                    let column = before.len() - before.rfind('\n').map_or(0, |p| p + 1) + 1;
                    format!("{} (line {line}, column {column})", e.message().trim_end())
                }
                None => e.message().trim_end().to_string(),
            };
            err(key, reason)
        })?;
        config.validate().map_err(|(k, r)| err(k, r))?;
        Ok(config)
    }

    /// Why the secrets cannot be read in this process, when a secret's path names an
    /// environment variable that is not set here (`${CREDENTIALS_DIRECTORY}` exists only inside
    /// the service); `None` when [`Config::load_secrets`] can try.
    pub fn secrets_outside_service(&self) -> Option<String> {
        [
            ("admin.token_file", &self.admin.token_file),
            ("storage.password_file", &self.storage.password_file),
        ]
        .into_iter()
        .find_map(|(key, v)| {
            let v = v.as_ref()?;
            expand_env(v).err().map(|e| format!("{key}: {e}"))
        })
    }

    /// Fills the secrets kept outside the file: `admin.token` from `NEWSDESK_ADMIN_TOKEN` when
    /// set (it overrides the file's), else from `admin.token_file`; and the PostgreSQL password of `storage.url` from
    /// `storage.password_file`. The daemon calls it at start and refuses a secret it cannot
    /// read; read-only CLI commands may go on without (they need neither secret on SQLite).
    pub fn load_secrets(&mut self, path: &Path) -> Result<(), ConfigError> {
        let err = |key: &str, reason: String| ConfigError {
            file: path.to_path_buf(),
            key: key.into(),
            reason,
        };
        if let Ok(token) = std::env::var(ADMIN_TOKEN_ENV) {
            // The environment wins: it is how an operator's CLI gets a token it cannot read
            // from the service's credential.
            if token.trim().len() < 16 {
                return Err(err(
                    "admin.token",
                    format!("{ADMIN_TOKEN_ENV} must be at least 16 characters"),
                ));
            }
            self.admin.token = Some(token.trim().to_string());
        } else if let Some(tf) = &self.admin.token_file {
            let token = read_secret(tf).map_err(|r| err("admin.token_file", r))?;
            if token.len() < 16 {
                return Err(err(
                    "admin.token_file",
                    "the token must be at least 16 characters (e.g. `openssl rand -hex 32`)".into(),
                ));
            }
            self.admin.token = Some(token);
        }
        if let Some(pf) = &self.storage.password_file {
            let password = read_secret(pf).map_err(|r| err("storage.password_file", r))?;
            let mut u = url::Url::parse(&self.storage.url)
                .map_err(|e| err("storage.url", e.to_string()))?;
            u.set_password(Some(&password)).map_err(|()| {
                err(
                    "storage.password_file",
                    "storage.url has no user to give the password to".into(),
                )
            })?;
            self.storage.url = u.to_string();
        }
        Ok(())
    }

    /// How long `/health` tolerates no successful source fetch: `admin.health_max_age`, or
    /// twice `schedule.max_interval`.
    pub fn health_max_age(&self) -> Duration {
        self.admin
            .health_max_age
            .unwrap_or_else(|| self.schedule.max_interval.saturating_mul(2))
    }

    /// How many new items `src` may take in one run.
    pub fn max_items_per_run(&self, src: &SourceConfig) -> usize {
        src.max_items_per_run
            .unwrap_or(self.schedule.max_items_per_run)
    }

    /// The source with this name.
    pub fn source(&self, name: &str) -> Option<&SourceConfig> {
        self.sources.iter().find(|s| s.name == name)
    }
}

/// The reason for a CSS selector that does not parse; the parser's catch-all message ("Unexpected
/// error occurred. Please report this to the developer") is replaced by one an operator can use.
pub fn selector_error(selector: &str, parser_says: &str) -> String {
    format!(
        "invalid CSS selector '{selector}': {}",
        selector_reason(parser_says)
    )
}

/// The CSS parser's reason, or a usable one in place of its catch-all message.
pub fn selector_reason(parser_says: &str) -> String {
    if parser_says.contains("report this to the developer") {
        "it does not parse as CSS (check brackets, quotes and combinators)".into()
    } else {
        parser_says.to_string()
    }
}

/// Turns the byte span of a TOML error into the dotted key it sits under.
fn toml_error_key(text: &str, e: &toml::de::Error) -> String {
    let Some(span) = e.span() else {
        return "-".into();
    };
    // Find the table header above the span and the key on the span's line.
    let before = &text[..span.start.min(text.len())];
    let mut table = String::new();
    let mut source_index: Option<usize> = None;
    let mut sources_seen = 0usize;
    for line in before.lines() {
        let l = line.trim();
        if l.starts_with("[[") {
            table = l.trim_matches(|c| c == '[' || c == ']').trim().to_string();
            if table == "sources" {
                source_index = Some(sources_seen);
                sources_seen += 1;
            }
        } else if l.starts_with('[') {
            table = l.trim_matches(|c| c == '[' || c == ']').trim().to_string();
            source_index = None;
        }
    }
    let line_start = before.rfind('\n').map(|p| p + 1).unwrap_or(0);
    let line = text[line_start..].lines().next().unwrap_or("");
    let key = line
        .split('=')
        .next()
        .map(str::trim)
        .filter(|k| !k.is_empty() && !k.starts_with('['))
        .unwrap_or("");
    let prefix = match source_index {
        Some(i) => format!("sources[{i}]"),
        None => table,
    };
    match (prefix.is_empty(), key.is_empty()) {
        (true, true) => "-".into(),
        (true, false) => key.to_string(),
        (false, true) => prefix,
        (false, false) => format!("{prefix}.{key}"),
    }
}

#[cfg(test)]
mod tests;
