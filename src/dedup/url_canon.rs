//! Level 1 of dedup: the canonical form of an article URL.
//!
//! Two links to one article should compare equal before anything is fetched, so the rules here
//! remove what varies between links to the same page (tracking parameters, AMP and mobile
//! variants, case, default ports, fragments) and keep what identifies it.

use url::Url;

/// Query parameters that only track where a reader came from. Matched case-insensitively;
/// entries ending in `*` are prefixes.
const TRACKING_PARAMS: &[&str] = &[
    "utm_*",
    "fbclid",
    "gclid",
    "gclsrc",
    "dclid",
    "msclkid",
    "yclid",
    "twclid",
    "ttclid",
    "igshid",
    "mc_cid",
    "mc_eid",
    "mkt_tok",
    "_hsenc",
    "_hsmi",
    "__hstc",
    "__hssc",
    "__hsfp",
    "hsctatracking",
    "oly_anon_id",
    "oly_enc_id",
    "vero_id",
    "wickedid",
    "ref",
    "ref_src",
    "ref_url",
    "referrer",
    "source",
    "src",
    "cmpid",
    "cmp",
    "ocid",
    "icid",
    "ncid",
    "sr_share",
    "share",
    "smid",
    "spm",
    "s_cid",
    "cid",
    "soc_src",
    "soc_trk",
    "rss",
    "feed",
    "via",
    "amp",
    "outputtype",
    "output",
    "guccounter",
    "guce_referrer",
    "guce_referrer_sig",
    "_ga",
    "_gl",
    "mbid",
    "sh",
    "at_medium",
    "at_campaign",
    "at_custom*",
    "ito",
];

/// Host prefixes that name a mobile or AMP mirror of the same site.
const MIRROR_HOST_PREFIXES: &[&str] = &["www.", "m.", "mobile.", "amp."];

/// Path segments that mark the AMP rendering of an article (`/story/amp`, `/amp/story`).
const AMP_SEGMENTS: &[&str] = &["amp", "amp.html"];

/// Is this query parameter only tracking? (Case-insensitive; see [`TRACKING_PARAMS`].)
pub fn is_tracking_param(name: &str) -> bool {
    let name = name.to_ascii_lowercase();
    TRACKING_PARAMS
        .iter()
        .any(|rule| match rule.strip_suffix('*') {
            Some(prefix) => name.starts_with(prefix),
            None => name == *rule,
        })
}

/// Canonical form of an article URL: tracking parameters, fragments, default ports, AMP and
/// mobile variants and other noise removed, so two links to one article compare equal.
///
/// `http` and `https` fold to `https` and `www.`/`m.`/`amp.` hosts to the bare host: a site that
/// serves different articles on those is rarer than one that links both ways. Remaining query
/// parameters are kept (they can select the article) and sorted.
pub fn canonical_url(url: &Url) -> String {
    if !matches!(url.scheme(), "http" | "https") {
        return url.as_str().to_string();
    }
    let mut host = url.host_str().unwrap_or_default().to_ascii_lowercase();
    host = host.trim_end_matches('.').to_string();
    for prefix in MIRROR_HOST_PREFIXES {
        if let Some(rest) = host.strip_prefix(prefix) {
            if rest.contains('.') {
                host = rest.to_string();
                break;
            }
        }
    }
    let port = match url.port() {
        Some(443) | Some(80) | None => String::new(),
        Some(p) => format!(":{p}"),
    };

    let segments: Vec<&str> = url
        .path_segments()
        .map(|s| s.filter(|seg| !seg.is_empty()).collect())
        .unwrap_or_default();
    let mut kept: Vec<&str> = segments
        .iter()
        .copied()
        .filter(|seg| !AMP_SEGMENTS.contains(&seg.to_ascii_lowercase().as_str()))
        .collect();
    if let Some(last) = kept.last() {
        let lower = last.to_ascii_lowercase();
        if lower == "index.html" || lower == "index.htm" || lower == "index.php" {
            kept.pop();
        }
    }
    let mut path = String::new();
    for seg in &kept {
        path.push('/');
        path.push_str(seg);
    }
    if path.is_empty() {
        path.push('/');
    }
    // `.amp.html` is another common AMP spelling.
    if let Some(stem) = path.strip_suffix(".amp.html") {
        path = format!("{stem}.html");
    }

    let mut query: Vec<(String, String)> = url
        .query_pairs()
        .filter(|(k, _)| !is_tracking_param(k))
        .map(|(k, v)| (k.into_owned(), v.into_owned()))
        .collect();
    query.sort();
    let mut out = format!("https://{host}{port}{path}");
    if !query.is_empty() {
        let mut ser = url::form_urlencoded::Serializer::new(String::new());
        for (k, v) in &query {
            ser.append_pair(k, v);
        }
        out.push('?');
        out.push_str(&ser.finish());
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn canon(s: &str) -> String {
        canonical_url(&Url::parse(s).expect("test url"))
    }

    #[test]
    fn links_to_one_article_compare_equal() {
        let base = canon("https://news.example/2026/11/story");
        for variant in [
            "https://news.example/2026/11/story/",
            "HTTP://NEWS.EXAMPLE:80/2026/11/story",
            "https://www.news.example/2026/11/story?utm_source=rss&utm_medium=feed",
            "https://news.example/2026/11/story#comments",
            "https://news.example/2026/11/story?fbclid=abc&gclid=1&mc_cid=x&mc_eid=y&ref=hn",
            "https://m.news.example/2026/11/story",
            "https://news.example/2026/11/story/amp/",
            "https://amp.news.example/2026/11/story?amp=1",
            "https://news.example/amp/2026/11/story",
            "https://news.example/2026/11/story?source=twitter&UTM_Campaign=a",
        ] {
            assert_eq!(canon(variant), base, "{variant}");
        }
    }

    #[test]
    fn identifying_parts_are_kept() {
        assert_ne!(
            canon("https://a.example/p?id=1"),
            canon("https://a.example/p?id=2")
        );
        assert_ne!(canon("https://a.example/x"), canon("https://b.example/x"));
        assert_ne!(
            canon("https://a.example:8080/x"),
            canon("https://a.example/x")
        );
        assert_eq!(
            canon("https://a.example/p?b=2&a=1"),
            canon("https://a.example/p?a=1&b=2")
        );
        assert_eq!(
            canon("https://a.example/story.amp.html"),
            canon("https://a.example/story.html")
        );
        // A host that is only "www." plus a TLD keeps its prefix.
        assert_eq!(canon("https://m.io/x"), "https://m.io/x");
    }

    #[test]
    fn tracking_params_match_by_prefix_and_case() {
        assert!(is_tracking_param("utm_content"));
        assert!(is_tracking_param("UTM_TERM"));
        assert!(is_tracking_param("fbclid"));
        assert!(!is_tracking_param("id"));
        assert!(!is_tracking_param("page"));
    }
}
