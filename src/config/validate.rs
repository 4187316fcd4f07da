//! The checks a config passes once at start, each refusal naming the key and the reason.

use std::time::Duration;

use chrono::Utc;
use url::Url;

use super::*;

impl Config {
    pub(super) fn validate(&self) -> Result<(), (String, String)> {
        let s = &self.storage;
        if !(s.url.starts_with("sqlite:")
            || s.url.starts_with("postgres://")
            || s.url.starts_with("postgresql://"))
        {
            return Err((
                "storage.url".into(),
                format!("'{}' is neither a sqlite:// nor a postgres:// URL", s.url),
            ));
        }
        self.validate_durations()?;
        if let Some(rest) = s.url.strip_prefix("sqlite:") {
            let path = rest.trim_start_matches("//");
            let path = path.split('?').next().unwrap_or("");
            if path.is_empty() {
                return Err((
                    "storage.url".into(),
                    format!(
                        "'{}' names no database file (e.g. sqlite://data/newsdesk.db)",
                        s.url
                    ),
                ));
            }
        }
        if let Err(e) = validate_cron(&self.schedule.cron) {
            return Err(("schedule.cron".into(), e));
        }
        if self.schedule.min_interval > self.schedule.max_interval {
            return Err((
                "schedule.min_interval".into(),
                "is longer than schedule.max_interval".into(),
            ));
        }
        if self.schedule.concurrency == 0 {
            return Err(("schedule.concurrency".into(), "must be at least 1".into()));
        }
        if self.schedule.max_items_per_run == 0 {
            return Err((
                "schedule.max_items_per_run".into(),
                "must be at least 1".into(),
            ));
        }
        if self.schedule.item_concurrency == 0 {
            return Err((
                "schedule.item_concurrency".into(),
                "must be at least 1".into(),
            ));
        }
        if self
            .schedule
            .item_retry_delays
            .iter()
            .any(Duration::is_zero)
        {
            return Err((
                "schedule.item_retry_delays".into(),
                "every delay must be above 0".into(),
            ));
        }
        if self.admin.health_max_age.is_some_and(|d| d.is_zero()) {
            return Err(("admin.health_max_age".into(), "must be above 0".into()));
        }
        if self.http.max_body_bytes == 0 {
            return Err(("http.max_body_bytes".into(), "must be above 0".into()));
        }
        if self.http.max_redirects > 20 {
            return Err(("http.max_redirects".into(), "must be at most 20".into()));
        }
        if self.http.per_host_concurrency == 0 {
            return Err((
                "http.per_host_concurrency".into(),
                "must be at least 1".into(),
            ));
        }
        if let Some(c) = &self.http.contact_url {
            if Url::parse(c).is_err() {
                return Err((
                    "http.contact_url".into(),
                    format!("'{c}' is not an absolute URL"),
                ));
            }
        }
        if let Some(token) = &self.admin.token {
            if token.trim().len() < 16 {
                return Err((
                    "admin.token".into(),
                    "must be at least 16 characters (e.g. `openssl rand -hex 32`)".into(),
                ));
            }
        }
        self.validate_secrets_and_socket()?;
        if !self.admin.listen.is_empty() {
            let addr = ListenAddr::parse(&self.admin.listen)
                .map_err(|e| ("admin.listen".to_string(), e))?;
            if matches!(addr, ListenAddr::Tcp(_))
                && self.admin.token.is_none()
                && self.admin.token_file.is_none()
                && std::env::var_os(ADMIN_TOKEN_ENV).is_none()
            {
                return Err((
                    "admin.token".into(),
                    format!(
                        "required when admin.listen is a TCP address ('{}'): any local user \
                         could trigger runs and mark stories published otherwise",
                        self.admin.listen
                    ),
                ));
            }
        }
        self.web.validate(&self.admin)?;
        self.validate_topic()?;
        self.validate_dedup()?;
        let mut names = HashSet::new();
        for (i, src) in self.sources.iter().enumerate() {
            let key = |field: &str| format!("sources[{i}].{field}");
            if src.name.trim().is_empty() {
                return Err((key("name"), "must not be empty".into()));
            }
            if !names.insert(src.name.as_str()) {
                return Err((key("name"), format!("duplicate source name '{}'", src.name)));
            }
            match Url::parse(&src.url) {
                Ok(u) if u.scheme() == "http" || u.scheme() == "https" => {}
                Ok(u) => {
                    return Err((
                        key("url"),
                        format!("scheme '{}' is not http or https", u.scheme()),
                    ))
                }
                Err(e) => return Err((key("url"), format!("'{}': {e}", src.url))),
            }
            if src.kind == SourceKind::Page && src.link_selector.is_none() {
                return Err((
                    key("link_selector"),
                    "a page source needs a link_selector".into(),
                ));
            }
            let drop_keys = (0..src.drop_selectors.len()).map(|j| format!("drop_selectors[{j}]"));
            let selectors = [
                ("link_selector".to_string(), src.link_selector.as_ref()),
                ("body_selector".to_string(), src.body_selector.as_ref()),
            ]
            .into_iter()
            .chain(drop_keys.zip(src.drop_selectors.iter().map(Some)));
            for (field, sel) in selectors {
                if let Some(sel) = sel {
                    if let Err(e) = scraper::Selector::parse(sel) {
                        return Err((key(&field), selector_error(sel, &e.to_string())));
                    }
                }
            }
            if src.max_items_per_run == Some(0) {
                return Err((key("max_items_per_run"), "must be at least 1".into()));
            }
            if src.max_body_bytes == Some(0) {
                return Err((key("max_body_bytes"), "must be above 0".into()));
            }
        }
        Ok(())
    }

    /// The keys of [`Config::load_secrets`] and the socket's access keys.
    pub(super) fn validate_secrets_and_socket(&self) -> Result<(), (String, String)> {
        let a = &self.admin;
        if a.token.is_some() && a.token_file.is_some() {
            return Err((
                "admin.token_file".into(),
                "set either admin.token or admin.token_file, not both".into(),
            ));
        }
        if let Some(m) = &a.socket_mode {
            let mode = parse_mode(m).map_err(|e| ("admin.socket_mode".to_string(), e))?;
            if mode & 0o002 != 0 {
                return Err((
                    "admin.socket_mode".into(),
                    format!(
                        "'{m}' lets any local user trigger runs and mark stories published; \
                         give a group access (admin.socket_group) instead"
                    ),
                ));
            }
        }
        if let Some(g) = &a.socket_group {
            if g.trim().is_empty() {
                return Err(("admin.socket_group".into(), "must not be empty".into()));
            }
        }
        if let Some(pf) = &self.storage.password_file {
            if !(self.storage.url.starts_with("postgres://")
                || self.storage.url.starts_with("postgresql://"))
            {
                return Err((
                    "storage.password_file".into(),
                    "only a postgres:// storage.url takes a password".into(),
                ));
            }
            if url::Url::parse(&self.storage.url).is_ok_and(|u| u.password().is_some()) {
                return Err((
                    "storage.password_file".into(),
                    "storage.url already holds a password; keep it in one place".into(),
                ));
            }
            if pf.trim().is_empty() {
                return Err(("storage.password_file".into(), "must not be empty".into()));
            }
        }
        Ok(())
    }

    /// Every duration against a sane upper bound: a value beyond it is a typo (`99999999999d`)
    /// and would overflow the date arithmetic of scheduling.
    pub(super) fn validate_durations(&self) -> Result<(), (String, String)> {
        const DAY: u64 = 86_400;
        let (s, h) = (&self.schedule, &self.http);
        let mut table: Vec<(String, Duration, u64)> = vec![
            ("schedule.min_interval".into(), s.min_interval, 366 * DAY),
            ("schedule.max_interval".into(), s.max_interval, 366 * DAY),
            ("schedule.lease".into(), s.lease, 7 * DAY),
            ("http.connect_timeout".into(), h.connect_timeout, DAY),
            ("http.read_timeout".into(), h.read_timeout, DAY),
            ("http.total_timeout".into(), h.total_timeout, DAY),
            ("http.per_host_delay".into(), h.per_host_delay, DAY),
            ("http.extract_timeout".into(), h.extract_timeout, DAY),
            (
                "storage.event_retention".into(),
                self.storage.event_retention,
                100 * 366 * DAY,
            ),
            (
                "dedup.cluster_window".into(),
                self.dedup.cluster_window,
                10 * 366 * DAY,
            ),
        ];
        table.push((
            "schedule.item_retry_max_age".into(),
            s.item_retry_max_age,
            366 * DAY,
        ));
        for (i, d) in s.item_retry_delays.iter().enumerate() {
            table.push((format!("schedule.item_retry_delays[{i}]"), *d, 366 * DAY));
        }
        if let Some(d) = self.admin.health_max_age {
            table.push(("admin.health_max_age".into(), d, 366 * DAY));
        }
        for (i, src) in self.sources.iter().enumerate() {
            if let Some(d) = src.interval {
                table.push((format!("sources[{i}].interval"), d, 366 * DAY));
            }
        }
        // Whole days read best at this scale ("99999999999d", not "273785078years 8months …").
        let shown = |d: Duration| match d.as_secs() {
            s if s >= DAY && s % DAY == 0 => format!("{}d", s / DAY),
            _ => humantime::format_duration(d).to_string(),
        };
        for (key, value, max_secs) in table {
            if value > Duration::from_secs(max_secs) {
                return Err((
                    key,
                    format!(
                        "{} is longer than the most allowed, {}",
                        shown(value),
                        shown(Duration::from_secs(max_secs))
                    ),
                ));
            }
        }
        if h.extract_timeout.is_zero() {
            return Err(("http.extract_timeout".into(), "must be above 0".into()));
        }
        if s.lease.is_zero() {
            return Err(("schedule.lease".into(), "must be above 0".into()));
        }
        Ok(())
    }

    pub(super) fn validate_dedup(&self) -> Result<(), (String, String)> {
        let d = &self.dedup;
        for (key, value) in [
            ("dedup.near_duplicate_threshold", d.near_duplicate_threshold),
            ("dedup.cluster_threshold", d.cluster_threshold),
            ("dedup.recluster_threshold", d.recluster_threshold),
        ] {
            if !(value > 0.0 && value <= 1.0) {
                return Err((
                    key.into(),
                    format!("must be above 0 and at most 1, not {value}"),
                ));
            }
        }
        if d.cluster_window.is_zero() || chrono::Duration::from_std(d.cluster_window).is_err() {
            return Err((
                "dedup.cluster_window".into(),
                "must be a positive duration like 7d".into(),
            ));
        }
        Ok(())
    }

    pub(super) fn validate_topic(&self) -> Result<(), (String, String)> {
        let t = &self.topic;
        for (i, group) in t.required.iter().enumerate() {
            if group.is_empty() || group.iter().any(|s| s.trim().is_empty()) {
                return Err((
                    format!("topic.required[{i}]"),
                    "a group needs at least one non-empty term".into(),
                ));
            }
        }
        for (term, w) in &t.weighted {
            if term.trim().is_empty() {
                return Err(("topic.weighted".into(), "empty term".into()));
            }
            if !w.is_finite() {
                return Err((
                    format!("topic.weighted.{term}"),
                    "weight must be a finite number".into(),
                ));
            }
        }
        if !t.threshold.is_finite() || t.threshold < 0.0 {
            return Err((
                "topic.threshold".into(),
                "must be a finite number >= 0".into(),
            ));
        }
        Ok(())
    }
}

/// Checks a cron expression with the scheduler's own parser; gives the parser's reason on failure.
/// A five-field expression gets a hint (this scheduler wants seconds first), and one that
/// parses but never fires (`0 0 0 30 2 *`) is refused rather than leaving the daemon idle.
pub(super) fn validate_cron(expr: &str) -> Result<(), String> {
    if expr.split_whitespace().count() == 5 {
        return Err(format!(
            "invalid cron expression '{expr}': six fields are needed, seconds first \
             (for example '0 {expr}')"
        ));
    }
    tokio_cron_scheduler::Job::new_async(expr, |_, _| Box::pin(async {}))
        .map_err(|e| format!("invalid cron expression '{expr}': {e}"))?;
    let parsed = croner::parser::CronParser::builder()
        .seconds(croner::parser::Seconds::Required)
        .dom_and_dow(true)
        .build()
        .parse(expr);
    // Only what the scheduler's own parser accepted is asked; anything else it accepts is kept.
    if let Ok(cron) = parsed {
        if cron.find_next_occurrence(&Utc::now(), false).is_err() {
            return Err(format!(
                "cron expression '{expr}' never fires (no matching date)"
            ));
        }
    }
    Ok(())
}
