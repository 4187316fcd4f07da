//! robots.txt cache entries: fetched through the fetcher, parsed with `texting_robots`.

use std::time::Duration;

use tokio::time::Instant;
use url::Url;

use super::{FetchOptions, Fetcher};
use crate::config::HttpConfig;

/// How long a robots.txt verdict is kept.
const ROBOTS_TTL: Duration = Duration::from_secs(24 * 3600);
/// robots.txt larger than this is cut by the fetch cap and treated as absent.
const ROBOTS_MAX_BYTES: u64 = 512 * 1024;

/// One origin's rules (None: everything allowed) and when they were fetched.
pub(super) struct RobotsEntry {
    robot: Option<texting_robots::Robot>,
    fetched: Instant,
}

impl RobotsEntry {
    pub(super) fn is_fresh(&self) -> bool {
        self.fetched.elapsed() < ROBOTS_TTL
    }

    pub(super) fn allows(&self, url: &Url) -> bool {
        self.robot.as_ref().is_none_or(|r| r.allowed(url.as_str()))
    }
}

/// The product token robots.txt groups are matched against: `newsdesk/0.1 (+…)` → `newsdesk`.
fn agent_token(cfg: &HttpConfig) -> String {
    cfg.user_agent
        .split(['/', ' '])
        .next()
        .unwrap_or("newsdesk")
        .to_string()
}

pub(super) async fn fetch(fetcher: &Fetcher, url: &Url, cfg: &HttpConfig) -> RobotsEntry {
    let fetched = Instant::now();
    let Ok(robots_url) = url.join("/robots.txt") else {
        return RobotsEntry {
            robot: None,
            fetched,
        };
    };
    let opts = FetchOptions {
        validators: None,
        max_body_bytes: Some(ROBOTS_MAX_BYTES),
        accept: Some("text/plain,*/*;q=0.5"),
    };
    let robot = match fetcher.get(&robots_url, &opts).await {
        Ok(f) => texting_robots::Robot::new(&agent_token(cfg), &f.body).ok(),
        // Missing, server error, too large, unreachable: no rules we can honour.
        Err(_) => None,
    };
    RobotsEntry { robot, fetched }
}
