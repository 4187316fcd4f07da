//! Running the real `newsdesk` binary from a test.
//!
//! Cargo names the binary (`CARGO_BIN_EXE_newsdesk`) only while compiling an integration test or
//! bench, so the [`newsdesk!`](crate::newsdesk) and [`newsdesk_async!`](crate::newsdesk_async)
//! macros read it there and hand it to the functions below.

use std::path::Path;
use std::process::Output;

/// Runs `bin` on `config` (no inherited config path or systemd socket; warnings only on stderr)
/// and waits for it.
pub fn run(bin: &Path, config: &Path, args: &[&str]) -> Output {
    std::process::Command::new(bin)
        .arg("--config")
        .arg(config)
        .args(args)
        .env_remove("NEWSDESK_CONFIG")
        .env_remove("NOTIFY_SOCKET")
        .env("RUST_LOG", "warn")
        .output()
        .expect("run newsdesk")
}

/// [`run`] off the async runtime's threads, so a fixture site on the same runtime serves it.
pub async fn run_async(bin: &Path, config: &Path, args: &[&str]) -> Output {
    let bin = bin.to_path_buf();
    let config = config.to_path_buf();
    let args: Vec<String> = args.iter().map(|s| s.to_string()).collect();
    tokio::task::spawn_blocking(move || {
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        run(&bin, &config, &args)
    })
    .await
    .expect("join")
}

/// `newsdesk!(config, args)`: [`run`] on the calling test target's `newsdesk` binary.
#[macro_export]
macro_rules! newsdesk {
    ($config:expr, $args:expr $(,)?) => {
        $crate::cli::run(
            ::std::path::Path::new(env!("CARGO_BIN_EXE_newsdesk")),
            $config,
            $args,
        )
    };
}

/// `newsdesk_async!(config, args).await`: [`run_async`] on the calling test target's binary.
#[macro_export]
macro_rules! newsdesk_async {
    ($config:expr, $args:expr $(,)?) => {
        $crate::cli::run_async(
            ::std::path::Path::new(env!("CARGO_BIN_EXE_newsdesk")),
            $config,
            $args,
        )
    };
}
