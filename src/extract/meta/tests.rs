use super::*;

fn at(html: &str, url: Option<&str>) -> Meta {
    let doc = Html::parse_document(html);
    let url = url.map(|u| Url::parse(u).expect("test url"));
    let now = Utc
        .with_ymd_and_hms(2026, 12, 1, 12, 0, 0)
        .single()
        .expect("now");
    read_at(&doc, url.as_ref(), now)
}

fn day(m: &Meta) -> Option<String> {
    m.published_at.map(|d| d.to_rfc3339())
}

#[test]
fn reads_meta_json_ld_and_canonical() {
    let html = r#"<html><head><title>Deal reshaped | Example News</title>
        <meta property="og:site_name" content="Example News">
        <link rel="canonical" href="/2026/deal">
        <script type="application/ld+json">{"@graph":[{"@type":"NewsArticle",
          "headline":"Deal reshaped","datePublished":"2026-01-02T03:04:05+01:00",
          "author":[{"@type":"Person","name":"Ann Lee"},{"name":"Bo Chen"}]}]}</script>
        </head><body><h1>Deal reshaped</h1></body></html>"#;
    let m = at(html, Some("https://example.com/x?y=1"));
    assert_eq!(m.title.as_deref(), Some("Deal reshaped"));
    assert_eq!(m.authors, ["Ann Lee", "Bo Chen"]);
    assert_eq!(day(&m), Some("2026-01-02T02:04:05+00:00".into()));
    assert_eq!(m.site_name.as_deref(), Some("Example News"));
    assert_eq!(
        m.canonical_url.as_deref(),
        Some("https://example.com/2026/deal")
    );
}

#[test]
fn json_ld_author_by_id_reference_and_modified_date() {
    // Yoast-style graph: the article names its author by @id.
    let html = r##"<html lang="fr_FR"><head><script type="application/ld+json">{"@context":"https://schema.org",
        "@graph":[{"@type":"WebSite","@id":"#site","name":"Le Site"},
        {"@type":"Person","@id":"#p1","name":"Chloé Martin"},
        {"@type":"BlogPosting","headline":"Un titre","author":{"@id":"#p1"},
         "datePublished":"2025-04-30T07:19:58+02:00","dateModified":"2025-05-01T08:00:00+02:00"}]}
        </script><title>Un titre</title></head><body></body></html>"##;
    let m = at(html, None);
    assert_eq!(m.authors, ["Chloé Martin"]);
    assert_eq!(m.site_name.as_deref(), Some("Le Site"));
    assert_eq!(m.language.as_deref(), Some("fr-FR"));
    assert_eq!(day(&m), Some("2025-04-30T05:19:58+00:00".into()));
    assert_eq!(
        m.updated_at.map(|d| d.to_rfc3339()),
        Some("2025-05-01T06:00:00+00:00".into())
    );
}

#[test]
fn meta_sources_dublin_core_parsely_and_sailthru() {
    let dc = r#"<html><head><title>Title Element</title>
        <meta property="x:title dc:title" content="Preferred title">
        <meta name="og:title" content="Other">
        <meta name="DC.creator" content="Kooman, F.">
        <meta name="DC.creator" content="Jong, Michiel de">
        <meta name="author" content="FAIL">
        <meta name="DC.date.issued" content="2014-12-15">
        </head><body><h1>Lorem</h1></body></html>"#;
    let m = at(dc, None);
    assert_eq!(m.title.as_deref(), Some("Preferred title"));
    assert_eq!(m.authors, ["Kooman, F.", "Jong, Michiel de"]);
    assert_eq!(day(&m), Some("2014-12-15T00:00:00+00:00".into()));

    let parsely = r#"<html><head><meta name="parsely-title" content="Some Other Title">
        <meta name="parsely-pub-date" content="2024-04-20T04:20:00.000Z">
        <meta name="parsely-author" content="Jane Doe"></head><body><h1>Test</h1></body></html>"#;
    let m = at(parsely, None);
    assert_eq!(m.title.as_deref(), Some("Some Other Title"));
    assert_eq!(m.authors, ["Jane Doe"]);
    assert_eq!(day(&m), Some("2024-04-20T04:20:00+00:00".into()));

    let sailthru = r#"<html><head><meta name="sailthru.author" content="By Kim Alvarez and Lee Chen">
        <meta name="sailthru.date" content="2026-11-02 09:30:00">
        <meta property="article:author" content="https://facebook.com/someone">
        <meta property="og:locale" content="en_GB"></head><body></body></html>"#;
    let m = at(sailthru, None);
    assert_eq!(m.authors, ["Kim Alvarez", "Lee Chen"]);
    assert_eq!(day(&m), Some("2026-11-02T09:30:00+00:00".into()));
    assert_eq!(m.language.as_deref(), Some("en-GB"));
}

#[test]
fn microdata_rel_author_and_time() {
    let micro = r#"<html><head><title>A story about things</title></head><body><article><h1>A story about things</h1>
        <p class="byline" itemprop="author creator" itemscope itemtype="http://schema.org/Person">
        <span itemprop="name">Dan Goodin</span> - <time datetime="2015-04-16T20:02:01+00:00">Apr 16, 2015</time></p>
        </article></body></html>"#;
    let m = at(micro, None);
    assert_eq!(m.authors, ["Dan Goodin"]);
    assert_eq!(day(&m), Some("2015-04-16T20:02:01+00:00".into()));

    let rel = r#"<html><body><h1>Headline of the day</h1>
        <div>Posted by <a rel="author" href="/u/m">Mike Conley</a></div>
        <p>Text.</p><div class="comments"><a rel="author" href="/u/x">Someone Else</a>
        <time datetime="2026-01-01">x</time></div></body></html>"#;
    let m = at(rel, None);
    assert_eq!(m.authors, ["Mike Conley"]);
    assert_eq!(
        m.published_at, None,
        "a comment's time is not the article's"
    );
}

#[test]
fn byline_elements_near_the_headline_are_cleaned() {
    let html = r#"<html><body><aside><span class="byline">Sidebar Person</span></aside>
        <h1>The headline here</h1>
        <div class="article__author">By Brenda Goodman, MA WebMD Health News</div>
        <div class="post-date">Updated March 25, 2015 at 3:46 PM</div>
        </body></html>"#;
    let m = at(html, None);
    assert_eq!(m.authors, ["Brenda Goodman"]);
    assert_eq!(day(&m), Some("2015-03-25T00:00:00+00:00".into()));
    for (raw, want) in [
        ("Par Sébastien Farcis", vec!["Sébastien Farcis"]),
        ("by Lucas Nolan 22 Dec 2016 651", vec!["Lucas Nolan"]),
        (
            "Steven Musil January 18, 2017 11:00 PM PST",
            vec!["Steven Musil"],
        ),
        (
            "Written by Rob Ewaschuk Edited by Betsy Beyer",
            vec!["Rob Ewaschuk"],
        ),
        (
            "Stella Kim, Jennifer Jett",
            vec!["Stella Kim", "Jennifer Jett"],
        ),
        (
            "By ANN LEE and BO CHEN | Reuters",
            vec!["ANN LEE", "BO CHEN"],
        ),
        ("Follow Author", vec![]),
        ("Last Updated: January 7, 2025", vec![]),
    ] {
        assert_eq!(clean_byline(raw), want, "{raw}");
    }
}

#[test]
fn dates_are_bounded_and_taken_from_the_url_last() {
    // Later than the fetch time, or before 1995: refused, the next source is read.
    let html = r#"<html><head><meta property="article:published_time" content="2031-01-01T00:00:00Z">
        <meta name="date" content="1970-01-01"></head><body><h1>x</h1></body></html>"#;
    let m = at(html, Some("https://n.example/2024/06/25/story"));
    assert_eq!(day(&m), Some("2024-06-25T00:00:00+00:00".into()));
    let m = at(html, Some("https://n.example/story"));
    assert_eq!(m.published_at, None);
    // Zone offsets without a colon, compact stamps.
    assert_eq!(
        parse_date("2021-11-01T10:52:50+0100").map(|d| d.to_rfc3339()),
        Some("2021-11-01T09:52:50+00:00".into())
    );
    assert_eq!(
        parse_date("20190806").map(|d| d.to_rfc3339()),
        Some("2019-08-06T00:00:00+00:00".into())
    );
    assert_eq!(
        parse_date("30 avril 2015 à 07:19").map(|d| d.to_rfc3339()),
        Some("2015-04-30T00:00:00+00:00".into())
    );
}

#[test]
fn headline_agrees_with_the_document_title() {
    // JSON-LD headline that is a description: the name agreeing with <title> wins.
    let html = r#"<html><head><title>List of films featuring time loops - Wikipedia</title>
        <script type="application/ld+json">{"@type":"Article","name":"List of films featuring time loops",
        "headline":"Wikimedia list article"}</script></head><body><h1>List of films featuring time loops</h1></body></html>"#;
    assert_eq!(
        at(html, None).title.as_deref(),
        Some("List of films featuring time loops")
    );
    // An h1 that is a logo does not beat the document title.
    let html = r#"<html><head><title>Get your code covered | Code | Nicolas P</title></head>
        <body><h1>Hi, I'm Nicolas.</h1></body></html>"#;
    let t = at(html, None).title.unwrap_or_default();
    assert!(t.starts_with("Get your code covered"), "{t}");
    // <title> with the site name, h1 with the headline.
    let html = r#"<html><head><title>Big merger talks collapse - The Daily Site</title>
        <meta name="author" content="By Jo Smith"></head><body><h1>Big merger talks collapse</h1></body></html>"#;
    let m = at(html, None);
    assert_eq!(m.title.as_deref(), Some("Big merger talks collapse"));
    assert_eq!(m.authors, ["Jo Smith"]);
}

#[test]
fn summary_from_json_ld_then_meta_description_bounded() {
    let ld = r#"<html><head><meta property="og:description" content="From og.">
        <script type="application/ld+json">{"@type":"NewsArticle","headline":"H",
        "description":"From   JSON-LD."}</script></head><body></body></html>"#;
    assert_eq!(at(ld, None).summary.as_deref(), Some("From JSON-LD."));
    let og = r#"<html><head><meta name="description" content="Plain.">
        <meta property="og:description" content="From og."></head><body></body></html>"#;
    assert_eq!(at(og, None).summary.as_deref(), Some("From og."));
    let plain = r#"<html><head><meta name="description" content="Plain."></head></html>"#;
    assert_eq!(at(plain, None).summary.as_deref(), Some("Plain."));
    assert_eq!(at("<html><head></head></html>", None).summary, None);
    // A page stating a whole article as its description: cut on a word, marked as cut.
    let long = format!(
        r#"<html><head><meta name="description" content="{}"></head></html>"#,
        "word ".repeat(400)
    );
    let summary = at(&long, None).summary.unwrap_or_default();
    assert!(
        summary.chars().count() <= SUMMARY_MAX_CHARS + 1,
        "{summary}"
    );
    assert!(summary.ends_with("word…"), "{summary}");
}
