use super::*;

fn parse(text: &str) -> Result<Config, ConfigError> {
    Config::parse(text, Path::new("test.toml"))
}

#[test]
fn empty_config_gets_defaults() {
    let c = parse("").expect("empty config is valid");
    assert_eq!(c.storage.url, "sqlite://data/newsdesk.db");
    assert_eq!(c.schedule.cron, "0 */15 * * * *");
    assert!(!c.http.allow_private_networks);
    assert_eq!(c.topic.required.len(), 2);
}

#[test]
fn unknown_key_names_file_and_key() {
    let e = parse("[http]\nallow_private = true\n").unwrap_err();
    assert_eq!(e.file, Path::new("test.toml"));
    assert_eq!(e.key, "http.allow_private");
    assert!(e.reason.contains("unknown field"), "{}", e.reason);
}

#[test]
fn absurd_durations_refused_with_their_key() {
    for (text, key) in [
        (
            "[[sources]]\nname = \"a\"\nkind = \"feed\"\nurl = \"https://e.example/f\"\n\
             interval = \"99999999999d\"\n",
            "sources[0].interval",
        ),
        (
            "[schedule]\nmax_interval = \"5000d\"\n",
            "schedule.max_interval",
        ),
        ("[schedule]\nlease = \"0s\"\n", "schedule.lease"),
        ("[http]\ntotal_timeout = \"400d\"\n", "http.total_timeout"),
        (
            "[storage]\nevent_retention = \"50000y\"\n",
            "storage.event_retention",
        ),
    ] {
        let e = parse(text).unwrap_err();
        assert_eq!(e.key, key, "{text}: {e}");
    }
    let ok = "[schedule]\nmin_interval = \"1d\"\nmax_interval = \"30d\"\n";
    assert!(parse(ok).is_ok());
}

#[test]
fn config_gaps_refused_with_a_reason() {
    let e = parse("[storage]\nurl = \"sqlite://\"\n").unwrap_err();
    assert_eq!(e.key, "storage.url");
    assert!(e.reason.contains("names no database file"), "{e}");
    let e = parse("[schedule]\ncron = \"0 0 0 30 2 *\"\n").unwrap_err();
    assert_eq!(e.key, "schedule.cron");
    assert!(e.reason.contains("never fires"), "{e}");
    let e = parse("[schedule]\ncron = \"*/15 * * * *\"\n").unwrap_err();
    assert!(e.reason.contains("six fields"), "{e}");
    let e = parse(
        "[[sources]]\nname = \"a\"\nkind = \"feed\"\nurl = \"https://e.example/f\"\n\
         body_selector = \"div[\"\n",
    )
    .unwrap_err();
    assert_eq!(e.key, "sources[0].body_selector");
    assert!(!e.reason.contains("report this to the developer"), "{e}");
    let dir = std::env::temp_dir().join(format!("newsdesk-empty-{}", std::process::id()));
    std::fs::write(&dir, "# nothing here\n\n").unwrap();
    let e = Config::load(&dir).unwrap_err();
    let _ = std::fs::remove_file(&dir);
    assert!(e.reason.contains("empty"), "{e}");
}

#[test]
fn bad_cron_refused() {
    let e = parse("[schedule]\ncron = \"every day\"\n").unwrap_err();
    assert_eq!(e.key, "schedule.cron");
}

#[test]
fn duplicate_source_name_refused() {
    let e = parse(
        r#"
[[sources]]
name = "a"
kind = "feed"
url = "https://example.com/feed"
[[sources]]
name = "a"
kind = "feed"
url = "https://example.com/feed2"
"#,
    )
    .unwrap_err();
    assert_eq!(e.key, "sources[1].name");
    assert!(e.reason.contains("duplicate"));
}

#[test]
fn invalid_selector_refused() {
    let e = parse(
        r#"
[[sources]]
name = "a"
kind = "page"
url = "https://example.com/"
link_selector = "a[[["
"#,
    )
    .unwrap_err();
    assert_eq!(e.key, "sources[0].link_selector");
}

#[test]
fn page_without_selector_refused() {
    let e = parse("[[sources]]\nname = \"a\"\nkind = \"page\"\nurl = \"https://example.com/\"\n")
        .unwrap_err();
    assert_eq!(e.key, "sources[0].link_selector");
}

#[test]
fn bad_kind_names_the_source_entry() {
    let e =
        parse("[[sources]]\nname = \"a\"\nkind = \"podcast\"\nurl = \"https://example.com/\"\n")
            .unwrap_err();
    assert_eq!(e.key, "sources[0].kind");
}

#[test]
fn tcp_admin_needs_a_token() {
    let e = parse("[admin]\nlisten = \"127.0.0.1:8787\"\n").unwrap_err();
    assert_eq!(e.key, "admin.token");
    assert!(e.reason.contains("required"), "{}", e.reason);
    parse("[admin]\nlisten = \"127.0.0.1:8787\"\ntoken = \"0123456789abcdef\"\n")
        .expect("TCP with a token is fine");
    parse("[admin]\nlisten = \"unix:/run/newsdesk/admin.sock\"\n")
        .expect("a Unix socket needs no token");
    let e =
        parse("[admin]\nlisten = \"0.0.0.0:8787\"\ntoken = \"0123456789abcdef\"\n").unwrap_err();
    assert_eq!(e.key, "admin.listen");
}

#[test]
fn retry_and_health_keys() {
    let c = parse("").expect("defaults");
    assert_eq!(c.schedule.item_retry_delays.len(), 3);
    assert_eq!(c.health_max_age(), Duration::from_secs(12 * 3600));
    let c = parse(
        "[schedule]\nitem_retry_delays = [\"1s\", \"2m\"]\nitem_retry_max_age = \"1h\"\n\
         [admin]\nhealth_max_age = \"90s\"\n",
    )
    .expect("set");
    assert_eq!(
        c.schedule.item_retry_delays,
        [Duration::from_secs(1), Duration::from_secs(120)]
    );
    assert_eq!(c.health_max_age(), Duration::from_secs(90));
    let e = parse("[schedule]\nitem_retry_delays = [\"0s\"]\n").unwrap_err();
    assert_eq!(e.key, "schedule.item_retry_delays");
    let e = parse("[schedule]\nitem_retry_delays = [\"soon\"]\n").unwrap_err();
    assert_eq!(e.key, "schedule.item_retry_delays");
    let e = parse("[admin]\nhealth_max_age = \"0s\"\n").unwrap_err();
    assert_eq!(e.key, "admin.health_max_age");
}

#[test]
fn socket_access_keys() {
    let c = parse("[admin]\nlisten = \"unix:/run/n.sock\"\nsocket_group = \"newsdesk\"\n")
        .expect("valid");
    assert_eq!(c.admin.socket_mode(), 0o660, "a group gets rw by default");
    assert_eq!(parse("").expect("valid").admin.socket_mode(), 0o600);
    let c = parse("[admin]\nsocket_mode = \"0640\"\n").expect("valid");
    assert_eq!(c.admin.socket_mode(), 0o640);
    for (mode, reason) in [
        ("0666", "any local user"),
        ("rw-rw----", "octal"),
        ("1777", "octal"),
    ] {
        let e = parse(&format!("[admin]\nsocket_mode = \"{mode}\"\n")).unwrap_err();
        assert_eq!(e.key, "admin.socket_mode");
        assert!(e.reason.contains(reason), "{mode}: {}", e.reason);
    }
}

#[test]
fn secrets_come_from_files() {
    let dir = tempfile::tempdir().expect("tempdir");
    std::fs::write(dir.path().join("token"), "0123456789abcdef0123\n").expect("write");
    std::fs::write(dir.path().join("pw"), "s3cr:t/pass\n").expect("write");
    // ${VAR} is expanded from the environment (cargo sets CARGO_MANIFEST_DIR for tests).
    let rel = dir
        .path()
        .strip_prefix(env!("CARGO_MANIFEST_DIR"))
        .map(|r| format!("${{CARGO_MANIFEST_DIR}}/{}", r.display()))
        .unwrap_or_else(|_| dir.path().display().to_string());
    let text = format!(
        "[storage]\nurl = \"postgres://nd@db.example/nd\"\npassword_file = \"{}/pw\"\n\
         [admin]\nlisten = \"127.0.0.1:8089\"\ntoken_file = \"{rel}/token\"\n",
        dir.path().display()
    );
    let mut c = parse(&text).expect("a token file stands for the token");
    assert_eq!(c.admin.token, None, "secrets are read by load_secrets only");
    c.load_secrets(Path::new("test.toml")).expect("secrets");
    assert_eq!(c.admin.token.as_deref(), Some("0123456789abcdef0123"));
    let u = url::Url::parse(&c.storage.url).expect("url");
    assert_eq!(u.username(), "nd");
    assert_eq!(
        u.password().map(|p| p.to_string()),
        Some("s3cr%3At%2Fpass".to_string())
    );

    let e = parse("[admin]\ntoken = \"0123456789abcdef\"\ntoken_file = \"/x\"\n").unwrap_err();
    assert_eq!(e.key, "admin.token_file");
    let e = parse("[storage]\nurl = \"postgres://a:b@h/d\"\npassword_file = \"/x\"\n").unwrap_err();
    assert_eq!(e.key, "storage.password_file");
    let mut c = parse("[admin]\ntoken_file = \"${NEWSDESK_TEST_SURELY_UNSET}/t\"\n")
        .expect("valid until read");
    let e = c.load_secrets(Path::new("test.toml")).unwrap_err();
    assert_eq!(e.key, "admin.token_file");
    assert!(
        e.reason.contains("NEWSDESK_TEST_SURELY_UNSET"),
        "{}",
        e.reason
    );
}

#[test]
fn explicit_config_path_wins() {
    assert_eq!(
        find_config(Some(Path::new("/tmp/x.toml"))),
        Path::new("/tmp/x.toml")
    );
    let found = find_config(None);
    assert!(CONFIG_SEARCH_PATH.iter().any(|p| Path::new(p) == found));
}

#[test]
fn shipped_config_is_valid() {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join(DEFAULT_CONFIG_PATH);
    let c = Config::load(&path).expect("shipped config must load");
    assert!(c.sources.len() >= 3);
    assert!(!c.http.allow_private_networks);
}

#[test]
fn web_listen_is_an_address_with_a_token() {
    let e = parse("[web]\nlisten = \"0.0.0.0:8090\"\n").unwrap_err();
    assert_eq!(e.key, "web.listen");
    assert!(e.reason.contains("admin.token"), "{}", e.reason);
    let e = parse("[web]\nlisten = \"desk.example:80\"\n[admin]\ntoken = \"0123456789abcdef\"\n")
        .unwrap_err();
    assert_eq!(e.key, "web.listen");
    assert!(e.reason.contains("IP:PORT"), "{}", e.reason);
    parse("[web]\nlisten = \"0.0.0.0:8090\"\n[admin]\ntoken = \"0123456789abcdef\"\n")
        .expect("any address with a token");
}
