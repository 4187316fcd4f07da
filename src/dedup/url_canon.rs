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

/// The address to hand to publishing: the page's declared canonical URL (`rel=canonical` or
/// `og:url`) when it is a valid http(s) URL on the same registrable domain as the page that was
/// fetched, else the fetched URL (after redirects); tracking parameters and the fragment
/// removed, scheme, host, port, path and the other parameters kept as the site serves them.
///
/// Unlike [`canonical_url`] (the dedup key) nothing is folded: an http-only site or a `www.` host
/// with no bare-domain alias must get a link that works. A declared URL on another domain (a
/// syndication partner, a template bug) is refused, and so is one pointing at the site's front
/// page (a common template bug) — the fetched URL is the article's address then.
pub fn published_url(declared: Option<&str>, fetched: &Url) -> String {
    let declared = declared
        .map(str::trim)
        .filter(|d| !d.is_empty())
        .and_then(|d| fetched.join(d).ok())
        .filter(|u| matches!(u.scheme(), "http" | "https"))
        .filter(|u| u.path().trim_matches('/').len() > 1)
        .filter(|u| same_site(u, fetched));
    strip_tracking(declared.as_ref().unwrap_or(fetched))
}

/// Whether two URLs are on the same registrable domain (public suffix list: `www.bbc.co.uk` and
/// `news.bbc.co.uk` are, `a.github.io` and `b.github.io` are not). Hosts with no registrable
/// domain (IP addresses, `localhost`) must be equal.
pub fn same_site(a: &Url, b: &Url) -> bool {
    let (Some(ha), Some(hb)) = (a.host_str(), b.host_str()) else {
        return false;
    };
    let (ha, hb) = (
        ha.trim_end_matches('.').to_ascii_lowercase(),
        hb.trim_end_matches('.').to_ascii_lowercase(),
    );
    if ha == hb {
        return true;
    }
    let is_name = |u: &Url| matches!(u.host(), Some(url::Host::Domain(_)));
    if !is_name(a) || !is_name(b) {
        return false;
    }
    match (psl::domain_str(&ha), psl::domain_str(&hb)) {
        (Some(da), Some(db)) => da == db,
        _ => false,
    }
}

/// `url` without tracking parameters (see [`is_tracking_param`]) and fragment; everything else,
/// the order of the remaining parameters included, as it was.
pub fn strip_tracking(url: &Url) -> String {
    let mut out = url.clone();
    out.set_fragment(None);
    if url.query().is_some() {
        let kept: Vec<(String, String)> = url
            .query_pairs()
            .filter(|(k, _)| !is_tracking_param(k))
            .map(|(k, v)| (k.into_owned(), v.into_owned()))
            .collect();
        if kept.is_empty() {
            out.set_query(None);
        } else if kept.len() != url.query_pairs().count() {
            out.query_pairs_mut().clear().extend_pairs(kept);
        }
    }
    out.to_string()
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

    fn published(declared: Option<&str>, fetched: &str) -> String {
        published_url(declared, &Url::parse(fetched).expect("test url"))
    }

    #[test]
    fn published_url_keeps_scheme_and_host_as_served() {
        // An http-only site keeps http; a www. host keeps www. (the dedup key folds both).
        assert_eq!(
            published(None, "http://plain.example/2026/a.html"),
            "http://plain.example/2026/a.html"
        );
        assert_eq!(
            published(None, "https://www.site.example:8443/news/a?id=7"),
            "https://www.site.example:8443/news/a?id=7"
        );
        assert_eq!(
            canon("http://www.site.example/news/a"),
            "https://site.example/news/a"
        );
    }

    #[test]
    fn published_url_drops_tracking_only() {
        assert_eq!(
            published(
                None,
                "https://www.site.example/a?utm_source=rss&id=3&fbclid=x&b=1#comments"
            ),
            "https://www.site.example/a?id=3&b=1"
        );
        assert_eq!(
            published(None, "https://site.example/a?utm_medium=feed"),
            "https://site.example/a"
        );
    }

    #[test]
    fn declared_canonical_on_the_same_site_wins() {
        assert_eq!(
            published(
                Some("https://www.bbc.co.uk/news/tech-1?utm_campaign=x"),
                "https://m.bbc.co.uk/news/amp/tech-1?at_medium=rss"
            ),
            "https://www.bbc.co.uk/news/tech-1"
        );
        // Relative canonical resolves against the fetched page.
        assert_eq!(
            published(Some("/2026/story"), "http://plain.example/p?id=9"),
            "http://plain.example/2026/story"
        );
    }

    #[test]
    fn declared_canonical_elsewhere_is_refused() {
        for bad in [
            "https://partner.example/2026/story",
            "https://evil.github.io/story",
            "ftp://site.example/story",
            "https://site.example/",
            "javascript:alert(1)",
        ] {
            let fetched = if bad.contains("github") {
                "https://good.github.io/story?utm_source=x"
            } else {
                "https://www.site.example/2026/story?utm_source=x"
            };
            assert_eq!(
                published(Some(bad), fetched),
                fetched.replace("?utm_source=x", ""),
                "{bad}"
            );
        }
        // Loopback and IP hosts have no registrable domain: only the same host counts.
        assert_eq!(
            published(Some("http://127.0.0.2/x/y"), "http://127.0.0.1:9/a/b"),
            "http://127.0.0.1:9/a/b"
        );
    }
}
