//! Unit tests: one small page per clutter kind, each asserting the body stays and the clutter goes.

use super::*;

const BODY: &str = "<p>Microsoft and OpenAI have rewritten the terms of their partnership, the companies said on Monday, ending an exclusive arrangement that had lasted for years.</p>\
<p>Under the new deal, OpenAI can sell its models through any cloud provider, while Microsoft keeps a licence to the technology until the end of the decade.</p>\
<p>Analysts said the change reflects how much computing power the start-up now needs, far more than a single provider could reliably supply.</p>";

/// Wraps `inside` (placed within the article container, after the body) and `outside` (placed
/// beside it) into a page.
fn page(inside: &str, outside: &str) -> String {
    format!(
        "<html><head><title>Partnership rewritten | Example</title></head><body>\
         <div class=\"site\"><div class=\"main\"><article><h1>Partnership rewritten</h1>\
         <div class=\"entry\">{BODY}{inside}</div></article>{outside}</div></div></body></html>"
    )
}

fn assert_clean(inside: &str, outside: &str, clutter: &[&str]) {
    let a = extract(&page(inside, outside), None);
    assert!(
        a.text.contains("rewritten the terms"),
        "body lost: {}",
        a.text
    );
    assert!(
        a.text.contains("single provider could reliably supply"),
        "body cut: {}",
        a.text
    );
    for c in clutter {
        assert!(
            !a.text.contains(c),
            "clutter {c:?} survived in:\n{}",
            a.text
        );
        assert!(
            !a.html.contains(c),
            "clutter {c:?} survived in HTML:\n{}",
            a.html
        );
    }
}

#[test]
fn subscribe_and_newsletter_boxes() {
    assert_clean(
        "<div><h3>Discover more from Example</h3><p>Subscribe to get the latest posts sent to your email.</p></div>\
         <div><p>Sign up for our weekly newsletter and get the best stories in your inbox.</p></div>",
        "",
        &["Discover more", "Subscribe", "newsletter"],
    );
}

#[test]
fn comment_counts_and_sections() {
    assert_clean(
        "<p>Comments (0)</p><p>Be the first to comment!</p>",
        "<section id=\"comments\"><h2>3 Comments</h2><p>I think this deal is a really big mistake for both of the companies involved, honestly.</p></section>",
        &["Comments (0)", "first to comment", "big mistake"],
    );
}

#[test]
fn share_and_like_counters() {
    assert_clean(
        "<div><span>7</span> <span>0</span> <span>0</span></div><p>Share this article</p>\
         <ul><li><a href=\"/fb\">Facebook</a></li><li><a href=\"/tw\">Twitter</a></li></ul>",
        "",
        &["Share this", "Facebook", "\n7 0 0"],
    );
    let a = extract(&page("<p>7 0 0</p>", ""), None);
    assert!(!a.text.lines().any(|l| l.trim() == "7 0 0"), "{}", a.text);
}

#[test]
fn related_lists_and_read_more_promos() {
    assert_clean(
        "<p><strong>Read more:</strong> <a href=\"/x\">Why the old deal fell apart</a></p>\
         <h3>You might also like</h3><ul><li><a href=\"/a\">Another story about chips and clouds</a></li>\
         <li><a href=\"/b\">A third story about regulators</a></li></ul>",
        "<div class=\"more-from\"><h3>More from Example</h3><p>Some unrelated article teaser text that is long enough to look like prose.</p></div>",
        &["Read more", "might also like", "Another story", "More from", "unrelated article"],
    );
}

#[test]
fn cookie_banners_and_ad_labels() {
    assert_clean(
        "<p>Advertisement</p><p>Advert</p><p>Tell us what YOU think...</p>",
        "<div class=\"cookie-notice\"><p>We use cookies to improve your experience on our website and for analytics.</p></div>",
        &["Advertisement", "Advert", "cookies", "what YOU think"],
    );
}

#[test]
fn author_bios_and_duplicated_titles() {
    let a = extract(
        &page(
            "<p>Partnership rewritten</p><div class=\"author-bio\"><p>Jane Doe covers technology and the business of artificial intelligence for Example.</p></div>\
             <p>Jane Doe is a senior reporter at Example covering cloud computing.</p>",
            "",
        ),
        None,
    );
    assert!(a.text.contains("rewritten the terms"));
    assert!(!a.text.contains("Partnership rewritten"), "{}", a.text);
    assert!(!a.text.contains("Jane Doe"), "{}", a.text);
    assert_eq!(a.title.as_deref(), Some("Partnership rewritten"));
}

#[test]
fn div_soup_without_semantic_tags() {
    let html = format!(
        "<html><body><div><div><a href=\"/\">Home</a> <a href=\"/news\">News</a> <a href=\"/tech\">Tech</a></div>\
         <div><div>{BODY}</div><div><a href=\"/1\">Top story one of the day</a><br><a href=\"/2\">Top story two of the day</a></div></div>\
         <div>Copyright 2026 Example Media. All rights reserved.</div></div></body></html>"
    );
    let a = extract(&html, None);
    assert!(a.text.contains("rewritten the terms"));
    assert!(!a.text.contains("Top story"), "{}", a.text);
    assert!(!a.text.contains("Copyright"), "{}", a.text);
    assert_eq!(a.text.lines().count(), 3, "{}", a.text);
}

#[test]
fn html_is_sanitized_and_links_absolute() {
    let html = page(
        "<p onclick=\"evil()\">See <a href=\"/report.pdf\" onmouseover=\"x()\">the full report</a> for the filing details and terms.<script>alert(1)</script></p>\
         <iframe src=\"https://ads.example/\"></iframe><style>p{}</style>",
        "",
    );
    let base = Url::parse("https://news.example/2026/01/deal").unwrap();
    let a = extract(&html, Some(&base));
    for bad in [
        "onclick",
        "onmouseover",
        "<script",
        "<iframe",
        "<style",
        "alert(1)",
    ] {
        assert!(!a.html.contains(bad), "{bad} in {}", a.html);
    }
    assert!(
        a.html.contains("href=\"https://news.example/report.pdf\""),
        "{}",
        a.html
    );
    assert!(
        a.text.contains("See the full report for the filing"),
        "{}",
        a.text
    );
    assert!(!a.text.contains("https://"), "{}", a.text);
}

#[test]
fn hover_cards_inside_paragraphs() {
    let a = extract(
        &page(
            "<p>He threatened Rep. <span class=\"rollover-people\"><a href=\"/p/1\">Ilhan Omar</a>\
             <span class=\"rollover-people-block\"><a href=\"/x\">Hillicon Valley: Progressives oppose funding bill</a> \
             <a href=\"/y\">Another headline about spending</a></span></span> in a call, prosecutors said on Monday.</p>",
            "",
        ),
        None,
    );
    assert!(a.text.contains("prosecutors said"), "{}", a.text);
    assert!(!a.text.contains("Hillicon"), "{}", a.text);
}

#[test]
fn teaser_cards_beside_and_below_the_article() {
    let card = |n: u32| {
        format!(
            "<article class=\"post-{n} type-post\"><header><h5><a href=\"/s/{n}\">Teaser headline number {n} about something</a></h5>\
             <time>November {n}, 2019</time></header><div class=\"excerpt\">Teaser excerpt {n}: a long enough summary sentence of \
             another story, written to look like the opening of real prose on the page.</div></article>"
        )
    };
    let river: String = (1..=4).map(card).collect();
    assert_clean(
        "",
        &format!("<div class=\"river\">{river}</div>"),
        &["Teaser headline", "Teaser excerpt", "November 3"],
    );
}

#[test]
fn news_tickers() {
    assert_clean(
        "",
        "<div class=\"breaking-news\"><b>Breaking News</b><ul>\
         <li><a href=\"/a\">Minister resigns over budget row</a><span>LONDON: The minister said on Tuesday that she would step down after weeks of pressure.</span></li>\
         <li><a href=\"/b\">Storm closes schools across the region</a><span>DUBLIN: Schools will stay closed on Wednesday as the storm moves east over the country.</span></li></ul></div>",
        &["Breaking News", "Minister resigns", "Schools will stay closed"],
    );
}

#[test]
fn embedded_posts_stay() {
    let a = extract(
        &page(
            "<div class=\"social-media-embed\"><blockquote class=\"twitter-tweet\"><p>Yes this is real and the state spent nearly \
             half a million dollars on it</p>— Dianna (@dianna) <a href=\"/t\">November 18, 2019</a></blockquote></div>",
            "",
        ),
        None,
    );
    assert!(a.text.contains("rewritten the terms"), "{}", a.text);
    assert!(a.text.contains("half a million dollars"), "{}", a.text);
}

#[test]
fn lines_split_by_br_count_as_one_paragraph() {
    let lines: String = (1..=12)
        .map(|n| format!("Round {n}: {} March – Interlagos<br>", n + 9))
        .collect();
    let html = format!(
        "<html><body><div class=\"menu\"><a href=\"/\">Home</a> <a href=\"/c\">Calendar</a></div>\
         <div itemprop=\"articleBody\"><h3>Season calendar</h3><p>{lines}</p></div>\
         <div class=\"warn\"><p>Comments that are unreadable or disrespectful will not be approved by the moderator at all.</p></div></body></html>"
    );
    let a = extract(&html, None);
    assert!(a.text.contains("Round 1: 10 March"), "{}", a.text);
    assert!(a.text.contains("Round 12: 21 March"), "{}", a.text);
    assert_eq!(
        a.text.lines().filter(|l| l.starts_with("Round")).count(),
        12
    );
}

#[test]
fn angle_bracketed_titles_are_not_markup() {
    let a = extract(&page("<p>&lt;The Palace: Jang Noksu&gt;</p>", ""), None);
    assert!(a.text.contains("<The Palace: Jang Noksu>"), "{}", a.text);
}

#[test]
fn leaked_markup_text() {
    assert_clean(
        "<p>&lt;img height=\"1\" width=\"1\" style=\"display:none\" src=\"http://b.example/p?c1=2\"&gt;</p>\
         <p>[button link=\u{201d}http://example.com/submit/\u{201d} type=\u{201d}big\u{201d}] Send us YOUR review[/button]</p>\
         <p>http://cdn.example.com/uploads/2018/10/26e39cee-b5eb.jpeg1200676adminhttp://www.example.com/wp-content/x.jpg</p>",
        "",
        &["<img", "display:none", "[button", "Send us", "26e39cee"],
    );
}

#[test]
fn lone_datelines() {
    assert_clean(
        "<div>October 12, 2017</div><p>Wednesday November 20, 2019</p><p>23 Nov 2017</p><p>05/10/2018</p>",
        "",
        &["October 12", "November 20", "23 Nov", "05/10"],
    );
}

/// A page where the generic scorer prefers a long prose sidebar over a short article: what an
/// operator's `body_selector` is for.
fn short_article_beside_long_sidebar() -> String {
    let sidebar: String = (0..6)
        .map(|i| format!("<p>Sidebar essay paragraph {i} keeps going on about other matters entirely, at length, with full sentences and no links at all in it.</p>"))
        .collect();
    format!(
        "<html><body><div class=\"layout\"><div class=\"story-text\">\
         <p>Microsoft and OpenAI signed a new agreement on Monday, the companies said.</p>\
         <p>The deal changes how the two share revenue.</p></div>\
         <div class=\"column\">{sidebar}</div></div></body></html>"
    )
}

#[test]
fn site_body_selector_names_the_container() {
    let html = short_article_beside_long_sidebar();
    let generic = extract(&html, None);
    assert!(
        generic.text.contains("Sidebar essay"),
        "the page must fool the generic scorer for this test to mean anything: {}",
        generic.text
    );
    let rules = SiteRules::new(Some("div.story-text"), &[]).expect("valid selector");
    let a = extract_with(&html, None, &rules);
    assert!(a.text.contains("signed a new agreement"), "{}", a.text);
    assert!(a.text.contains("share revenue"), "{}", a.text);
    assert!(!a.text.contains("Sidebar essay"), "{}", a.text);
}

#[test]
fn site_body_selector_matching_nothing_falls_back_to_generic() {
    let rules = SiteRules::new(Some("div.no-such-thing"), &[]).expect("valid selector");
    let a = extract_with(&page("", ""), None, &rules);
    assert!(a.text.contains("rewritten the terms"), "{}", a.text);
}

#[test]
fn site_drop_selectors_remove_what_generic_rules_keep() {
    let promo = "<div class=\"x9f\"><p>Our reporters spent a whole year inside the datacenters that power these models, and the series starts next week.</p></div>";
    let html = page(promo, "");
    assert!(extract(&html, None).text.contains("whole year inside"));
    let rules =
        SiteRules::new(None, &["div.x9f".to_string(), "h1".to_string()]).expect("valid selectors");
    let a = extract_with(&html, None, &rules);
    assert!(!a.text.contains("whole year inside"), "{}", a.text);
    assert!(!a.html.contains("whole year inside"), "{}", a.html);
    assert!(a.text.contains("rewritten the terms"), "{}", a.text);
    assert!(a.text.contains("single provider"), "{}", a.text);
}

#[test]
fn site_rules_refuse_bad_selectors() {
    let err = SiteRules::new(Some("div[[["), &[]).expect_err("bad selector");
    assert_eq!(err.selector, "div[[[");
    assert!(SiteRules::new(None, &["p:::x".to_string()]).is_err());
    assert!(SiteRules::new(None, &[]).expect("no rules").is_empty());
}

#[test]
fn whitespace_between_inline_elements_separates_words() {
    // Whitespace-only text between elements is not kept as a node, but it still separates words.
    let inside = "<p><a href=\"/p/1\">Ada Lovelace</a>\n<span>contributed a fix for the parser that \
                  reads the configuration files of every source, long overdue.</span></p>\
                  <p><b>Phase</b> <i>two</i>\n<em>landed</em> on schedule after three weeks of review work by the team.</p>";
    let a = extract(&page(inside, ""), None);
    assert!(a.text.contains("Ada Lovelace contributed"), "{}", a.text);
    assert!(a.text.contains("Phase two landed"), "{}", a.text);
}

#[test]
fn gallery_inside_a_declared_body_is_dropped_however_long() {
    // The page marks its body with itemprop=articleBody; a photo gallery inside it holds more
    // text than the article, which must not save it from its class words.
    let caption = "<li><h2>Plant number {n}</h2><p>A long caption describing the photograph of \
                   the plant in some detail, with the place and the season it was taken in, {n}.</p></li>";
    let gallery: String = (1..=8)
        .map(|n| caption.replace("{n}", &n.to_string()))
        .collect();
    let html = format!(
        "<html><body><div class=\"main\"><h1>Partnership rewritten</h1>\
         <div itemprop=\"articleBody\">{BODY}<div class=\"full-gallery\"><div class=\"scroller\">\
         <ul class=\"legends\">{gallery}</ul></div></div></div></div></body></html>"
    );
    let a = extract(&html, None);
    assert!(
        a.text.contains("rewritten the terms"),
        "body lost: {}",
        a.text
    );
    assert!(!a.text.contains("long caption"), "gallery kept: {}", a.text);
}

#[test]
fn wide_script_paragraphs_outweigh_longer_latin_lines() {
    // Chinese carries a word per character or two: a short line of it is a sentence, not a
    // caption, and must win over a comment list of longer lines.
    let line =
        "<p><span>今年冬天第一波寒流來到山區，整片山谷的楓樹都換上了紅色與金色的新衣{n}</span></p>";
    let article: String = (1..=12)
        .map(|n| line.replace("{n}", &n.to_string()))
        .collect();
    let comment = "<li><p>訪客{n}留言：照片拍得真好看，我們去年也去過那裡，可惜遇到下雨沒有看到這麼漂亮的楓葉，明年一定要再去一次，謝謝分享這麼詳細的遊記！</p></li>";
    let comments: String = (1..=3)
        .map(|n| comment.replace("{n}", &n.to_string()))
        .collect();
    let tags: String = (1..=60)
        .map(|n| format!("<a href=\"/t/{n}\">旅遊標籤{n}</a> "))
        .collect();
    let html = format!(
        "<html><body><div id=\"article-inner\">{article}</div><p>{tags}</p>\
         <div class=\"msg-list\"><ul>{comments}</ul></div></body></html>"
    );
    let a = extract(&html, None);
    assert!(a.text.contains("第一波寒流"), "article lost: {}", a.text);
    assert!(!a.text.contains("訪客"), "comments kept: {}", a.text);
}

#[test]
fn links_inside_sentences_keep_their_words() {
    // Topic links styled with clutter-sounding classes are still words of the sentence.
    let inside = "<p>The board met in <a class=\"meta-loc\" href=\"/t/london\">London</a> on Friday and \
                  approved the sale to <a class=\"keywords\" href=\"/t/acme\">Acme</a> after a long debate.</p>";
    let a = extract(&page(inside, ""), None);
    assert!(a.text.contains("met in London on Friday"), "{}", a.text);
    assert!(a.text.contains("sale to Acme after"), "{}", a.text);
}

#[test]
fn bullet_lists_under_headings_are_not_teaser_cards() {
    // A news digest: sections of bullet points, each list with one item that is all link.
    let section = |n: u32| {
        format!(
            "<h3>Section {n}</h3><ul><li><a href=\"/r/{n}\">Here is the full report number {n}</a></li>\
             <li>The team landed change {n}, which stops the updater from running twice when two \
             windows are open at the same time.</li></ul>"
        )
    };
    let digest: String = (1..=4).map(section).collect();
    let a = extract(&page(&digest, ""), None);
    for n in 1..=4 {
        assert!(
            a.text.contains(&format!("landed change {n},")),
            "section {n} lost: {}",
            a.text
        );
    }
}

#[test]
fn paywall_and_membership_badges() {
    assert_clean(
        "<span class=\"member-badge\">Premium</span><p>Subscribers only</p><p>Members-only story</p>\
         <div class=\"paywall-label\"><span>Exclusive to members</span></div>",
        "",
        &["Premium", "Subscribers only", "Members-only", "Exclusive to members"],
    );
}

#[test]
fn listen_to_this_article_players() {
    assert_clean(
        "<div class=\"listen-bar\"><span>Listen to this article</span><span>7 min</span></div>\
         <p>Listen to this story · 5:32</p>",
        "",
        &["Listen to this", "7 min", "5:32"],
    );
}

#[test]
fn reading_time_lines() {
    assert_clean(
        "<p>Reading time: 4 minutes</p><p>Estimated reading time: 6 min</p><p>8-minute read</p><p>3 min read</p>",
        "",
        &["Reading time", "reading time", "8-minute", "3 min"],
    );
}

#[test]
fn inline_newsletter_and_podcast_promos() {
    assert_clean(
        "<div class=\"inline-signup\"><p>Get our morning briefing in your inbox every weekday.</p></div>\
         <p>Listen to our daily podcast on Apple Podcasts, Spotify or wherever you get your podcasts.</p>",
        "",
        &["morning briefing", "Apple Podcasts"],
    );
}

#[test]
fn author_follow_and_bio_boxes() {
    assert_clean(
        "<div class=\"writer-card\"><p>Follow Jane Example on X</p><p>Jane Example covers cloud computing and \
         the business of artificial intelligence from Seattle.</p></div>",
        "",
        &["Follow Jane", "covers cloud computing"],
    );
}

#[test]
fn updated_lines() {
    assert_clean(
        "<p>Updated 3:41 PM EST, Tue November 24, 2026</p><p>Last modified on Monday 9 March 2026 18.45 GMT</p>\
         <p>Dec. 6, 2024, 10:00 PM UTC / Updated Dec. 7, 2024, 12:43 PM UTC</p>",
        "",
        &["Updated", "Last modified", "12:43"],
    );
}

#[test]
fn image_credits_and_captions_apart_from_the_body() {
    assert_clean(
        "<div class=\"media\"><img src=\"/a.jpg\"><span class=\"photographer\">Jane Doe for Example</span></div>\
         <p>JANE DOE/AGENCY/Getty Images</p><p>(Photo by John Roe/Reuters)</p><p>Image: Example Press</p>",
        "",
        &["Jane Doe for", "Getty", "Photo by", "Example Press"],
    );
}

#[test]
fn advertisement_labels() {
    assert_clean(
        "<div class=\"dfp-slot\"><span>Advertisement</span></div><p>ADVERTISEMENT</p><p>Scroll to continue reading</p>\
         <p>Article continues below advertisement</p>",
        "",
        &["Advertisement", "ADVERTISEMENT", "Scroll to continue", "continues below"],
    );
}

#[test]
fn table_of_contents_boxes() {
    let toc = "<div class=\"contents-box\"><p>Contents</p><ol><li><a href=\"#deal\">The deal and what changed for both companies</a></li>\
               <li><a href=\"#cloud\">What it means for the cloud business next year</a></li>\
               <li><a href=\"#next\">What comes next for the partnership</a></li></ol></div>";
    let html = format!(
        "<html><body><article><h1>Partnership rewritten</h1>{toc}<div class=\"entry\">{BODY}</div></article></body></html>"
    );
    let a = extract(&html, None);
    assert!(a.text.contains("rewritten the terms"), "{}", a.text);
    assert!(!a.text.contains("Contents"), "{}", a.text);
    assert!(!a.text.contains("what changed for both"), "{}", a.text);
}

#[test]
fn embedded_post_chrome_goes_post_text_stays() {
    let a = extract(
        &page(
            "<blockquote class=\"twitter-tweet\"><p>The new agreement gives both of us room to grow, and we are \
             excited about it.</p>— Example Corp (@examplecorp) <a href=\"/s/1\">October 31, 2026</a></blockquote>\
             <blockquote class=\"instagram-media\"><p>View this post on Instagram</p><p>A post shared by Example (@example)</p></blockquote>",
            "",
        ),
        None,
    );
    assert!(a.text.contains("room to grow"), "{}", a.text);
    // The attribution line belongs to the quote (AEB's annotators keep it).
    assert!(a.text.contains("(@examplecorp)"), "{}", a.text);
    for chrome in ["View this post", "A post shared by"] {
        assert!(!a.text.contains(chrome), "{chrome} kept: {}", a.text);
    }
}

#[test]
fn data_tables_keep_short_numeric_and_linked_cells() {
    let row = |n: u32| {
        format!(
            "<tr><td>{n}</td><td><a href=\"/d/{n}\">Driver Number{n}</a></td><td>{}</td><td>{}</td></tr>",
            5000 - n * 37,
            n + 2
        )
    };
    let rows: String = (1..=8).map(row).collect();
    let table = format!(
        "<table><tr><th>Pos</th><th>Driver</th><th>Points</th><th>Wins</th></tr>{rows}</table>"
    );
    let a = extract(&page(&table, ""), None);
    assert!(a.text.contains("rewritten the terms"), "{}", a.text);
    assert!(
        a.text.contains("Driver Number3"),
        "linked cell lost: {}",
        a.text
    );
    assert!(a.text.contains("4889"), "numeric cell lost: {}", a.text);
}

#[test]
fn section_headings_survive_their_class_words() {
    // Book-style chapters mark headings as jump targets; the heading still heads its section.
    let section = |n: u32| {
        format!(
            "<section><h2 class=\"heading jumptargets\">Section heading {n}</h2>{BODY}{BODY}</section>"
        )
    };
    let body: String = (1..=3).map(section).collect();
    let html = format!(
        "<html><body><div class=\"book\"><h1>Partnership rewritten</h1>{body}</div></body></html>"
    );
    let a = extract(&html, None);
    assert!(a.text.contains("Section heading 2"), "{}", a.text);
}

#[test]
fn all_link_bullets_in_a_prose_list_stay() {
    let list = "<ul><li><a href=\"/r/1\">Here is our full year in review for the project</a></li>\
                <li>The updater no longer starts while another copy of the program is running, which fixes the restart error.</li>\
                <li>Logins can now be imported from two more password managers, thanks to a volunteer contributor.</li>\
                <li>Printing now supports page ranges with gaps between them, a request that is many years old.</li></ul>";
    let a = extract(&page(list, ""), None);
    assert!(a.text.contains("full year in review"), "{}", a.text);
    assert!(a.text.contains("page ranges with gaps"), "{}", a.text);
}

#[test]
fn linked_section_headings_head_their_sections() {
    // A ranked list: each entry's heading links to the film's review, the prose is the entry.
    let entry = |n: u32| {
        format!(
            "<h3>{n}) <a href=\"/reviews/{n}\"><em>The film numbered {n} in this list</em></a></h3>{BODY}{BODY}"
        )
    };
    let body: String = (1..=4).rev().map(entry).collect();
    let html = format!(
        "<html><body><article><h1>The best films of the year</h1><div class=\"entry-content\">{body}</div></article></body></html>"
    );
    let a = extract(&html, None);
    assert!(
        a.text.contains("The film numbered 3 in this list"),
        "{}",
        a.text
    );
    // A river of teasers (heading and short summary in a card each) still goes.
    let card = |n: u32| {
        format!("<div class=\"card\"><h3><a href=\"/s/{n}\">Another story headline number {n}</a></h3><p>Short summary {n}.</p></div>")
    };
    let river: String = (1..=4).map(card).collect();
    let a = extract(&page("", &format!("<div>{river}</div>")), None);
    assert!(!a.text.contains("Another story headline"), "{}", a.text);
}

#[test]
fn time_elements_beside_the_byline() {
    // The date as the page writes it, in any language: no phrase table knows "27 nov.".
    let a = extract(
        &page(
            "",
            "",
        )
        .replace(
            "<div class=\"entry\">",
            "<div class=\"entry\"><p>Par Jeanne Martin</p><p><time datetime=\"2026-11-27\">27 nov.</time></p>\
             <p><time datetime=\"2026-11-27T10:00\">vendredi 27</time> à 10 h</p>",
        ),
        None,
    );
    assert!(a.text.contains("rewritten the terms"), "{}", a.text);
    assert!(!a.text.contains("27 nov."), "{}", a.text);
    assert!(!a.text.contains("vendredi 27"), "{}", a.text);
}

#[test]
fn live_feed_timelines_beside_the_article() {
    let item = |n: u32| {
        format!(
            "<div class=\"timeline__item\"><div class=\"timeline__label\">{n} minutes ago</div>\
             <h3>City council approves {n} hundred new cooperative flats</h3>\
             <p>The council approved a memorandum on Monday under which the city will found a housing cooperative and build the flats on land it already owns in the district.</p>\
             <p>The project was approved by the assembly in December and the city has since been looking for suitable plots, councillors said at a press conference.</p></div>"
        )
    };
    let feed: String = (1..=3).map(item).collect();
    assert_clean(
        "",
        &format!("<h3>Happening now</h3><div class=\"timeline\">{feed}</div>"),
        &["minutes ago", "cooperative", "press conference"],
    );
}

#[test]
fn table_rows_are_not_judged_by_their_class_words() {
    let row = |n: u32, name: &str| {
        format!(
            "<tr class=\"oddrow player-2020-{n}\"><td class=\"sortcell\">{n}</td><td>{name}</td><td>50{n}0</td></tr>"
        )
    };
    let table = format!(
        "<p>Standings after the final race of the season:</p><table class=\"tablehead\"><tr class=\"colhead\"><td>Pos.</td><td>Driver</td><td>Points</td></tr>{}{}{}</table>",
        row(1, "Kyle Busch"),
        row(2, "Martin Truex Jr."),
        row(3, "Kevin Harvick")
    );
    let a = extract(&page(&table, ""), None);
    assert!(a.text.contains("Martin Truex Jr."), "{}", a.text);
    assert!(a.text.contains("5020"), "{}", a.text);
}

#[test]
fn links_that_are_their_section_heading_stay() {
    // Generated docs link each heading back to the table of contents; the link's class words
    // (`toc-backref`, `headerlink`) style the link, the heading is the article's.
    let section = |n: u32| {
        format!(
            "<div class=\"section\"><h2><a class=\"toc-backref\" href=\"#toc{n}\">Sharing changes number {n}</a>\
             <a class=\"headerlink\" href=\"#s{n}\">¶</a></h2>{BODY}{BODY}{BODY}{BODY}</div>"
        )
    };
    let body: String = (1..=3).map(section).collect();
    let html = format!(
        "<html><body><div class=\"document\"><h1>Shared history</h1>{body}</div></body></html>"
    );
    let a = extract(&html, None);
    assert!(a.text.contains("Sharing changes number 2"), "{}", a.text);
    assert!(a.text.contains("rewritten the terms"), "{}", a.text);
}

#[test]
fn spans_that_are_their_section_heading_stay() {
    // MediaWiki wraps each heading's words in `<span class="mw-headline">` ("headline" names
    // teaser titles elsewhere) beside an `[edit]` link: the heading judges the pair.
    let section = |n: u32| {
        format!(
            "<h2><span class=\"mw-headline\" id=\"S{n}\">Early history number {n}</span>\
             <span class=\"mw-editsection\">[<a href=\"/edit/{n}\">edit</a>]</span></h2>\
             {BODY}{BODY}"
        )
    };
    let body: String = (1..=3).map(section).collect();
    // A short subsection's heading, shorter than its `[edit]` link bracket and all.
    let short = "<h4><span class=\"mw-headline\" id=\"Rhino\">Rhino</span><span \
                 class=\"mw-editsection\">[<a href=\"/edit/4\">edit</a>]</span></h4>\
                 <p>An open source engine managed by the foundation.</p>";
    let html = format!(
        "<html><body><div id=\"mw-content-text\"><p>{}</p>{body}{short}{BODY}</div></body></html>",
        "The foundation was set up in 2003 to look after the code. ".repeat(3)
    );
    let a = extract(&html, None);
    assert!(a.text.contains("Early history number 2"), "{}", a.text);
    assert!(a.text.contains("Rhino"), "{}", a.text);
    assert!(a.text.contains("rewritten the terms"), "{}", a.text);
}

#[test]
fn lists_of_posts_are_not_the_post() {
    // "post" in a class marks the article's wrapper, but a `horizontalPostList` is a box of
    // other posts: its `widget` word decides.
    let teasers: String = ["Ashley Judd presses charges", "Libertarian island grows"]
        .iter()
        .map(|t| {
            format!(
                "<li><a href=\"/s/{}\"><span class=\"title\">{t}</span></a></li>",
                t.len()
            )
        })
        .collect();
    assert_clean(
        &format!(
            "<div class=\"horizontalPostList widget\"><h3>More Related Stories</h3><ul>{teasers}</ul></div>"
        ),
        "",
        &["More Related Stories"],
    );
}

#[test]
fn class_words_after_no_or_has_name_a_feature() {
    // `no_caption` says the item has no caption; it is not one.
    let item = "<div class=\"superlist_item image_hit no_caption\"><h2>The mother of a woman who \
                took pills bought online has described how her daughter was burning up.</h2></div>";
    let a = extract(&page(item, ""), None);
    assert!(a.text.contains("burning up"), "{}", a.text);
    assert_eq!(
        rules::class_verdict(Some("sidebar has-sidebar"), None),
        rules::ClassVerdict::Clutter
    );
    assert_eq!(
        rules::class_verdict(Some("media-with-caption__caption"), None),
        rules::ClassVerdict::Clutter
    );
}

#[test]
fn japanese_update_source_and_related_lines() {
    // Japanese news pages: "last updated", "carried by <source> at <time>", "related articles".
    assert_clean(
        "<p class=\"src\"><a href=\"/list\">CNET Japan</a> 3/9(木) 18:45配信</p>\
         <p>トレンドマイクロは、公衆無線LANを安全に使うためのアプリを発表した。</p>\
         <div class=\"ynDetail\"><div>【関連記事】</div></div><p>最終更新:3/9(木) 18:45</p>",
        "",
        &["配信", "関連記事", "最終更新"],
    );
}

#[test]
fn linked_items_of_a_sub_list_under_words_stay() {
    // A status report: "In progress:" leads into a list of linked bug titles.
    let bugs: String = (1..=4)
        .map(|n| format!("<li><a href=\"/bug/{n}\">Bug {n}00 – Picture-in-picture window number {n} misbehaves</a></li>"))
        .collect();
    let menu: String = (1..=4)
        .map(|n| format!("<li><a href=\"/tools/{n}\">Developer tool page {n} of the site</a></li>"))
        .collect();
    let html = format!(
        "<html><body><article>{BODY}<ul><li>We have the green light for another round of students \
         hacking on the feature next semester.</li><li>In progress:<ul>{bugs}</ul></li>\
         <li><a href=\"/tools\">Tools</a><ul>{menu}</ul></li></ul>{BODY}</article></body></html>"
    );
    let a = extract(&html, None);
    assert!(
        a.text.contains("Bug 300 – Picture-in-picture"),
        "{}",
        a.text
    );
    assert!(!a.text.contains("Developer tool page 3"), "{}", a.text);
}

#[test]
fn notes_ancillary_to_the_article_go() {
    // ARIA's `note` role: "Main article: …" pointers at the head of a wiki section.
    assert_clean(
        "<div role=\"note\" class=\"hatnote\">Main article: <a href=\"/wiki/Firefox\">Firefox</a></div>",
        "",
        &["Main article"],
    );
}

#[test]
fn a_header_inside_the_declared_body_opens_the_body() {
    // The page puts its summary in a `<header>` inside `itemprop=articleBody`: the body's own.
    let html = format!(
        "<html><body><article><header><h1>Partnership rewritten</h1><p>A standfirst the page \
         keeps in its masthead, outside the declared body of the article.</p></header>\
         <div itemprop=\"articleBody\"><header>Neuroscience tells us that most of the work \
         done by our brains happens on an unconscious level. New research investigates.</header>\
         {BODY}</div></article></body></html>"
    );
    let a = extract(&html, None);
    assert!(a.text.contains("New research investigates."), "{}", a.text);
    assert!(a.text.contains("rewritten the terms"), "{}", a.text);
    assert!(!a.text.contains("standfirst"), "{}", a.text);
}

#[test]
fn standfirsts_are_summaries_not_body() {
    // The dek under the headline (even in an element whose other class words say "article"),
    // and the summary lines of teasers beside the story.
    let teasers: String = (1..=3)
        .map(|n| {
            format!(
                "<div class=\"story-block\"><h4><a href=\"/s/{n}\">Other column {n}</a></h4>\
                 <p class=\"standfirst\">HOW is it that ideas number {n} capture the imagination of \
                 so many readers this week?</p></div>"
            )
        })
        .collect();
    assert_clean(
        "",
        &format!("<div class=\"group\">{teasers}</div>"),
        &["capture the imagination"],
    );
    let html = format!(
        "<html><body><article><h1>The best movies of the year</h1><h2 class=\"article--feature-dek\">\
         How to watch the greatest movies of the year, from the spring to the winter.</h2>\
         {BODY}</article></body></html>"
    );
    let a = extract(&html, None);
    assert!(a.text.contains("rewritten the terms"), "{}", a.text);
    assert!(!a.text.contains("greatest movies"), "{}", a.text);
}

#[test]
fn cells_of_a_data_table_stay_however_wrapped() {
    // Exported spreadsheets wrap each cell's text in a `<div>`; release tables hold version
    // numbers that read like dates.
    let row = |app: &str, version: &str| {
        format!(
            "<tr><td><div dir=\"ltr\"><a href=\"https://example.com/{app}\"><span>{app}</span></a></div></td>\
             <td><div dir=\"ltr\"><span>{version}</span></div></td></tr>"
        )
    };
    let table = format!(
        "<table><tr><td><div><span>Application</span></div></td><td><div><span>Release</span></div></td></tr>{}{}{}</table>",
        row("Farm Heroes", "4.2.3"),
        row("Street Maps", "4.1.6"),
        row("Mail Client", "5.0.1")
    );
    let a = extract(&page(&table, ""), None);
    assert!(a.text.contains("Street Maps"), "{}", a.text);
    assert!(a.text.contains("4.2.3"), "{}", a.text);
}

#[test]
fn formulas_are_part_of_their_sentence() {
    // MathJax output: a rendering hidden from readers of text, the MathML beside it, and a
    // context-menu class on the wrapper.
    let formula = "<mjx-container class=\"MathJax CtxtMenu_Attached_0\" jax=\"CHTML\">\
                   <mjx-math aria-hidden=\"true\"><mjx-mi><mjx-c class=\"mjx-c1D44E\"></mjx-c></mjx-mi></mjx-math>\
                   <mjx-assistive-mml display=\"inline\"><math><semantics><mrow><mi>a</mi><mo>≠</mo><mn>0</mn></mrow>\
                   <annotation encoding=\"application/x-tex\">a \\neq 0</annotation></semantics></math></mjx-assistive-mml></mjx-container>";
    let a = extract(
        &page(
            &format!("<p>When {formula}, the equation has two solutions and the analysts said the formula explains why.</p>"),
            "",
        ),
        None,
    );
    assert!(a.text.contains("When a ≠ 0, the equation"), "{}", a.text);
    assert!(!a.text.contains("neq"), "{}", a.text);
}

#[test]
fn a_page_without_prose_keeps_all_its_lines() {
    // A notice page: headings and short lines, no paragraph of prose anywhere. No element is
    // the article, so one line chosen from the rest would be no answer.
    let html = "<html><head><title>Opening hours</title></head><body><div class=\"page\">\
                <h2>Opening hours</h2><p>Monday to Friday</p><p>9 am to 5 pm</p>\
                <h2>Where to find us</h2><p>12 Harbour Street</p></div></body></html>";
    let a = extract(html, None);
    for line in [
        "Monday to Friday",
        "9 am to 5 pm",
        "Where to find us",
        "12 Harbour Street",
    ] {
        assert!(a.text.contains(line), "{line} missing: {}", a.text);
    }
}

#[test]
fn section_ids_that_spell_their_heading_are_not_widget_names() {
    // Book and docs generators give each section its heading's slug as id: "over-alerting"
    // is a title word here, not an alert box.
    let section = "<section id=\"bigtable-a-tale-of-over-alerting-x7\"><h2>Bigtable: A Tale of Over-Alerting</h2>\
                   <p>Email alerts were triggered as the objective approached, and paging alerts fired when it was exceeded, consuming the team's time.</p></section>";
    let a = extract(&page(section, ""), None);
    assert!(a.text.contains("A Tale of Over-Alerting"), "{}", a.text);
    assert!(a.text.contains("paging alerts fired"), "{}", a.text);
    // A widget named by its id still goes.
    let widget = "<div id=\"breaking-alert\"><h3>Breaking news alert</h3><p>Sign in to get alerts on your phone as soon as stories break.</p></div>";
    assert_clean(widget, "", &["alerts on your phone"]);
}

#[test]
fn link_lists_between_the_articles_paragraphs_stay() {
    // A weekly changelog: who did what, each change linked to its bug.
    let list = "<ul><li>Neil has patches up to <a href=\"https://bugs.example.org/1\">improve the tab unloader</a>, and <a href=\"https://bugs.example.org/2\">show crashes</a></li>\
                <li>Gijs <a href=\"https://bugs.example.org/3\">made the toolbar start later</a> in startup</li>\
                <li>Mike <a href=\"https://bugs.example.org/4\">fixed a shutdown hang in the cache</a> again</li></ul>";
    let after = "<p>The team expects the remaining work to land before the next release, the engineers said in their weekly update.</p>";
    let related = "<ul><li>Jane <a href=\"/a\">on other cloud computing deals</a> today</li>\
                   <li>Sam <a href=\"/b\">on the start-up's computing needs</a> today</li>\
                   <li>Kim <a href=\"/c\">with five things to know</a> on the licence</li></ul>";
    let a = extract(&page(&format!("{list}{after}{related}"), ""), None);
    assert!(
        a.text.contains("made the toolbar start later"),
        "{}",
        a.text
    );
    assert!(a.text.contains("weekly update"), "{}", a.text);
    // A link list after the last paragraph is a box of other stories.
    assert!(!a.text.contains("with five things to know"), "{}", a.text);
}

#[test]
fn chart_labels_inside_the_article_go() {
    // An inline chart drawn with HTML: axis ticks and legend as a run of tiny paragraphs.
    let ticks: String = [
        "$915", "billion", "$900", "’17", "’18", "’19", "’20", "’21", "’22", "’23",
    ]
    .iter()
    .map(|t| format!("<div class=\"g-tick\">{t}</div>"))
    .collect();
    let chart = format!("<div class=\"g-chart\">{ticks}</div>");
    assert_clean(&chart, "", &["$915", "’21"]);
    // Two charts, each titled, their labels fewer than a run on their own: one chart's text.
    let labelled: String = [
        "Yield on 10-year Treasury note",
        "%",
        "MONTHLY",
        "RECESSIONS",
        "’98",
        "’02",
        "’06",
        "U.S. Dollar index",
        "MONTHLY",
        "RECESSIONS",
        "’10",
        "’14",
        "’18",
    ]
    .iter()
    .map(|t| format!("<div class=\"g-label\">{t}</div>"))
    .collect();
    assert_clean(&labelled, "", &["Treasury note", "Dollar index", "’14"]);
    // A short line between paragraphs is not a chart.
    let a = extract(&page("<p>Yes.</p><p>Asked whether the deal would last, the chief executive said it would.</p>", ""), None);
    assert!(a.text.contains("Yes."), "{}", a.text);
}

#[test]
fn a_table_row_reads_on_one_line() {
    let table = "<p>Standings after the final race of the season:</p><table>\
                 <tr><th>Pos.</th><th>Driver</th><th>Points</th></tr>\
                 <tr><td>1</td><td><a href=\"/d/1\">Kyle Busch</a></td><td>5040</td></tr>\
                 <tr><td>2</td><td><div><span>Martin</span></div><div><span>Truex Jr.</span></div></td><td>5035</td></tr></table>";
    let a = extract(&page(table, ""), None);
    assert!(a.text.contains("\nPos. | Driver | Points\n"), "{}", a.text);
    assert!(a.text.contains("\n1 | Kyle Busch | 5040\n"), "{}", a.text);
    assert!(
        a.text.contains("\n2 | Martin Truex Jr. | 5035"),
        "{}",
        a.text
    );
    // The body's HTML keeps a real table, one cell per datum, the wrapped name in one cell.
    assert!(a.html.contains("<table>"), "{}", a.html);
    assert!(
        a.html.contains("Kyle Busch</a></td><td>5040</td></tr>"),
        "{}",
        a.html
    );
    assert!(
        a.html
            .contains("<tr><td>2</td><td>Martin Truex Jr.</td><td>5035</td></tr>"),
        "{}",
        a.html
    );
    assert!(!a.html.contains(" | "), "{}", a.html);
}

#[test]
fn data_cells_are_not_judged_by_their_class_words() {
    // A quote table: each cell's class names its column, and "ticker" is also a clutter word.
    let table = "<table class=\"stock-fundamentals\"><thead><tr><th class=\"ticker\">Ticker</th><th class=\"security\">Security</th>\
                 <th class=\"change\">Change</th></tr></thead><tbody><tr><td class=\"ticker\"><a href=\"/quote?t=MSFT\">MSFT</a></td>\
                 <td class=\"security\">MICROSOFT CORP.</td><td class=\"change neg\">-1.62</td></tr></tbody></table>";
    let a = extract(&page(table, ""), None);
    assert!(a.text.contains("Ticker | Security | Change"), "{}", a.text);
    assert!(a.text.contains("MSFT | MICROSOFT CORP."), "{}", a.text);
}

#[test]
fn sentences_opening_with_by_are_not_bylines() {
    // The byline pattern wants a name: a capital after "By", even in a case-blind table.
    let a = extract(
        &page(
            "<p>By contrast, the smaller firm said it would appeal.</p><p>By changesets</p><p>By Jane Doe</p>",
            "",
        ),
        None,
    );
    assert!(
        a.text.contains("By contrast, the smaller firm"),
        "{}",
        a.text
    );
    assert!(a.text.contains("By changesets"), "{}", a.text);
    assert!(!a.text.contains("Jane Doe"), "{}", a.text);
}

#[test]
fn dates_in_data_cells_and_preformatted_series_are_data() {
    let table = "<table class=\"infobox\"><tr><th>Responsible government</th><td>7 May 1856</td></tr>\
                 <tr><th>Dominion</th><td>26 September 1907</td></tr></table>\
                 <p>Which number stands out in this series?</p><pre>2, 3, 5, 2, 3, 12, 5, 3, 4</pre>";
    let a = extract(&page(table, ""), None);
    assert!(
        a.text.contains("Dominion | 26 September 1907"),
        "{}",
        a.text
    );
    assert!(a.text.contains("2, 3, 5, 2, 3, 12, 5, 3, 4"), "{}", a.text);
    // Outside tables a date alone is still the dateline.
    assert_clean("<p>26 September 1907</p>", "", &["26 September 1907"]);
}
