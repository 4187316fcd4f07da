//! Clutter rules as data: tag sets, class/id words, ARIA roles and block phrases.
//!
//! Takes nothing; gives the tables that [`super::content`] consults. Adding a rule means adding a
//! row here, never a branch in the walker.

use regex::{Regex, RegexSet};
use regex_syntax::hir::{Hir, HirKind};
use std::collections::{HashMap, HashSet};
use std::sync::LazyLock;

/// Elements whose whole subtree is never article text (code, media, widgets, chrome).
pub const DROP_TAGS: &[&str] = &[
    "script", "style", "noscript", "template", "svg", "iframe", "object", "embed", "canvas",
    "video", "audio", "button", "select", "option", "input", "textarea", "nav", "aside", "footer",
    "header", "dialog", "menu", "head", "title", "meta", "link", "map", "area", "picture",
    "source", "img", "label", "figure", "fieldset",
];

/// Tags skipped while building the arena: never text, often huge.
pub const SKIP_TAGS: &[&str] = &[
    "script",
    "style",
    "noscript",
    "template",
    "svg",
    "head",
    "iframe",
    "select",
    // a formula's TeX source, beside the MathML that renders it
    "annotation",
    "annotation-xml",
];

/// `<math>`: a subtree whose text is all formula is never dropped for its class words (MathJax
/// wraps each formula in `class="MathJax CtxtMenu_Attached_0"`, its context menu's class).
pub const F_MATH: u32 = 1 << 24;

/// MathML token elements: a formula (`<math>`, MathJax's assistive MathML) is part of its
/// sentence, read one token per word ("x 2 + b x"), so its tokens never run together.
pub const MATH_TOKEN_TAGS: &[&str] = &["mi", "mn", "mo", "ms", "mtext"];

/// Inline tags kept in the HTML output.
pub const INLINE_KEEP_TAGS: &[&str] = &[
    "b", "strong", "i", "em", "code", "sub", "sup", "s", "u", "mark",
];

/// Block tags with their own paragraph kind in the HTML output (headings, list items, quotes).
pub const KIND_TAGS: &[&str] = &[
    "h1",
    "h2",
    "h3",
    "h4",
    "h5",
    "h6",
    "li",
    "dd",
    "dt",
    "blockquote",
    "pre",
];

/// Tags that mark the article when they hold enough text.
pub const ARTICLE_TAGS: &[&str] = &["article", "main"];

/// Hash builder for the tables below (the `fnv` crate's FNV-1a): they are hashed per element and
/// per class word, where SipHash showed up in profiles; nothing here is keyed by untrusted input
/// at a scale where flooding matters.
pub type FnvBuild = fnv::FnvBuildHasher;

/// Per-node flag bits, from the tag tables above and below (computed once per tag name) and from
/// attributes (hidden, roles, `itemprop=articleBody`).
pub const F_ELEMENT: u32 = 1;
/// In [`SKIP_TAGS`].
pub const F_SKIP: u32 = 1 << 1;
/// In [`DROP_TAGS`].
pub const F_DROP: u32 = 1 << 2;
/// In [`BLOCK_TAGS`].
pub const F_BLOCK: u32 = 1 << 3;
/// In [`INLINE_KEEP_TAGS`].
pub const F_INLINE_KEEP: u32 = 1 << 4;
/// `<a>`.
pub const F_LINK: u32 = 1 << 5;
/// `<br>`.
pub const F_BR: u32 = 1 << 6;
/// `<p>`.
pub const F_P: u32 = 1 << 7;
/// `<blockquote>`.
pub const F_QUOTE: u32 = 1 << 8;
/// In [`ARTICLE_TAGS`].
pub const F_ARTICLE_TAG: u32 = 1 << 9;
/// `<html>` or `<body>`: never dropped.
pub const F_ROOT: u32 = 1 << 10;
/// In [`NEVER_CARD_TAGS`].
pub const F_NEVER_CARD: u32 = 1 << 11;
/// In [`CLASS_EXEMPT_TAGS`].
pub const F_CLASS_EXEMPT: u32 = 1 << 12;
/// In [`KIND_TAGS`].
pub const F_KIND: u32 = 1 << 13;
/// Hidden (`hidden`, `aria-hidden=true`, `display:none`); set from attributes.
pub const F_HIDDEN: u32 = 1 << 14;
/// Role in [`DROP_ROLES`]; set from attributes.
pub const F_DROP_ROLE: u32 = 1 << 15;

/// `itemprop=articleBody` or `role=main`: marks the article; set from attributes.
pub const F_ARTICLE_BODY: u32 = 1 << 16;
/// `itemprop=articleBody` itself (container bonus); set from attributes.
pub const F_ITEMPROP_BODY: u32 = 1 << 17;
/// Matched by an operator's drop selector ([`super::SiteRules`]): always removed.
pub const F_SITE_DROP: u32 = 1 << 18;
/// Matched by an operator's body selector ([`super::SiteRules`]): the body is taken from here.
pub const F_SITE_BODY: u32 = 1 << 19;
/// In [`CELL_TAGS`].
pub const F_CELL: u32 = 1 << 21;

/// Table cells: a short cell (a year, a score, a linked name) is data of its table, not a
/// crumb or a counter, so it is neither penalized nor filtered for being short, numeric or a link.
pub const CELL_TAGS: &[&str] = &["td", "th"];

/// Between the cells of a table row on its one line of output.
pub const CELL_SEPARATOR: &str = " | ";

/// A table cell holding at most this many bytes of text is one datum (a name, a linked app, a
/// version number), whatever blocks it is wrapped in; a bigger cell is page layout.
pub const DATA_CELL_MAX_BYTES: u32 = 300;

/// In [`HEADING_TAGS`].
pub const F_HEADING: u32 = 1 << 22;

/// Section headings: inside a section with [`SECTION_MIN_BYTES`] more text they are the article's
/// own and their class words (`heading jumptargets`, `anchor-link`) do not drop them.
pub const HEADING_TAGS: &[&str] = &["h1", "h2", "h3", "h4", "h5", "h6"];

/// See [`HEADING_TAGS`].
pub const SECTION_MIN_BYTES: u32 = 500;

/// An id whose first this many words are its element's heading's first words is the heading's
/// anchor slug (see `content::id_spells_own_heading`).
pub const SLUG_MATCH_WORDS: usize = 3;

/// At most this much of the heading's text is read to compare with an id.
pub const SLUG_HEADING_MAX_BYTES: usize = 256;

/// `<time>`: a block that is mostly a `<time>` element's text is the page's dateline.
pub const F_TIME: u32 = 1 << 23;

/// A block of at most this many characters, [`DATELINE_TIME_SHARE`] of them inside `<time>`
/// elements, is a dateline ("27 nov.", "Updated 3 hours ago") however it is written.
pub const DATELINE_MAX_CHARS: u32 = 60;

/// See [`DATELINE_MAX_CHARS`].
pub const DATELINE_TIME_SHARE: f32 = 0.6;

/// Whitespace-only text came right before this node (such text is not kept in the arena, but
/// it separates words: `<a>name</a>\n<span>wrote</span>` must not read "namewrote").
pub const F_SPACE_BEFORE: u32 = 1 << 20;

static TAG_FLAGS: LazyLock<HashMap<&'static str, u32, FnvBuild>> = LazyLock::new(|| {
    let mut m: HashMap<&'static str, u32, FnvBuild> = HashMap::default();
    let tables: [(&[&'static str], u32); 13] = [
        (SKIP_TAGS, F_SKIP),
        (DROP_TAGS, F_DROP),
        (BLOCK_TAGS, F_BLOCK),
        (INLINE_KEEP_TAGS, F_INLINE_KEEP),
        (&["a"], F_LINK),
        (&["br"], F_BR),
        (&["p"], F_P),
        (&["blockquote"], F_QUOTE),
        (ARTICLE_TAGS, F_ARTICLE_TAG),
        (&["html", "body"], F_ROOT),
        (&["time"], F_TIME),
        (MATH_TOKEN_TAGS, F_SPACE_BEFORE),
        (&["math"], F_MATH),
    ];
    for (table, flag) in tables {
        for t in table {
            *m.entry(t).or_insert(0) |= flag;
        }
    }
    for (table, flag) in [
        (HEADING_TAGS, F_HEADING),
        (CELL_TAGS, F_CELL),
        (NEVER_CARD_TAGS, F_NEVER_CARD),
        (CLASS_EXEMPT_TAGS, F_CLASS_EXEMPT),
        (KIND_TAGS, F_KIND),
    ] {
        for t in table {
            *m.entry(t).or_insert(0) |= flag;
        }
    }
    m
});

/// Flags of a tag name (always including [`F_ELEMENT`]).
pub fn tag_flags(name: &str) -> u32 {
    F_ELEMENT | TAG_FLAGS.get(name).copied().unwrap_or(0)
}

/// Elements never dropped for their class/id words: embedded posts (`blockquote
/// class="twitter-tweet"`) are quoted content, and a table row's classes describe its data
/// (`oddrow player-2020-580` in a standings table), not page chrome.
pub const CLASS_EXEMPT_TAGS: &[&str] = &["blockquote", "tr"];

/// A block whose link share is above this, with fewer than [`LINK_BLOCK_MIN_OWN_CHARS`]
/// characters outside links (or above 0.85 anyway), is a link list or teaser title.
pub const LINK_DENSITY_MAX: f32 = 0.5;

/// See [`LINK_DENSITY_MAX`].
pub const LINK_BLOCK_MIN_OWN_CHARS: u32 = 40;

/// Teaser cards repeat at least this often among siblings of the same tag and class.
pub const CARD_MIN_REPEAT: usize = 3;

/// Paragraph-level and inline tags are never teaser cards (a `<p>` of `<br>`-split links is a list
/// inside the article), nor are whole lists: the cards of a teaser list are its items, while
/// sibling lists under headings are an article's bullet points.
pub const NEVER_CARD_TAGS: &[&str] = &[
    "p", "span", "a", "b", "strong", "em", "i", "font", "small", "td", "tr", "tbody", "table",
    "ul", "ol",
];

/// An element holding this share of the page's prose is not dropped for its class words.
pub const PROSE_HOLDER_SHARE: f32 = 0.6;

/// Scripts written without spaces, where one character carries about a word (CJK ideographs, kana,
/// hangul syllables): each counts [`WIDE_CHAR_WEIGHT`] characters in block lengths, so a Chinese
/// sentence weighs like its translation rather than like a caption.
pub const WIDE_CHAR_RANGES: &[(char, char)] = &[
    ('\u{3040}', '\u{30ff}'),
    ('\u{3400}', '\u{4dbf}'),
    ('\u{4e00}', '\u{9fff}'),
    ('\u{ac00}', '\u{d7af}'),
    ('\u{f900}', '\u{faff}'),
];

/// See [`WIDE_CHAR_RANGES`].
pub const WIDE_CHAR_WEIGHT: u32 = 2;

/// Length weight of a character (see [`WIDE_CHAR_RANGES`]).
pub fn char_weight(c: char) -> u32 {
    if c < '\u{3040}' {
        return 1;
    }
    if WIDE_CHAR_RANGES
        .iter()
        .any(|&(lo, hi)| (lo..=hi).contains(&c))
    {
        WIDE_CHAR_WEIGHT
    } else {
        1
    }
}

/// Characters that end a sentence (closing quotes and brackets count: they follow the stop).
pub const SENTENCE_ENDS: &[char] = &[
    '.', '!', '?', '"', '”', '’', ':', ';', ')', '…', '。', '！', '？', '」', '』', '）',
];

/// A link in a `<p>` holding this many more bytes of text than the link is part of a sentence
/// and is never dropped for its class words.
pub const RUNNING_TEXT_MIN_BYTES: u32 = 40;

/// A list of at least this many items, half of them prose, keeps its all-link items.
pub const PROSE_LIST_MIN_ITEMS: u32 = 4;

/// A paragraph of at most this many characters is a label (see [`LABEL_RUN_MIN`]).
pub const LABEL_MAX_CHARS: u32 = 8;

/// A line of a chart (a title or legend entry between its labels) holds at most this many
/// characters and ends no sentence.
pub const CHART_LINE_MAX_CHARS: u32 = 40;

/// This many labels among consecutive chart lines are a chart's text.
pub const LABEL_RUN_MIN: usize = 8;

/// A list of at least this many items with the article's prose before and after it keeps its
/// all-link items: a list of resources or changes inside the article, not a box beside it.
pub const INNER_LIST_MIN_ITEMS: u32 = 2;

/// A body shorter than this after the class rules is retried without them.
pub const MIN_BODY_CHARS: usize = 250;

/// Class/id fragments of comment sections: these are dropped however much prose they hold.
pub const COMMENT_SECTION_WORDS: &[&str] = &["comment", "disqus", "repl", "respond", "discussion"];

/// Whether a class list or id names a comment section.
pub fn names_comments(class: Option<&str>, id: Option<&str>) -> bool {
    [class, id].into_iter().flatten().any(|a| {
        let a = a.to_ascii_lowercase();
        COMMENT_SECTION_WORDS.iter().any(|w| a.contains(w))
    })
}

/// An `<article>` or `<main>` element with less text than this (bytes) is a teaser, not the
/// article: it neither protects its ancestors nor earns a bonus.
pub const ARTICLE_MIN_BYTES: u32 = 1500;

/// A teaser card holds at most this many bytes of text.
pub const CARD_MAX_BYTES: u32 = 1500;

/// Elements that start a new paragraph in the text output.
pub const BLOCK_TAGS: &[&str] = &[
    "address",
    "article",
    "aside",
    "blockquote",
    "body",
    "center",
    "dd",
    "details",
    "dialog",
    "div",
    "dl",
    "dt",
    "fieldset",
    "figcaption",
    "figure",
    "footer",
    "form",
    "h1",
    "h2",
    "h3",
    "h4",
    "h5",
    "h6",
    "header",
    "hr",
    "li",
    "main",
    "nav",
    "ol",
    "p",
    "pre",
    "section",
    "summary",
    "table",
    "tbody",
    "td",
    "tfoot",
    "th",
    "thead",
    "tr",
    "ul",
    "caption",
    "html",
    "br",
];

/// ARIA roles of page chrome.
pub const DROP_ROLES: &[&str] = &[
    "navigation",
    "banner",
    "complementary",
    "contentinfo",
    "dialog",
    "alertdialog",
    "menu",
    "menubar",
    "toolbar",
    "search",
    "tablist",
    "tab",
    "button",
    "alert",
    "marquee",
    "status",
    // "ancillary to the main content" (ARIA): MediaWiki's "Main article: …" hatnotes
    "note",
];

/// Class/id words (after splitting `share-buttons` or `shareButtons` into `share`, `buttons`)
/// that mark clutter. A trailing `*` matches any word starting with the rest.
pub const CLUTTER_WORDS: &[&str] = &[
    "comment*",
    "disqus*",
    "share*",
    "sharing",
    "social*",
    "related*",
    "newsletter*",
    "subscri*",
    "signup*",
    "promo*",
    "advert*",
    "sponsor*",
    "cookie*",
    "consent*",
    "gdpr",
    "outbrain*",
    "taboola*",
    "popup*",
    "modal*",
    "sidebar*",
    "breadcrumb*",
    "pagination*",
    "pager",
    "footer*",
    "masthead*",
    "navbar*",
    "navigation*",
    "menu*",
    "widget*",
    "recommend*",
    "trending*",
    "breaking*",
    "ticker*",
    // the standfirst under a headline: a summary of the story, not its text (AEB's bodies
    // leave it out), and the summary line of each teaser in a river
    "dek",
    "standfirst",
    // live-feed rivers ("happening now": other stories, newest first, each under its time)
    "timeline*",
    "popular",
    "mostread*",
    "byline*",
    "dateline*",
    "timestamp*",
    "toolbar*",
    "tooltip*",
    "rollover*",
    "popover*",
    "hovercard*",
    "overlay*",
    "lightbox*",
    "banner*",
    "carousel*",
    "slideshow*",
    "gallery*",
    "caption*",
    "credit*",
    "disclaimer*",
    "copyright*",
    "rating*",
    "reaction*",
    "follow*",
    "facebook*",
    "twitter*",
    "linkedin*",
    "whatsapp*",
    "pinterest*",
    "reddit*",
    "print",
    "email*",
    "login*",
    "logon*",
    "register*",
    "skip*",
    "jump*",
    "sronly",
    "screenreader*",
    "visuallyhidden*",
    "offscreen*",
    "sharedaddy*",
    "addtoany*",
    "addthis*",
    "yarpp*",
    "zergnet*",
    "recirc*",
    "tagcloud*",
    "tagline*",
    "keywords",
    "topics",
    "authorbio*",
    "bio",
    "newsfeed*",
    "headline",
    "kicker*",
    "eyebrow*",
    "flyout*",
    "dropdown*",
    "interstitial*",
    "donate*",
    "donation*",
    "membership*",
    "upsell*",
    "nativead*",
    "adslot*",
    "adunit*",
    "adsense*",
    "adwrap*",
    "adcontainer*",
    "dfp*",
    "googleads*",
    "doubleclick*",
    "rightrail*",
    "rail",
    "toc",
    "tableofcontents*",
    "noprint",
    "meta",
    "tags",
    "tag",
    "author",
    "authors",
    "avatar*",
    "profile",
    "signin*",
    "search*",
    "ad",
    "ads",
    "adv",
    "nav",
    "video*",
    "player*",
    "audio*",
    "podcast*",
    "embed",
    "shares",
    "likes",
    "counter*",
    "vote*",
    "poll*",
    "quiz*",
    "alert*",
    "notice*",
    "notification*",
    "toast*",
    "cta",
    "subnav*",
    "topbar*",
    "header*",
    "complementary",
    "aside",
    "more",
    "next",
    "prev",
    "previous",
    "pullquote*",
    "newsletters",
    // paywall and membership badges (not "paywall": that wraps the text behind the wall)
    "badge*",
    // "listen to this article" players
    "listen*",
    "speechify*",
    // author boxes and image credits
    "writer*",
    "contributor*",
    "photographer*",
    "imgcredit*",
];

/// Words that would match a prefix above but are ordinary content words.
pub const CLUTTER_WORD_EXCEPTIONS: &[&str] = &[
    "shareholder",
    "shareholders",
    "commentary",
    "commentator",
    "commentators",
    "headerbody",
];

/// Class/id words that mark a wrapper of the article itself; they protect it from the words above
/// unless a word is also in [`STRONG_CLUTTER_WORDS`].
pub const CONTENT_WORDS: &[&str] = &[
    "article",
    "articlebody",
    "body",
    "content",
    "entry",
    "main",
    "post",
    "story",
    "storybody",
    "text",
    "blog",
    "prose",
    "richtext",
    "hentry",
    "page",
    "wrapper",
    "container",
    "column",
    "col",
    "section",
    "layout",
    "site",
    "single",
    "template",
    "region",
    "inner",
    "outer",
    "grid",
    "row",
];

/// Words that, in the same class token as a [`CONTENT_WORDS`] word, make it a collection of
/// posts or stories (`horizontalPostList`, `story-grid`): teasers of other articles, not the
/// article, so the content word does not protect the element from its clutter words.
pub const COLLECTION_WORDS: &[&str] = &[
    "list", "lists", "listing", "grid", "slider", "feed", "cards", "teasers", "river", "carousel",
];

/// A word of a class token right after one of these names a feature of the element
/// (`no_caption`, `has-sidebar`, `with-ads`), not a widget: it is not judged.
pub const FEATURE_WORDS: &[&str] = &["no", "has", "with", "without"];

/// Clutter words that win even on an element that also carries a content word (`post-comments`).
pub const STRONG_CLUTTER_WORDS: &[&str] = &[
    "comment",
    "comments",
    "disqus",
    "share",
    "sharing",
    "social",
    "related",
    "newsletter",
    "subscribe",
    "subscription",
    "promo",
    "advert",
    "advertisement",
    "sponsor",
    "sponsored",
    "cookie",
    "outbrain",
    "taboola",
    "recommended",
    "recommendations",
    "trending",
    "popular",
    "byline",
    "footer",
    "sidebar",
    "ad",
    "ads",
    "relatedposts",
    "sharedaddy",
    "yarpp",
    "bio",
    "authorbio",
    "breadcrumb",
    "breadcrumbs",
    "tags",
    "meta",
    "caption",
    "disclaimer",
    "dek",
    "standfirst",
];

/// Phrases that, filling a short block on their own, are clutter. Case-insensitive, matched
/// against the whole normalized block text.
pub const CLUTTER_PHRASES: &[&str] = &[
    // comment counts and calls to comment
    r"^(\d+\s*)?(comments?|replies|responses)\s*[:(\[]?\s*\d*\s*[)\]]?$",
    r"^(view|show|read|see|load|hide|join)( all| the| more)* (\d+ )?(comments?|replies|conversation|discussion)\b",
    r"^be the first to (comment|share|review|reply|respond)",
    r"^(leave|post|add|write|submit) (a|your) (comment|reply|response|review)",
    r"^(join|start) the (discussion|conversation|debate)",
    r"^(tell us|let us know) what you think\b",
    r"^(discuss this|community comments|comments are (closed|disabled))",
    r"^you must be (logged|signed) in to",
    r"^\d+\s*(comments?|shares?|likes?|views?|reactions?)$",
    // subscribe / newsletter boxes
    r"^discover more from\b",
    r"^subscribe\b",
    r"\bsubscribe to (get|receive|our|the)\b",
    r"^(sign up|signup|register) (for|to|now|today|here)\b",
    r"\b(newsletter|mailing list)\b.{0,80}\b(sign up|subscribe|inbox|delivered)\b",
    r"\b(sign up|subscribe)\b.{0,80}\b(newsletter|inbox|emails?|updates)\b",
    r"^(get|receive) (the|our)\b.{0,60}\b(newsletter|updates|emails?|alerts?)\b",
    r"^(thanks|thank you) for (reading|signing up|subscribing|your support)",
    r"^(enter your email|your email address|email address)\b",
    r"^(already a (subscriber|member)|not a subscriber)",
    // share and like widgets
    r"^(share|tweet|email|print|save|pin|like|follow)( (this|the))?( (article|story|post|page|link))?( (on|via|to|with) \w+)?[:!.]?$",
    r"^(share|follow us) on\b",
    r"^(facebook|twitter|linkedin|whatsapp|pinterest|reddit|email|print|copy link)(\s+(facebook|twitter|linkedin|whatsapp|pinterest|reddit|email|print|copy link|x))*$",
    r"^sharing is caring",
    r"^click (here )?to (share|print|email|open)",
    // related / more lists and promos
    r"^(related|more from|more on|more about|more in|you (might|may) (also )?(like|enjoy)|recommended( for you)?|read (more|next|also)|see also|also (read|see)|trending( now)?|popular( now)?|most (read|popular|viewed)|don'?t miss|top stories|latest (news|stories)|editor'?s picks|further reading|what to read next|up next|watch next)\b.{0,120}$",
    r"^read more\b",
    r"^(continue|keep) reading\b",
    r"^(previous|next) (article|post|story|page)\b",
    r"^(click|tap) here\b",
    // ads and cookie banners
    r"^(advertisement|advertising|advert|ad|ads|sponsored( content)?|paid (content|post)|promoted( content)?)$",
    r"^story continues below",
    r"^(article|story|content) continues (below|after)",
    r"\b(we|this (web)?site) uses? cookies\b",
    r"^(accept|allow|reject|manage) (all )?cookies",
    r"\bcookie (policy|settings|preferences|consent)\b",
    r"^we (respect|value|care about) your privacy",
    r"^(please )?(enable|turn on) javascript",
    // markup that leaked into text (escaped tracking pixels, stray tags)
    r#"^(?-i:</?[a-z][a-z0-9]*)(\s+[\w:-]+\s*=\s*("[^"]*"|'[^']*'|[^\s>]+))*\s*/?>$"#,
    r"^<!--.*-->$",
    // shortcodes a CMS failed to expand: [button link="..."]Text[/button]
    r"^\[\w+(\s[^\]]*)?\].{0,120}\[/\w+\]$",
    r"^(loading|please wait)\W*$",
    // bylines, dates, reading time, tags
    // names start upper-case whatever the table's case-insensitivity: "By changesets" and
    // "By contrast, the firm …" are not bylines
    r"^by\s+(?-i:\p{Lu})[\p{L}.'’-]*(\s+(?-i:\p{Lu})[\p{L}.'’-]*){0,3}(\s*(,|and|&)\s*(?-i:\p{Lu})[\p{L}.'’-]*(\s+(?-i:\p{Lu})[\p{L}.'’-]*){0,3})*\s*([|,-].{0,40})?$",
    r"^(published|updated|posted|last updated|first published)( on| at)?\b.{0,60}$",
    r"^\d+[\s-]*min(ute)?s?[\s-]*(read|reading|to read)$",
    r"^(estimated )?(reading|read) time\s*:?\s*(about |under )?\d+.{0,20}$",
    // "Updated ..." / "Last modified ..." lines, also after a first date on the same line
    r"^(last )?(modified|edited|revised|changed)( on| at)?\b.{0,60}$",
    r"^.{0,40}\d{4}.{0,20}[/|·•]\s*(updated|modified|edited)\b.{0,50}$",
    // the same in Japanese news pages: "最終更新:3/9(木) 18:45" (last updated), "CNET Japan
    // 3/9(木) 18:45配信" (source and time it was carried), "【関連記事】" (related articles)
    r"^最終更新\s*[:：]?.{0,40}$",
    r"^.{0,40}\d{1,2}[:：]\d{2}\s*配信$",
    r"^【?関連(記事|ニュース|リンク)】?$",
    // paywall and membership badges
    r"^(for )?(subscribers?|members?|premium|paid|plus)([ -]+only)?( (content|article|story|feature|exclusive))?$",
    r"^(exclusive|only|available) (to|for) (paying )?(subscribers|members)\b.{0,40}$",
    // "listen to this article" players and their durations
    r"^(listen|play)( to)?( this| the)? (article|story|episode)\b.{0,40}$",
    r"^\d+\s*(min|mins|minutes?|sec|secs|seconds?)$",
    // podcast promos
    r"\bpodcasts?\b.{0,100}\b(apple podcasts|spotify|google podcasts|wherever you (get|listen))\b",
    r"^(listen|subscribe) to (our|the)\b.{0,60}\bpodcast\b",
    // author follow boxes
    r"^follow\b.{0,40}\bon (x|twitter|facebook|linkedin|instagram|threads|bluesky|mastodon)$",
    r"^follow @\w+",
    // image credits: "(Photo by ...)", "NAME/AGENCY/Getty Images"
    r"^\(?(photo|image|picture|video|illustration)s? by\b.{0,100}\)?$",
    r"^[^/.!?]{2,50}(/[^/.!?]{2,40}){0,3}/\s*(getty( images)?|afp|ap|ap photo|reuters|epa|shutterstock|alamy|bloomberg|[\w ]*(images|photos|pictures|press))\)?$",
    // "Advertisement" interruptions
    r"^scroll (down )?to (continue|keep) reading\b",
    r"^continue reading (below|after the (ad|advertisement))",
    // table-of-contents headings
    r"^(table of )?contents$",
    r"^(in this (article|story|post|guide)|on this page|jump to( section)?)\W*$",
    // embedded-post chrome ("view on" links; a tweet's "— Name (@handle) date" line is part of
    // the quote and stays)
    r"^a (post|photo|video|reel) shared by\b.{0,80}$",
    r"^view (this|the full) (post|profile|video|photo) on \w+$",
    r"^(see|view|watch) (more )?on (twitter|x|instagram|facebook|tiktok|threads|bluesky|youtube)$",
    // a date (and time) alone on a line: the dateline, not the story
    r"^((mon|tues|wednes|thurs|fri|satur|sun)day,?\s+)?(jan|feb|mar|apr|may|jun|jul|aug|sep|oct|nov|dec)[a-z]*\.?\s+\d{1,2}(st|nd|rd|th)?,?\s+\d{4}(,?\s*(at\s*)?\d{1,2}[:.]\d{2}\s*([ap]\.?m\.?)?(\s*[a-z]{2,4})?)?$",
    r"^((mon|tues|wednes|thurs|fri|satur|sun)day,?\s+)?\d{1,2}(st|nd|rd|th)?\s+(jan|feb|mar|apr|may|jun|jul|aug|sep|oct|nov|dec)[a-z]*\.?,?\s+\d{4}(,?\s*\d{1,2}[:.]\d{2}(\s*[ap]\.?m\.?)?)?$",
    r"^\d{1,4}[./-]\d{1,2}[./-]\d{1,4}(\s+\d{1,2}:\d{2}(:\d{2})?)?$",
    r"^(tags?|topics?|filed under|categories|category|posted in)\s*:",
    r"^(photo|image|picture|video|credit|source|illustration)s?\s*(credit)?\s*:.{0,120}$",
    r"^(all rights reserved|copyright\b|©)",
    r"^about the (author|writer)s?\b",
    r"^(follow|contact) (the )?(author|writer|him|her|them|us)\b",
    r"^(log ?in|sign ?in|register|my account)\b.{0,40}$",
];

/// Author-bio sentences: dropped only near the end of the body, where bios sit.
pub const TAIL_PHRASES: &[&str] = &[
    r"^\p{Lu}[\p{L}.'’-]+(\s+\p{Lu}[\p{L}.'’-]+){0,3} (is|was|has been) (a|an|the) (\w+ ){0,4}(writer|reporter|editor|correspondent|contributor|journalist|columnist|producer|author|analyst|freelancer)\b",
    r"^(the )?(views|opinions) expressed\b",
    r"^(this (article|story) (was|has been) (updated|corrected))",
];

/// A lone counter row ("7 0 0", "1.2K 34"): numbers only.
pub static COUNTER: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"^[\d\s.,:kKmM+/|•·-]*$").unwrap_or_else(|e| unreachable!("static regex: {e}"))
});

/// [`CLUTTER_PHRASES`] compiled.
pub static CLUTTER_SET: LazyLock<PhraseSet> = LazyLock::new(|| PhraseSet::new(CLUTTER_PHRASES));

/// [`TAIL_PHRASES`] compiled.
pub static TAIL_SET: LazyLock<PhraseSet> = LazyLock::new(|| PhraseSet::new(TAIL_PHRASES));

/// A phrase table compiled for blocks that almost never match: most patterns are run only on
/// blocks holding literal text every match of them must hold, found by a cheap literal search.
///
/// Run as one lazy DFA over every block, the table's states (tens of MB for its bounded repeats
/// such as `.{0,40}`) missed the cache on most bytes: 5 % of the extractor's time for 1 % of its
/// instructions. Now, per pattern, from its syntax tree:
/// - anchored at the start with known leading literals (`^(published|updated|…)`): in one set
///   run only on blocks that start with one of them;
/// - anchored but open to any text for a while (`^.{0,40}\d{4}…`, `^[^/.!?]{2,50}…`, see
///   [`opens_wide`]), or floating: when some part every match needs has known literals
///   (`cookies`, `newsletter`, `/` in an image credit), run alone on blocks that contain one;
/// - the rest (`^\d+\s*(min|mins|…)$`) in two sets run on every block, anchored and floating
///   apart (together, the floating patterns keep the anchored ones' states alive).
///
/// The literals are necessary conditions, searched ASCII case-insensitively: a literal search
/// can only let a block through that the patterns then refuse, never hold back one they match.
pub struct PhraseSet {
    /// Patterns behind their leading literals, as one set.
    led: Option<(aho_corasick::AhoCorasick, RegexSet)>,
    /// Literals of the patterns in `inner` (each literal's pattern in `inner_of`), searched
    /// anywhere in the block.
    inner_literals: Option<aho_corasick::AhoCorasick>,
    inner_of: Vec<usize>,
    inner: Vec<Regex>,
    anchored: Option<RegexSet>,
    floating: Option<RegexSet>,
}

/// An ASCII case-insensitive literal search (anchored at the block's start or not).
fn literal_search(literals: &[Vec<u8>], at_start: bool) -> aho_corasick::AhoCorasick {
    aho_corasick::AhoCorasick::builder()
        .ascii_case_insensitive(true)
        .kind(Some(aho_corasick::AhoCorasickKind::DFA))
        .start_kind(if at_start {
            aho_corasick::StartKind::Anchored
        } else {
            aho_corasick::StartKind::Unanchored
        })
        .build(literals)
        .unwrap_or_else(|e| unreachable!("literals of a static table: {e}"))
}

/// Literals (bytes, ASCII-lowercased, each once) at the start of every match of `hir`, when
/// finite and none empty.
fn leading_literals(hir: &Hir) -> Option<Vec<Vec<u8>>> {
    let mut extractor = regex_syntax::hir::literal::Extractor::new();
    // Case-insensitive words expand to every case variant before they are folded back below.
    extractor.limit_total(LITERAL_VARIANTS_MAX);
    let seq = extractor.extract(hir);
    let literals = seq.literals()?;
    if seq.min_literal_len().unwrap_or(0) == 0 {
        return None;
    }
    let mut folded: Vec<Vec<u8>> = literals
        .iter()
        .map(|l| l.as_bytes().to_ascii_lowercase())
        .collect();
    folded.sort_unstable();
    folded.dedup();
    Some(folded)
}

/// Most literal variants kept while extracting a pattern's literals.
const LITERAL_VARIANTS_MAX: usize = 1000;
/// Parts of a pattern read for the literals leading from one of them.
const LITERAL_WINDOW_PARTS: usize = 12;

/// Literals of which every match of `hir` contains one: those leading from some part that
/// cannot be empty (through the parts after it), the longest (then fewest) kept. `None` when
/// no part gives literals of [`GATE_MIN_BYTES`] or of punctuation only (`/`).
fn required_literals(hir: &Hir) -> Option<Vec<Vec<u8>>> {
    let parts: &[Hir] = match hir.kind() {
        HirKind::Concat(parts) => parts,
        HirKind::Capture(c) => return required_literals(&c.sub),
        _ => std::slice::from_ref(hir),
    };
    let mut best: Option<(usize, usize, Vec<Vec<u8>>)> = None;
    for (i, part) in parts.iter().enumerate() {
        if part.properties().minimum_len().unwrap_or(0) == 0 {
            continue;
        }
        let window = parts.get(i..(i + LITERAL_WINDOW_PARTS).min(parts.len()));
        let Some(literals) = window.and_then(|w| leading_literals(&Hir::concat(w.to_vec()))) else {
            continue;
        };
        let shortest = literals.iter().map(Vec::len).min().unwrap_or(0);
        let selective = shortest >= GATE_MIN_BYTES
            || literals
                .iter()
                .all(|l| l.iter().all(|b| b.is_ascii_punctuation()));
        // Longer literals are rarer; past a few bytes, fewer literals search faster.
        let score = (
            shortest.min(GATE_MIN_BYTES * 2),
            usize::MAX - literals.len(),
        );
        if selective && best.as_ref().is_none_or(|b| (b.0, b.1) < score) {
            best = Some((score.0, score.1, literals));
        }
    }
    best.map(|(_, _, literals)| literals)
}

/// Shortest gate literal of letters (shorter ones are in most blocks).
const GATE_MIN_BYTES: usize = 3;

/// Whether an anchored pattern opens with a repeat of a class holding most ASCII characters
/// (`.{0,40}`, `[^/.!?]{2,50}`, `\p{Lu}[\p{L}.'’-]+`): in a set, its states stay alive along
/// the block where others die within a few bytes. Only decides where a pattern runs.
fn opens_wide(hir: &Hir) -> bool {
    let parts: &[Hir] = match hir.kind() {
        HirKind::Concat(parts) => parts,
        _ => std::slice::from_ref(hir),
    };
    let ascii_members = |h: &Hir| match h.kind() {
        HirKind::Class(regex_syntax::hir::Class::Unicode(c)) => c
            .ranges()
            .iter()
            .map(|r| (u32::from(r.end().min('\x7f')) + 1).saturating_sub(u32::from(r.start())))
            .sum(),
        HirKind::Class(regex_syntax::hir::Class::Bytes(c)) => c
            .ranges()
            .iter()
            .map(|r| (u32::from(r.end().min(0x7f)) + 1).saturating_sub(u32::from(r.start())))
            .sum(),
        _ => 0,
    };
    for part in parts {
        match part.kind() {
            HirKind::Look(_) => continue,
            HirKind::Class(_) if ascii_members(part) >= WIDE_CLASS_ASCII => continue,
            HirKind::Repetition(r) => {
                return ascii_members(&r.sub) >= WIDE_CLASS_ASCII
                    && r.max.is_none_or(|max| max >= WIDE_REPEAT_MIN)
            }
            _ => return false,
        }
    }
    false
}

/// A class holding this many ASCII characters is wide (see [`opens_wide`]): `\p{L}` has 52.
const WIDE_CLASS_ASCII: u32 = 40;
/// A repeat of a wide class this long keeps a set's states alive (see [`opens_wide`]).
const WIDE_REPEAT_MIN: u32 = 8;

impl PhraseSet {
    fn new(patterns: &[&str]) -> PhraseSet {
        let mut parser = regex_syntax::ParserBuilder::new();
        parser.case_insensitive(true);
        let (mut led, mut led_literals) = (Vec::new(), Vec::new());
        let (mut inner, mut inner_literals, mut inner_of) = (Vec::new(), Vec::new(), Vec::new());
        let (mut anchored, mut floating) = (Vec::new(), Vec::new());
        for pattern in patterns.iter().map(|p| ascii_word_boundaries(p)) {
            let hir = parser
                .build()
                .parse(&pattern)
                .unwrap_or_else(|e| unreachable!("static regex table: {e}"));
            let at_start = hir
                .properties()
                .look_set_prefix()
                .contains(regex_syntax::hir::Look::Start);
            if at_start && !opens_wide(&hir) {
                match leading_literals(&hir) {
                    Some(literals) => {
                        led_literals.extend(literals);
                        led.push(pattern);
                    }
                    None => anchored.push(pattern),
                }
            } else if let Some(literals) = required_literals(&hir) {
                inner_of.extend(std::iter::repeat_n(inner.len(), literals.len()));
                inner_literals.extend(literals);
                inner.push(compile_one(&pattern));
            } else if at_start {
                anchored.push(pattern);
            } else {
                floating.push(pattern);
            }
        }
        PhraseSet {
            led: compile(&led).map(|set| (literal_search(&led_literals, true), set)),
            inner_literals: (!inner.is_empty()).then(|| literal_search(&inner_literals, false)),
            inner_of,
            inner,
            anchored: compile(&anchored),
            floating: compile(&floating),
        }
    }

    /// Whether any phrase of the table matches `text`.
    pub fn is_match(&self, text: &str) -> bool {
        let led = self.led.as_ref().is_some_and(|(literals, set)| {
            let input = aho_corasick::Input::new(text).anchored(aho_corasick::Anchored::Yes);
            literals.is_match(input) && set.is_match(text)
        });
        led || self.anchored.as_ref().is_some_and(|s| s.is_match(text))
            || self.floating.as_ref().is_some_and(|s| s.is_match(text))
            || self.inner_match(text)
    }

    /// Whether a pattern of `inner` matches, each run only if one of its literals is in `text`
    /// (every occurrence is looked at, overlapping ones too) and at most once.
    fn inner_match(&self, text: &str) -> bool {
        let Some(literals) = &self.inner_literals else {
            return false;
        };
        // Patterns past the 64th are not remembered, only run again.
        let mut tried = 0u64;
        literals.find_overlapping_iter(text).any(|found| {
            let Some(&i) = self.inner_of.get(found.pattern().as_usize()) else {
                return false;
            };
            let bit = u32::try_from(i)
                .ok()
                .and_then(|i| 1u64.checked_shl(i))
                .unwrap_or(0);
            if tried & bit != 0 {
                return false;
            }
            tried |= bit;
            self.inner.get(i).is_some_and(|re| re.is_match(text))
        })
    }
}

/// Word boundaries made ASCII (`(?-u:\b)`): a Unicode `\b` keeps the regex engine off its fast
/// DFA whenever a block holds non-ASCII text.
fn ascii_word_boundaries(pattern: &str) -> String {
    pattern.replace(r"\b", r"(?-u:\b)")
}

/// Compiles patterns (word boundaries already ASCII) case-insensitively into one set; `None`
/// for none.
fn compile(patterns: &[String]) -> Option<RegexSet> {
    if patterns.is_empty() {
        return None;
    }
    let set = regex::RegexSetBuilder::new(patterns)
        .case_insensitive(true)
        // The lazy DFA of a big case-insensitive set outgrows the default 2 MB cache and then
        // rebuilds states on every page; with room it settles after a few pages.
        .dfa_size_limit(DFA_CACHE_BYTES)
        .build()
        .unwrap_or_else(|e| unreachable!("static regex table: {e}"));
    Some(set)
}

/// [`compile`] for one pattern.
fn compile_one(pattern: &str) -> Regex {
    regex::RegexBuilder::new(pattern)
        .case_insensitive(true)
        .dfa_size_limit(DFA_CACHE_BYTES)
        .build()
        .unwrap_or_else(|e| unreachable!("static regex table: {e}"))
}

/// Lazy-DFA cache of each phrase table.
const DFA_CACHE_BYTES: usize = 16 << 20;

/// An ASCII block that is one token this long (no space) is a leaked URL list, hash or data blob
/// (CJK prose has no spaces either, hence ASCII only).
pub const LONE_TOKEN_MIN_CHARS: usize = 80;

/// Most a block recognized by phrase counts against its container (characters).
pub const PHRASE_CLUTTER_MAX_PENALTY: f32 = 30.0;

/// Blocks longer than this are never judged by phrase alone: real paragraphs may say "subscribe".
pub const PHRASE_MAX_CHARS: usize = 220;

/// [`CLUTTER_WORDS`] split for lookup: exact words hashed, prefixes (rows ending in `*`) as
/// anchored searches that walk a word's first letters once (hashing every prefix length of
/// every class word of a page showed in profiles).
struct WordTables {
    exact: HashSet<&'static str, FnvBuild>,
    /// Every prefix, and those of [`SQUEEZED_PREFIX_MIN`] letters or more.
    prefixes: aho_corasick::AhoCorasick,
    long_prefixes: aho_corasick::AhoCorasick,
    exceptions: HashSet<&'static str, FnvBuild>,
    strong: HashSet<&'static str, FnvBuild>,
    content: HashSet<&'static str, FnvBuild>,
    collection: HashSet<&'static str, FnvBuild>,
}

/// A squeezed token (`sharebuttons`, a whole class list without its separators) only matches
/// prefixes this long.
const SQUEEZED_PREFIX_MIN: usize = 10;

static WORDS: LazyLock<WordTables> = LazyLock::new(|| {
    let prefixes: Vec<&'static str> = CLUTTER_WORDS
        .iter()
        .filter_map(|w| w.strip_suffix('*'))
        .collect();
    let search = |prefixes: Vec<&str>| {
        aho_corasick::AhoCorasick::builder()
            .kind(Some(aho_corasick::AhoCorasickKind::DFA))
            .start_kind(aho_corasick::StartKind::Anchored)
            .build(prefixes)
            .unwrap_or_else(|e| unreachable!("static word table: {e}"))
    };
    WordTables {
        exact: CLUTTER_WORDS
            .iter()
            .copied()
            .filter(|w| !w.ends_with('*'))
            .collect(),
        long_prefixes: search(
            prefixes
                .iter()
                .copied()
                .filter(|p| p.len() >= SQUEEZED_PREFIX_MIN)
                .collect(),
        ),
        prefixes: search(prefixes),
        exceptions: CLUTTER_WORD_EXCEPTIONS.iter().copied().collect(),
        strong: STRONG_CLUTTER_WORDS.iter().copied().collect(),
        content: CONTENT_WORDS.iter().copied().collect(),
        collection: COLLECTION_WORDS.iter().copied().collect(),
    }
});

/// Whether `w` is a clutter word; a squeezed token only matches prefixes of
/// [`SQUEEZED_PREFIX_MIN`] letters or more.
fn is_clutter_word(t: &WordTables, w: &str, squeezed: bool) -> bool {
    if t.exact.contains(w) {
        return true;
    }
    let prefixes = if squeezed {
        &t.long_prefixes
    } else {
        &t.prefixes
    };
    prefixes.is_match(aho_corasick::Input::new(w).anchored(aho_corasick::Anchored::Yes))
}

/// How a class/id list reads: clutter, article wrapper, or neither.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ClassVerdict {
    /// Names a clutter widget.
    Clutter,
    /// Names the article or one of its wrappers.
    Content,
    /// Says nothing either way.
    Neutral,
}

/// Splits `attr` (a class list or id) into lowercase words on `-`, `_`, `:` and camelCase
/// boundaries, calling `f` on each word (`false`) and on each whole token squeezed (`true`).
fn for_each_word(attr: &str, mut f: impl FnMut(&str, bool)) {
    // Two buffers for the whole list: class lists are judged for most elements of a page.
    let (mut word, mut compact) = (String::new(), String::new());
    for token in attr.split_ascii_whitespace() {
        compact.clear();
        compact.extend(
            token
                .chars()
                .filter(char::is_ascii_alphanumeric)
                .map(|c| c.to_ascii_lowercase()),
        );
        f(&compact, true);
        let mut prev_lower = false;
        for c in token.chars() {
            let boundary = !c.is_ascii_alphanumeric() || (c.is_ascii_uppercase() && prev_lower);
            if boundary && !word.is_empty() {
                f(&word, false);
                word.clear();
            }
            if c.is_ascii_alphanumeric() {
                word.push(c.to_ascii_lowercase());
            }
            prev_lower = c.is_ascii_lowercase() || c.is_ascii_digit();
        }
        if !word.is_empty() {
            f(&word, false);
            word.clear();
        }
    }
}

/// Judges an element by its `class` and `id` attributes.
pub fn class_verdict(class: Option<&str>, id: Option<&str>) -> ClassVerdict {
    let t = &*WORDS;
    let (mut clutter, mut strong, mut content) = (false, false, false);
    // Per class token: a content word names the article only when the same token does not make
    // it a collection of them (`horizontalPostList`, `article-grid`: teasers of other posts).
    // `for_each_word` gives each token squeezed before its words, which marks where it starts.
    let (mut token_content, mut collection, mut feature) = (false, false, false);
    for attr in [class, id].into_iter().flatten() {
        for_each_word(attr, |w, squeezed| {
            if squeezed {
                content |= token_content && !collection;
                (token_content, collection, feature) = (false, false, false);
            }
            if w.is_empty() || t.exceptions.contains(w) {
                return;
            }
            // `no_caption`, `has-sidebar`: what the element has or lacks, not what it is
            // (`media-with-caption__caption` is still a caption).
            if !squeezed {
                let after_feature = std::mem::replace(&mut feature, FEATURE_WORDS.contains(&w));
                if feature || after_feature {
                    return;
                }
            }
            strong |= t.strong.contains(w);
            clutter |= is_clutter_word(t, w, squeezed);
            token_content |= t.content.contains(w);
            collection |= !squeezed && t.collection.contains(w);
        });
    }
    content |= token_content && !collection;
    match (clutter, strong, content) {
        (_, true, _) => ClassVerdict::Clutter,
        (true, _, false) => ClassVerdict::Clutter,
        (_, _, true) => ClassVerdict::Content,
        _ => ClassVerdict::Neutral,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn class_words_split_and_match() {
        assert_eq!(
            class_verdict(Some("share-buttons"), None),
            ClassVerdict::Clutter
        );
        assert_eq!(
            class_verdict(Some("shareButtons"), None),
            ClassVerdict::Clutter
        );
        assert_eq!(
            class_verdict(Some("post-comments"), None),
            ClassVerdict::Clutter
        );
        assert_eq!(
            class_verdict(Some("entry-content"), None),
            ClassVerdict::Content
        );
        assert_eq!(
            class_verdict(Some("shareholder-letter"), None),
            ClassVerdict::Neutral
        );
        assert_eq!(class_verdict(None, Some("main")), ClassVerdict::Content);
        assert_eq!(
            class_verdict(Some("header-ad"), None),
            ClassVerdict::Clutter
        );
        assert_eq!(class_verdict(Some("loaded"), None), ClassVerdict::Neutral);
        // a content word inside a collection token does not protect a widget
        assert_eq!(
            class_verdict(Some("horizontalPostList widget"), None),
            ClassVerdict::Clutter
        );
        assert_eq!(
            class_verdict(Some("post-content widget"), None),
            ClassVerdict::Content
        );
    }

    /// A string spelled by `hir`, its choices drawn from `seed` (a small LCG): mostly ASCII
    /// members of classes, now and then any member (`ſ` for `s`, `K` for `k`, CJK for `.`).
    fn spell(hir: &Hir, seed: &mut u64, out: &mut String) {
        use regex_syntax::hir::Class;
        let mut next = |n: usize| -> usize {
            *seed = seed
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            ((*seed >> 33) as usize) % n.max(1)
        };
        match hir.kind() {
            HirKind::Empty | HirKind::Look(_) => {}
            HirKind::Literal(l) => out.push_str(std::str::from_utf8(&l.0).unwrap_or("")),
            HirKind::Class(Class::Unicode(class)) => {
                let ranges = class.ranges();
                let ascii: Vec<_> = ranges.iter().filter(|r| r.start().is_ascii()).collect();
                let (lo, hi) = if !ascii.is_empty() && next(4) > 0 {
                    let r = ascii[next(ascii.len())];
                    (r.start() as u32, r.end().min('\x7f') as u32)
                } else if let Some(r) = ranges.get(next(ranges.len())) {
                    (r.start() as u32, r.end() as u32)
                } else {
                    return;
                };
                let c = lo + next((hi - lo + 1) as usize) as u32;
                out.push(char::from_u32(c).unwrap_or('x'));
            }
            HirKind::Class(Class::Bytes(class)) => {
                if let Some(r) = class.ranges().iter().find(|r| r.start().is_ascii()) {
                    out.push(char::from(r.start()));
                }
            }
            HirKind::Repetition(r) => {
                let spare = r.max.map_or(3, |max| (max - r.min).min(3)) as usize;
                for _ in 0..r.min as usize + next(spare + 1) {
                    spell(&r.sub, seed, out);
                }
            }
            HirKind::Capture(c) => spell(&c.sub, seed, out),
            HirKind::Concat(parts) => parts.iter().for_each(|p| spell(p, seed, out)),
            HirKind::Alternation(branches) => {
                let branch = &branches[next(branches.len())];
                spell(branch, seed, out)
            }
        }
    }

    #[test]
    fn phrase_gates_agree_with_the_plain_sets() {
        for (table, compiled) in [(CLUTTER_PHRASES, &*CLUTTER_SET), (TAIL_PHRASES, &*TAIL_SET)] {
            // The table as one plain set, as it was run before the gates.
            let plain = regex::RegexSetBuilder::new(table.iter().map(|p| ascii_word_boundaries(p)))
                .case_insensitive(true)
                .build()
                .expect("table compiles");
            let mut parser = regex_syntax::ParserBuilder::new();
            parser.case_insensitive(true);
            let (mut seed, mut texts) = (7u64, Vec::new());
            for pattern in table {
                let hir = parser
                    .build()
                    .parse(&ascii_word_boundaries(pattern))
                    .expect("parses");
                for _ in 0..60 {
                    let mut text = String::new();
                    spell(&hir, &mut seed, &mut text);
                    // Near misses too: cut short, cased otherwise, inside other text.
                    let cut: String = text.chars().take(text.chars().count() / 2).collect();
                    texts.extend([
                        format!("Then {text} and more"),
                        text.to_uppercase(),
                        cut,
                        text,
                    ]);
                }
            }
            let mut matched = 0;
            for text in &texts {
                let expected = plain.is_match(text);
                assert_eq!(compiled.is_match(text), expected, "{text:?}");
                matched += usize::from(expected);
            }
            // Most spelled texts do match: the gates were tried on matches, not only misses.
            assert!(matched * 4 >= texts.len(), "{matched} of {}", texts.len());
        }
    }

    #[test]
    fn clutter_word_prefix_search_is_the_word_table() {
        // The table read row by row: an exact word, or a word starting with a prefix row (of
        // at least `SQUEEZED_PREFIX_MIN` letters for a squeezed token).
        let by_rows = |w: &str, squeezed: bool| {
            CLUTTER_WORDS.iter().any(|row| match row.strip_suffix('*') {
                Some(prefix) => {
                    w.starts_with(prefix) && (!squeezed || prefix.len() >= SQUEEZED_PREFIX_MIN)
                }
                None => w == *row,
            })
        };
        let mut words: Vec<String> = Vec::new();
        for row in CLUTTER_WORDS.iter().chain(CONTENT_WORDS) {
            let stem = row.trim_end_matches('*');
            words.push(stem.to_string());
            words.push(format!("{stem}s"));
            words.push(format!("{stem}box"));
            words.push(format!("x{stem}"));
            for cut in 1..stem.len() {
                words.push(stem[..cut].to_string());
            }
        }
        words.extend(
            [
                "",
                "a",
                "tableofcontentsbox",
                "visuallyhiddentext",
                "é",
                "shareé",
            ]
            .map(String::from),
        );
        let t = &*WORDS;
        let mut clutter = 0;
        for w in &words {
            for squeezed in [false, true] {
                let expected = by_rows(w, squeezed);
                assert_eq!(
                    is_clutter_word(t, w, squeezed),
                    expected,
                    "{w:?} {squeezed}"
                );
                clutter += usize::from(expected);
            }
        }
        assert!(clutter > words.len() / 4, "{clutter} of {}", words.len());
    }

    #[test]
    fn phrases_catch_clutter_not_prose() {
        for clutter in [
            "Comments (0)",
            "Be the first to comment!",
            "Discover more from TechBooky",
            "Subscribe to get the latest posts sent to your email.",
            "Read more: Why the deal fell apart",
            "Advertisement",
            "You might also like",
            "By Jane Doe",
            "This site uses cookies to improve your experience.",
        ] {
            assert!(CLUTTER_SET.is_match(clutter), "{clutter}");
        }
        for prose in [
            "The company said shareholders would vote in March.",
            "Microsoft invested more than $13 billion into OpenAI.",
            "By the end of the year, both firms had moved on.",
        ] {
            assert!(!CLUTTER_SET.is_match(prose), "{prose}");
        }
        assert!(COUNTER.is_match("7 0 0"));
        assert!(!COUNTER.is_match("7 ways to save"));
    }
}
