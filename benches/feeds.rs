//! Feed robustness and throughput over the whole bench corpus (`../shared/bench/feeds/`).
//!
//! `cargo bench --bench feeds` prints, per folder of feedparser's test corpus, how many files
//! parse, error or panic and how many title/link/id/encoding expectations are met; the encoding
//! and malformed probes against feedparser's reference; and parse throughput on the 5,000-item
//! synthetic feeds. `cargo test --all-targets` also runs this binary: without `--bench` in argv it
//! returns at once. `--verbose` lists every file that is not right; `--no-synthetic` skips the
//! throughput part.

use std::io::Read;
use std::time::Instant;
use testkit::feed_corpus;

use feed_corpus::Parse;

/// newsdesk's feed parsing, as the corpus runner takes it.
const API: feed_corpus::FeedApi = feed_corpus::FeedApi {
    parse: |body, content_type, base| {
        newsdesk::source::parse_feed_model(body, content_type, base).map_err(|e| e.to_string())
    },
    pick_link: newsdesk::source::pick_link,
    plain_text: newsdesk::source::plain_text,
};

fn main() {
    let args: Vec<String> = std::env::args().collect();
    if !args.iter().any(|a| a == "--bench") {
        return;
    }
    let verbose = args.iter().any(|a| a == "--verbose");

    // 1. feedparser's corpus, every file.
    let exps = feed_corpus::load_expectations();
    let started = Instant::now();
    let results: Vec<_> = exps
        .iter()
        .map(|e| feed_corpus::run_file(&API, e))
        .collect();
    let wall = started.elapsed();
    let figs = feed_corpus::figures(&results);
    println!(
        "== feedparser-tests: {} files in {:.2}s",
        results.len(),
        wall.as_secs_f64()
    );
    print!("{}", feed_corpus::figures_table(&figs));
    let panics: Vec<_> = results.iter().filter(|r| r.parse == Parse::Panic).collect();
    println!("panics: {}", panics.len());
    for r in &panics {
        println!("  PANIC {}", r.file);
    }
    for r in results.iter().filter(|r| !r.right()) {
        if verbose || r.folder != "wellformed" {
            match &r.parse {
                Parse::Ok => println!("  wrong {}: {}", r.file, r.failures.join("; ")),
                Parse::Error(e) => println!("  error {}: {e}", r.file),
                Parse::Panic => {}
            }
        }
    }
    if !verbose {
        let wrong: Vec<_> = results
            .iter()
            .filter(|r| r.folder == "wellformed" && !r.right())
            .collect();
        println!(
            "wellformed not right: {} (list with --verbose)",
            wrong.len()
        );
        for r in wrong.iter().take(30) {
            match &r.parse {
                Parse::Ok => println!("  wrong {}: {}", r.file, r.failures.join("; ")),
                Parse::Error(e) => println!("  error {}: {e}", r.file),
                Parse::Panic => println!("  panic {}", r.file),
            }
        }
    }

    // 2. Encoding probes, with and without the HTTP charset.
    for with_header in [true, false] {
        let probes = feed_corpus::run_encoding_probes(&API, with_header);
        let correct = probes.iter().filter(|p| p.verdict == "correct").count();
        println!(
            "== probes/encoding ({}): {correct}/{} correct, {} panics",
            if with_header {
                "served with Content-Type charset"
            } else {
                "bytes only"
            },
            probes.len(),
            probes.iter().filter(|p| p.verdict == "panic").count()
        );
        for p in probes.iter().filter(|p| p.verdict != "correct") {
            println!("  {}: {}", p.file, p.verdict);
        }
    }

    // 3. Malformed probes against feedparser's lenient reference.
    let mal = feed_corpus::run_malformed_probes(&API);
    let like = mal.iter().filter(|m| m.like_reference()).count();
    println!(
        "== probes/malformed: {like}/{} recover what feedparser recovers (entries + first title), {} panics",
        mal.len(),
        mal.iter().filter(|m| m.outcome == "panic").count()
    );
    let short = |t: &Option<String>| {
        t.as_ref().map(|t| {
            if t.chars().count() > 40 {
                format!(
                    "{}… ({} chars)",
                    t.chars().take(40).collect::<String>(),
                    t.chars().count()
                )
            } else {
                t.clone()
            }
        })
    };
    for m in &mal {
        println!(
            "  {:<48} {:<5} ours: {} entries {:?} [{}]; feedparser: {} entries {:?}",
            m.file,
            if m.like_reference() { "same" } else { "DIFF" },
            m.entries,
            short(&m.item_title),
            m.outcome,
            m.reference_entries,
            short(&m.reference_title)
        );
    }

    if args.iter().any(|a| a == "--no-synthetic") {
        return;
    }
    // 4. Throughput on the synthetic 5,000-item feeds (median of 5 parses each, wall and CPU).
    println!("== synthetic throughput (parse_feed, normalization included, median of 5)");
    let base = url::Url::parse("https://synthetic.example/feed").expect("base");
    for name in [
        "rss_5000_escaped.xml.gz",
        "rss_5000_cdata.xml.gz",
        "atom_5000.xml.gz",
    ] {
        let path = feed_corpus::bench_dir().join("synthetic").join(name);
        let mut xml = Vec::new();
        flate2::read::GzDecoder::new(std::fs::File::open(&path).expect("synthetic feed"))
            .read_to_end(&mut xml)
            .expect("gunzip");
        let mut times = Vec::new();
        let mut cpu = Vec::new();
        let mut items = 0;
        for _ in 0..5 {
            let (t, c) = (Instant::now(), thread_cpu());
            items = newsdesk::source::parse_feed(&xml, None, &base)
                .expect("synthetic feed parses")
                .len();
            times.push(t.elapsed());
            cpu.push(thread_cpu().zip(c).map(|(b, a)| b.saturating_sub(a)));
        }
        times.sort();
        cpu.sort();
        let median = times[times.len() / 2];
        let cpu_median = cpu[cpu.len() / 2];
        println!(
            "  {name:<26} {:>9} bytes {items:>5} items  wall {:>8.1} ms  cpu {}  {}",
            xml.len(),
            median.as_secs_f64() * 1000.0,
            cpu_median.map_or("n/a".into(), |d| format!(
                "{:>8.1} ms",
                d.as_secs_f64() * 1000.0
            )),
            cpu_median.map_or("n/a".into(), |d| format!(
                "{:>6.1} MB/s of CPU",
                xml.len() as f64 / 1e6 / d.as_secs_f64()
            ))
        );
    }
}

/// CPU time of this thread (Linux `schedstat`), so figures hold on a shared, loaded machine.
fn thread_cpu() -> Option<std::time::Duration> {
    let s = std::fs::read_to_string("/proc/thread-self/schedstat").ok()?;
    let ns: u64 = s.split_whitespace().next()?.parse().ok()?;
    Some(std::time::Duration::from_nanos(ns))
}
