//! Body extraction: finds the article container and keeps its paragraphs minus clutter.
//!
//! Takes the parsed document; gives the kept [`Block`]s in document order. The DOM is flattened
//! once into a pre-order arena (so a subtree is an index range), split into text blocks, and the
//! container is the element whose blocks hold the most good prose net of link lists and crumbs.

use super::rules::{self, ClassVerdict};
use ego_tree::NodeRef;
use scraper::{Html, Node};
use std::collections::HashMap;

/// One paragraph of output.
#[derive(Debug, Clone)]
pub struct Block {
    /// Arena index of the block's first text node: blocks sort by it in document order.
    anchor: u32,
    /// Normalized text.
    pub text: String,
    /// Inline HTML (text escaped, links and emphasis kept), not yet sanitized.
    pub html: String,
    /// Paragraph kind for the HTML output.
    pub kind: Kind,
    /// Length in characters, whitespace left out, wide script counted by
    /// [`rules::char_weight`].
    chars: u32,
    link_chars: u32,
    /// Characters inside `<time>` elements.
    time_chars: u32,
    /// Arena index of the innermost block element around the block: lines split by `<br>` in
    /// one paragraph share it.
    container: u32,
    /// Arena index of the innermost table cell around the block (`u32::MAX`: none).
    cell: u32,
}

/// What element a block came from, for the HTML output.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// Plain paragraph.
    Para,
    /// Heading of the given level.
    Heading(u8),
    /// List item.
    Item,
    /// Quotation.
    Quote,
    /// Preformatted text.
    Pre,
    /// A data table's row: its HTML is the row's `<td>` cells, its text the cells on one line.
    Row,
}

/// How hard the clutter rules bite; a page that comes out empty is retried with a looser level.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Strictness {
    /// Tags, roles, hidden elements and class/id words.
    Full,
    /// Tags, roles and hidden elements only.
    NoClasses,
}

struct Arena<'a> {
    nodes: Vec<NodeRef<'a, Node>>,
    parent: Vec<u32>,
    end: Vec<u32>,
    /// Text bytes (trimmed text nodes) in each subtree.
    text: Vec<u32>,
    /// Text bytes inside links in each subtree.
    link: Vec<u32>,
    /// Whether the subtree holds a headline link: a block element that is all link.
    headline: Vec<bool>,
    /// Whether the subtree holds a `<blockquote>` with text (embedded posts, quotes).
    quote: Vec<bool>,
    /// Whether all the subtree's text is inside `<math>` (a rendered formula); empty on pages
    /// without `<math>`.
    formula: Vec<bool>,
    /// `rules::F_*` flags of the element's tag plus what its attributes say (hidden, roles).
    flags: Vec<u32>,
    /// Headings that head a section of prose (see [`Arena::section_heads`]).
    section_head: Vec<bool>,
}

impl<'a> Arena<'a> {
    /// Marks the elements an operator's site rules select ([`rules::F_SITE_BODY`],
    /// [`rules::F_SITE_DROP`]); a body element also protects its ancestors like
    /// `itemprop=articleBody` does.
    fn apply_site_rules(&mut self, doc: &'a Html, site: &super::SiteRules) {
        if site.is_empty() {
            return;
        }
        let index: HashMap<ego_tree::NodeId, u32> = self
            .nodes
            .iter()
            .enumerate()
            .map(|(i, n)| (n.id(), i as u32))
            .collect();
        let mut mark = |sel: &scraper::Selector, flag: u32| {
            for el in doc.select(sel) {
                if let Some(&i) = index.get(&el.id()) {
                    self.flags[i as usize] |= flag;
                }
            }
        };
        if let Some(sel) = &site.body {
            mark(sel, rules::F_SITE_BODY | rules::F_ARTICLE_BODY);
        }
        for sel in &site.drop {
            mark(sel, rules::F_SITE_DROP);
        }
    }

    fn build(doc: &'a Html) -> Arena<'a> {
        // The vectors filled per node, sized once (about half the tree's nodes are kept).
        let capacity = doc.tree.nodes().len() / 2;
        let mut arena = Arena {
            nodes: Vec::with_capacity(capacity),
            parent: Vec::with_capacity(capacity),
            end: Vec::with_capacity(capacity),
            text: Vec::new(),
            link: Vec::new(),
            headline: Vec::new(),
            quote: Vec::new(),
            formula: Vec::new(),
            flags: Vec::with_capacity(capacity),
            section_head: Vec::new(),
        };
        let root = doc.root_element();
        let root = *root;
        let mut open: Vec<u32> = Vec::new();
        let mut cur = root;
        let mut space_before = 0;
        loop {
            let flags = match cur.value() {
                Node::Element(e) => {
                    let f = rules::tag_flags(e.name());
                    if f & rules::F_SKIP != 0 {
                        None
                    } else {
                        Some(f | attr_flags(e))
                    }
                }
                Node::Text(t) => {
                    let blank = is_blank(t);
                    if blank && !t.is_empty() {
                        space_before = rules::F_SPACE_BEFORE;
                    }
                    (!blank).then_some(0)
                }
                _ => None,
            };
            let mut descended = false;
            if let Some(flags) = flags {
                let flags = flags | std::mem::take(&mut space_before);
                let idx = arena.nodes.len() as u32;
                arena.nodes.push(cur);
                arena.flags.push(flags);
                arena.parent.push(open.last().copied().unwrap_or(u32::MAX));
                arena.end.push(idx + 1);
                if cur.value().is_element() {
                    if let Some(child) = cur.first_child() {
                        open.push(idx);
                        cur = child;
                        descended = true;
                    }
                }
            }
            if descended {
                continue;
            }
            // Move to the next sibling, closing finished ancestors on the way up.
            loop {
                if cur.id() == root.id() {
                    arena.measure();
                    return arena;
                }
                if let Some(next) = cur.next_sibling() {
                    cur = next;
                    break;
                }
                match cur.parent() {
                    Some(p) => cur = p,
                    None => {
                        arena.measure();
                        return arena;
                    }
                }
                if let Some(closed) = open.pop() {
                    arena.end[closed as usize] = arena.nodes.len() as u32;
                }
            }
        }
    }

    /// Bottom-up text and link-text bytes per node, and headline links.
    fn measure(&mut self) {
        let n = self.nodes.len();
        let (mut text, mut link, mut headline) = (vec![0u32; n], vec![0u32; n], vec![false; n]);
        let mut quote = vec![false; n];
        // Text bytes inside `<math>` per subtree; only pages with formulas pay for it.
        let has_math = self.flags.iter().any(|f| f & rules::F_MATH != 0);
        let mut math = if has_math { vec![0u32; n] } else { Vec::new() };
        for i in (0..n).rev() {
            let f = self.flags[i];
            if let Node::Text(t) = self.nodes[i].value() {
                text[i] = t.trim().len() as u32;
            } else if f & rules::F_MATH != 0 && has_math {
                math[i] = text[i];
            } else if f & rules::F_LINK != 0 {
                link[i] = text[i];
            } else if f & rules::F_QUOTE != 0 && text[i] >= 40 {
                quote[i] = true;
            }
            if f & rules::F_BLOCK != 0 && text[i] >= 15 && link[i] as f32 >= 0.8 * text[i] as f32 {
                headline[i] = true;
            }
            let p = self.parent[i];
            if p != u32::MAX {
                let p = p as usize;
                text[p] += text[i];
                link[p] += link[i];
                headline[p] |= headline[i];
                quote[p] |= quote[i];
                if has_math {
                    math[p] += math[i];
                }
            }
        }
        if has_math {
            self.formula = text
                .iter()
                .zip(&math)
                .map(|(&t, &m)| t > 0 && m == t)
                .collect();
        }
        (self.text, self.link, self.headline, self.quote) = (text, link, headline, quote);
        self.section_head = self.section_heads();
    }

    /// A linked heading that heads a section of the article ("21) <a>Film title</a>" above its
    /// review) is neither a teaser card nor a link list: a heading whose parent holds
    /// [`rules::SECTION_MIN_BYTES`] of text per heading among its children beside the headings
    /// themselves. Teaser rivers wrap each heading with its short summary in a card of its
    /// own, so there the heading's parent is the card.
    fn section_heads(&self) -> Vec<bool> {
        let n = self.nodes.len();
        // Per parent of headings: (headings, their text bytes).
        let mut parents: HashMap<u32, (u32, u32), rules::FnvBuild> = HashMap::default();
        for i in 0..n {
            if self.flags[i] & rules::F_HEADING != 0 && self.parent[i] != u32::MAX {
                let e = parents.entry(self.parent[i]).or_insert((0, 0));
                e.0 += 1;
                e.1 = e.1.saturating_add(self.text[i]);
            }
        }
        (0..n)
            .map(|i| {
                self.flags[i] & rules::F_HEADING != 0
                    && parents
                        .get(&self.parent[i])
                        .is_some_and(|&(headings, text)| {
                            let prose = self.text[self.parent[i] as usize].saturating_sub(text);
                            prose >= headings.saturating_mul(rules::SECTION_MIN_BYTES)
                        })
            })
            .collect()
    }

    fn element(&self, i: usize) -> Option<&'a scraper::node::Element> {
        self.nodes[i].value().as_element()
    }
}

/// What an element's attributes say, in one pass over them: hidden, a chrome role, the
/// article's own markers.
fn attr_flags(el: &scraper::node::Element) -> u32 {
    let mut f = 0;
    for (name, value) in el.attrs() {
        match name {
            "hidden" => f |= rules::F_HIDDEN,
            "aria-hidden" if value.trim() == "true" => f |= rules::F_HIDDEN,
            "style" if style_hides(value) => f |= rules::F_HIDDEN,
            "role" => {
                let role = value.trim();
                if role == "main" {
                    f |= rules::F_ARTICLE_BODY;
                } else if rules::DROP_ROLES.contains(&role) {
                    f |= rules::F_DROP_ROLE;
                }
            }
            "itemprop" if value == "articleBody" => {
                f |= rules::F_ARTICLE_BODY | rules::F_ITEMPROP_BODY
            }
            _ => {}
        }
    }
    f
}

/// `display: none` or `visibility: hidden` in a style attribute, any spacing and case.
fn style_hides(style: &str) -> bool {
    let mut squeezed = [0u8; 24];
    for decl in style.split(';') {
        let mut n = 0;
        for b in decl.bytes().filter(|b| !b.is_ascii_whitespace()) {
            if n == squeezed.len() {
                break;
            }
            squeezed[n] = b.to_ascii_lowercase();
            n += 1;
        }
        let d = &squeezed[..n];
        if d.starts_with(b"display:none") || d.starts_with(b"visibility:hidden") {
            return true;
        }
    }
    false
}

/// Per-element "drop this subtree" flags.
///
/// `prose_holder[i]` marks elements that hold most of the page's prose: their class/id words are
/// ignored (`content-with-sidebar` wraps the article), unless they name a comment section.
/// Elements marking the article itself (`itemprop=articleBody`, `role=main`, a long `<article>`
/// or `<main>`) protect their ancestors from tag, role and class rules.
fn junk_flags(arena: &Arena<'_>, strictness: Strictness, prose_holder: &[bool]) -> Vec<bool> {
    let n = arena.nodes.len();
    let mut holds_article = vec![false; n];
    for i in (0..n).rev() {
        let f = arena.flags[i];
        if f & rules::F_ARTICLE_BODY != 0
            || (f & rules::F_ARTICLE_TAG != 0 && arena.text[i] >= rules::ARTICLE_MIN_BYTES)
        {
            holds_article[i] = true;
        }
        let p = arena.parent[i];
        if holds_article[i] && p != u32::MAX {
            holds_article[p as usize] = true;
        }
    }
    // Inside an element the page itself calls the article body (`itemprop=articleBody`), the
    // page has said where the article is: a widget in it (a gallery of captions) is not saved by
    // holding most of the page's text.
    let mut in_declared_body = vec![false; n];
    for i in 0..n {
        let p = arena.parent[i];
        in_declared_body[i] = p != u32::MAX
            && (in_declared_body[p as usize]
                || arena.flags[p as usize] & rules::F_ITEMPROP_BODY != 0);
    }
    // Pages repeat the same class lists: judge each distinct (class, id) once.
    let mut verdicts: HashMap<(Option<&str>, Option<&str>), bool, rules::FnvBuild> =
        HashMap::default();
    let mut junk = vec![false; n];
    for i in 0..n {
        let p = arena.parent[i];
        if p != u32::MAX && junk[p as usize] {
            junk[i] = true;
            continue;
        }
        let f = arena.flags[i];
        if f & rules::F_ELEMENT == 0 || f & rules::F_ROOT != 0 {
            continue;
        }
        if f & (rules::F_HIDDEN | rules::F_SITE_DROP) != 0 {
            junk[i] = true;
            continue;
        }
        if holds_article[i] {
            continue;
        }
        if f & (rules::F_DROP | rules::F_DROP_ROLE) != 0
            && !opens_declared_body(arena, i, &in_declared_body)
        {
            junk[i] = true;
            continue;
        }
        if strictness != Strictness::Full
            || f & rules::F_CLASS_EXEMPT != 0
            || arena.formula.get(i).copied().unwrap_or(false)
        {
            continue;
        }
        if f & rules::F_LINK != 0 && link_in_running_text(arena, i) {
            continue;
        }
        if f & rules::F_BLOCK == 0 && inline_is_section_heading(arena, i) {
            continue;
        }
        if f & rules::F_CELL != 0 && arena.text[i] <= rules::DATA_CELL_MAX_BYTES {
            // A data cell's classes name its column (`ticker`, `change`, `rating`).
            continue;
        }
        if f & rules::F_HEADING != 0 && p != u32::MAX {
            // A section heading: its section holds plenty of text beside it.
            if arena.text[p as usize] >= arena.text[i] + rules::SECTION_MIN_BYTES {
                continue;
            }
        }
        let Some(el) = arena.element(i) else {
            continue;
        };
        let (class, id) = (super::attr(el, "class"), super::attr(el, "id"));
        if class.is_none() && id.is_none() {
            continue;
        }
        let clutter = *verdicts
            .entry((class, id))
            .or_insert_with(|| rules::class_verdict(class, id) == ClassVerdict::Clutter);
        // Rare path: only elements whose words read as clutter.
        let clutter = clutter
            && !(id.is_some_and(|id| id_spells_own_heading(arena, i, id))
                && rules::class_verdict(class, None) != ClassVerdict::Clutter);
        let protected = prose_holder.get(i).copied().unwrap_or(false) && !in_declared_body[i];
        junk[i] = clutter && ((!protected && !arena.quote[i]) || rules::names_comments(class, id));
    }
    junk
}

/// A `<header>` inside the element the page calls its article body (`itemprop=articleBody`)
/// is the body's own opening (a summary paragraph), not the page's masthead: the page has said
/// where the article is, and a title or byline there is still dropped by its own rules.
fn opens_declared_body(arena: &Arena<'_>, i: usize, in_declared_body: &[bool]) -> bool {
    in_declared_body.get(i).copied().unwrap_or(false)
        && arena.element(i).is_some_and(|e| e.name() == "header")
}

/// A link inside a sentence (its paragraph holds [`rules::RUNNING_TEXT_MIN_BYTES`] more text than
/// the link): its class words style the link (`meta-org`, `keywords`, `tooltip`), and dropping it
/// would cut a word out of the sentence.
fn link_in_running_text(arena: &Arena<'_>, i: usize) -> bool {
    let mut p = arena.parent[i];
    while p != u32::MAX && arena.flags[p as usize] & rules::F_BLOCK == 0 {
        p = arena.parent[p as usize];
    }
    p != u32::MAX
        && arena.flags[p as usize] & rules::F_P != 0
        && arena.text[p as usize] >= arena.text[i] + rules::RUNNING_TEXT_MIN_BYTES
}

/// Whether `id` is the anchor slug of the element's own heading (`<section
/// id="bigtable-a-tale-of-over-alerting"><h2>Bigtable: A Tale of Over-Alerting</h2>`): such an
/// id holds the words of a title ("alerting", "share", "comments"), not a widget's name. The
/// heading is the element's first element child or grandchild; the id's first
/// [`rules::SLUG_MATCH_WORDS`] words must be the heading's first words.
fn id_spells_own_heading(arena: &Arena<'_>, i: usize, id: &str) -> bool {
    let end = arena.end[i] as usize;
    let Some(h) = (i + 1..end.min(i + 4)).find(|&j| arena.flags[j] & rules::F_HEADING != 0) else {
        return false;
    };
    let mut heading = String::new();
    for j in h + 1..arena.end[h] as usize {
        if let Node::Text(t) = arena.nodes[j].value() {
            heading.push_str(t);
            heading.push(' ');
        }
        // The first words are all that is compared; a hostile heading may be megabytes.
        if heading.len() >= rules::SLUG_HEADING_MAX_BYTES {
            break;
        }
    }
    let words = |s: &str| {
        s.split(|c: char| !c.is_alphanumeric())
            .filter(|w| !w.is_empty())
            .map(str::to_lowercase)
            .take(rules::SLUG_MATCH_WORDS)
            .collect::<Vec<_>>()
    };
    let head = words(&heading);
    head.len() == rules::SLUG_MATCH_WORDS && head == words(id)
}

/// An inline element holding most of a heading's words, its other links (`[edit]`, `¶`) aside,
/// is the heading itself (`<h2><a class="toc-backref">Setting up</a></h2>` in generated docs,
/// `<h4><span class="mw-headline">Rhino</span>[<a>edit</a>]</h4>` in MediaWiki): its class
/// words style the link back to the table of contents or name the heading's text, and the
/// heading is judged by its own class words and place.
fn inline_is_section_heading(arena: &Arena<'_>, i: usize) -> bool {
    let mut p = arena.parent[i];
    while p != u32::MAX && arena.flags[p as usize] & rules::F_BLOCK == 0 {
        p = arena.parent[p as usize];
    }
    if p == u32::MAX || arena.flags[p as usize] & rules::F_HEADING == 0 {
        return false;
    }
    // Most of the heading's words, its other links (`[edit]`, `¶`) aside.
    let (p, i) = (p as usize, i);
    let rest = arena.text[p].saturating_sub(arena.text[i]);
    let rest_links = arena.link[p].saturating_sub(arena.link[i]);
    arena.text[i] >= rest.saturating_sub(rest_links)
}

/// Accumulates inline content into blocks while walking the arena.
struct BlockBuilder {
    blocks: Vec<Block>,
    text: String,
    html: String,
    anchor: u32,
    chars: u32,
    link_chars: u32,
    time_chars: u32,
    pending_space: bool,
    link_depth: u32,
    time_depth: u32,
    /// Open block elements (not `<br>`), innermost last.
    containers: Vec<u32>,
    /// Open table cells, innermost last.
    cells: Vec<u32>,
    /// Count characters only: no text or HTML is built.
    light: bool,
}

impl BlockBuilder {
    fn new(light: bool) -> Self {
        BlockBuilder {
            light,
            containers: Vec::new(),
            cells: Vec::new(),
            blocks: Vec::new(),
            text: String::new(),
            html: String::new(),
            anchor: 0,
            chars: 0,
            link_chars: 0,
            time_chars: 0,
            pending_space: false,
            link_depth: 0,
            time_depth: 0,
        }
    }

    fn push_text(&mut self, idx: u32, s: &str) {
        if self.light {
            // Counting is cheapest a character at a time (splitting into words costs more).
            let n: u32 = s
                .chars()
                .filter(|c| !c.is_whitespace())
                .map(rules::char_weight)
                .sum();
            if n > 0 && self.chars == 0 {
                self.anchor = idx;
            }
            self.chars += n;
            if self.link_depth > 0 {
                self.link_chars += n;
            }
            if self.time_depth > 0 {
                self.time_chars += n;
            }
            return;
        }
        self.text.reserve(s.len());
        self.html.reserve(s.len());
        // Word by word (the runs between whitespace characters), each copied, escaped and
        // weighed whole rather than a character at a time.
        for (k, word) in s.split(char::is_whitespace).enumerate() {
            if k > 0 {
                // A whitespace character came before this word.
                self.pending_space = true;
            }
            if word.is_empty() {
                continue;
            }
            if self.chars == 0 {
                self.anchor = idx;
            } else if self.pending_space {
                self.text.push(' ');
                self.html.push(' ');
            }
            self.pending_space = false;
            self.text.push_str(word);
            push_escaped(&mut self.html, word);
            let w = word_weight(word);
            self.chars += w;
            if self.link_depth > 0 {
                self.link_chars += w;
            }
            if self.time_depth > 0 {
                self.time_chars += w;
            }
        }
    }

    fn push_markup(&mut self, markup: &str) {
        if self.light {
            return;
        }
        if self.pending_space && !self.text.is_empty() {
            self.html.push(' ');
            self.text.push(' ');
            self.pending_space = false;
        }
        self.html.push_str(markup);
    }

    fn flush(&mut self, kind: Kind) {
        if self.chars > 0 {
            self.blocks.push(Block {
                anchor: self.anchor,
                text: std::mem::take(&mut self.text),
                html: std::mem::take(&mut self.html),
                kind,
                chars: self.chars,
                link_chars: self.link_chars,
                time_chars: self.time_chars,
                container: self.containers.last().copied().unwrap_or(0),
                cell: self.cells.last().copied().unwrap_or(u32::MAX),
            });
        }
        self.text.clear();
        self.html.clear();
        self.chars = 0;
        self.link_chars = 0;
        self.time_chars = 0;
        self.pending_space = false;
    }
}

/// A word's length by [`rules::char_weight`]; an ASCII word weighs its bytes.
fn word_weight(word: &str) -> u32 {
    if word.is_ascii() {
        u32::try_from(word.len()).unwrap_or(u32::MAX)
    } else {
        word.chars().map(rules::char_weight).sum()
    }
}

/// Appends `word` with `<`, `>` and `&` escaped.
fn push_escaped(html: &mut String, word: &str) {
    let mut rest = word;
    while let Some(at) = rest.find(['<', '>', '&']) {
        html.push_str(rest.get(..at).unwrap_or_default());
        html.push_str(match rest.as_bytes().get(at) {
            Some(b'<') => "&lt;",
            Some(b'>') => "&gt;",
            _ => "&amp;",
        });
        rest = rest.get(at + 1..).unwrap_or_default();
    }
    html.push_str(rest);
}

#[cfg(test)]
#[test]
fn word_by_word_text_is_char_by_char_text() {
    // The builder as it read text before: one character at a time.
    fn by_char(b: &mut BlockBuilder, idx: u32, s: &str) {
        for c in s.chars() {
            if c.is_whitespace() {
                if !b.light {
                    b.pending_space = true;
                }
                continue;
            }
            if b.chars == 0 {
                b.anchor = idx;
            } else if b.pending_space && !b.light {
                b.text.push(' ');
                b.html.push(' ');
            }
            if !b.light {
                b.pending_space = false;
                b.text.push(c);
                match c {
                    '<' => b.html.push_str("&lt;"),
                    '>' => b.html.push_str("&gt;"),
                    '&' => b.html.push_str("&amp;"),
                    _ => b.html.push(c),
                }
            }
            let w = rules::char_weight(c);
            b.chars += w;
            if b.link_depth > 0 {
                b.link_chars += w;
            }
            if b.time_depth > 0 {
                b.time_chars += w;
            }
        }
    }
    let pieces = [
        "",
        " ",
        "  a  b ",
        "word",
        "x<y & z>w",
        "&&<<>>",
        "\u{a0}nbsp\u{a0}",
        "\u{3000}全角 文字",
        "漢字かな한국어",
        "tab\there\nnew\r\nline",
        "\u{2009}thin\u{200b}zero",
        "é à ü",
        " <b> ",
        "\u{85}next\u{2028}sep",
        "end.",
    ];
    for light in [false, true] {
        for (i, first) in pieces.iter().enumerate() {
            for (j, second) in pieces.iter().enumerate() {
                let (mut ours, mut theirs) = (BlockBuilder::new(light), BlockBuilder::new(light));
                for b in [&mut ours, &mut theirs] {
                    b.link_depth = u32::from(i % 2 == 0);
                    b.time_depth = u32::from(j % 3 == 0);
                }
                ours.push_text(3, first);
                by_char(&mut theirs, 3, first);
                ours.push_markup("<em>");
                theirs.push_markup("<em>");
                ours.push_text(9, second);
                by_char(&mut theirs, 9, second);
                let state = |b: &BlockBuilder| {
                    let counts = (
                        b.anchor,
                        b.chars,
                        b.link_chars,
                        b.time_chars,
                        b.pending_space,
                    );
                    (b.text.clone(), b.html.clone(), counts)
                };
                assert_eq!(state(&ours), state(&theirs), "{first:?} {second:?} {light}");
            }
        }
    }
}

fn kind_of(tag: &str) -> Option<Kind> {
    Some(match tag {
        "h1" => Kind::Heading(1),
        "h2" => Kind::Heading(2),
        "h3" => Kind::Heading(3),
        "h4" => Kind::Heading(4),
        "h5" => Kind::Heading(5),
        "h6" => Kind::Heading(6),
        "li" | "dd" | "dt" => Kind::Item,
        "blockquote" => Kind::Quote,
        "pre" => Kind::Pre,
        _ => return None,
    })
}

/// Whether `s` is whitespace only (`str::trim` would empty it). Pages hold a blank text node
/// between most pairs of tags; their ASCII spaces are checked a byte at a time.
fn is_blank(s: &str) -> bool {
    match s
        .bytes()
        .find(|b| !(b.is_ascii() && char::from(*b).is_whitespace()))
    {
        None => true,
        Some(b) => !b.is_ascii() && s.trim().is_empty(),
    }
}

#[cfg(test)]
#[test]
fn is_blank_is_trim_emptiness() {
    for s in [
        "",
        " ",
        "\n\t \r\x0b\x0c",
        "\u{a0}",
        " \u{3000}\n",
        "\u{85}",
        "\u{200b}",
        "\x1f",
        " x ",
        "\u{a0}x",
        "é",
        " \u{2029}",
        "\t\u{feff}",
    ] {
        assert_eq!(is_blank(s), s.trim().is_empty(), "{s:?}");
    }
}

/// Splits the non-junk part of the document into blocks.
fn blocks(arena: &Arena<'_>, junk: &[bool], light: bool) -> Vec<Block> {
    let mut b = BlockBuilder::new(light);
    let mut open: Vec<u32> = Vec::new();
    let mut kinds: Vec<Kind> = vec![Kind::Para];
    let n = arena.nodes.len();
    let mut i = 0;
    let close = |b: &mut BlockBuilder, kinds: &mut Vec<Kind>, idx: u32| {
        let f = arena.flags[idx as usize];
        if f & rules::F_TIME != 0 {
            b.time_depth = b.time_depth.saturating_sub(1);
        }
        if f & rules::F_LINK != 0 {
            b.link_depth = b.link_depth.saturating_sub(1);
            b.push_markup("</a>");
        } else if f & rules::F_INLINE_KEEP != 0 {
            if let Some(el) = arena.element(idx as usize) {
                b.push_markup("</");
                b.push_markup(el.name());
                b.push_markup(">");
            }
        } else if f & rules::F_BLOCK != 0 {
            b.flush(*kinds.last().unwrap_or(&Kind::Para));
            if f & rules::F_KIND != 0 {
                kinds.pop();
            }
            if f & rules::F_BR == 0 {
                b.containers.pop();
            }
            if f & rules::F_CELL != 0 {
                b.cells.pop();
            }
        }
    };
    while i < n {
        while let Some(&top) = open.last() {
            if arena.end[top as usize] as usize <= i {
                open.pop();
                close(&mut b, &mut kinds, top);
            } else {
                break;
            }
        }
        if junk[i] {
            // Whatever was dropped stood between two words.
            b.pending_space = true;
            i = arena.end[i] as usize;
            continue;
        }
        if arena.flags[i] & rules::F_SPACE_BEFORE != 0 {
            b.pending_space = true;
        }
        match arena.nodes[i].value() {
            Node::Text(t) => b.push_text(i as u32, &t.text),
            Node::Element(el) => {
                let f = arena.flags[i];
                if f & rules::F_TIME != 0 {
                    b.time_depth += 1;
                }
                if f & rules::F_LINK != 0 {
                    if !light {
                        let href = super::attr(el, "href").unwrap_or("");
                        let escaped = href.replace('&', "&amp;").replace('"', "&quot;");
                        b.push_markup("<a href=\"");
                        b.push_markup(&escaped);
                        b.push_markup("\">");
                    }
                    b.link_depth += 1;
                } else if f & rules::F_INLINE_KEEP != 0 {
                    b.push_markup("<");
                    b.push_markup(el.name());
                    b.push_markup(">");
                } else if f & rules::F_BLOCK != 0 {
                    b.flush(*kinds.last().unwrap_or(&Kind::Para));
                    if f & rules::F_KIND != 0 {
                        kinds.push(kind_of(el.name()).unwrap_or(Kind::Para));
                    }
                    if f & rules::F_BR == 0 {
                        b.containers.push(i as u32);
                    }
                    if f & rules::F_CELL != 0 {
                        b.cells.push(i as u32);
                    }
                }
                open.push(i as u32);
            }
            _ => {}
        }
        i += 1;
    }
    while let Some(top) = open.pop() {
        close(&mut b, &mut kinds, top);
    }
    b.flush(Kind::Para);
    b.blocks
}

/// Link share of a block's characters.
fn link_density(b: &Block) -> f32 {
    b.link_chars as f32 / b.chars.max(1) as f32
}

/// A block of running prose: long enough for a sentence, few of its characters in links.
fn is_prose(b: &Block) -> bool {
    b.chars >= 60 && link_density(b) < 0.35
}

fn ends_sentence(text: &str) -> bool {
    text.trim_end().ends_with(rules::SENTENCE_ENDS)
}

fn is_phrase_clutter(b: &Block, cell: bool) -> bool {
    if b.kind == Kind::Pre {
        // Verbatim text (code, a data series): the author's, whatever it looks like.
        return false;
    }
    let len = b.chars as usize;
    (!cell && is_dateline(b))
        || (len <= rules::PHRASE_MAX_CHARS
            // a cell with a digit (a date, a version, a score) is data, not a dateline
            && (!cell || !b.text.bytes().any(|c| c.is_ascii_digit()))
            && rules::CLUTTER_SET.is_match(&b.text))
        || (!cell && len <= 40 && rules::COUNTER.is_match(&b.text))
        || (len >= rules::LONE_TOKEN_MIN_CHARS && b.text.is_ascii() && !b.text.contains(' '))
}

/// A short block that is mostly a `<time>` element: the page's dateline, in any language.
fn is_dateline(b: &Block) -> bool {
    b.chars <= rules::DATELINE_MAX_CHARS
        && b.time_chars as f32 >= rules::DATELINE_TIME_SHARE * b.chars as f32
}

/// A block of a table's data: its innermost block element is a cell, or it sits deeper in a
/// cell that holds at most [`rules::DATA_CELL_MAX_BYTES`] of text (`<td><div><a>App</a></div>`);
/// a cell holding more is page layout, and its blocks are judged like any other.
fn in_data_cell(arena: &Arena<'_>, b: &Block) -> bool {
    b.cell != u32::MAX
        && (b.cell == b.container
            || arena
                .text
                .get(b.cell as usize)
                .is_some_and(|&t| t <= rules::DATA_CELL_MAX_BYTES))
}

/// Mostly links with little text of its own: a link list, a teaser title, a tag row.
fn is_link_clutter(b: &Block) -> bool {
    let own = b.chars.saturating_sub(b.link_chars);
    let ld = link_density(b);
    ld > rules::LINK_DENSITY_MAX && (own < rules::LINK_BLOCK_MIN_OWN_CHARS || ld > 0.85)
}

/// How much a block counts for (positive) or against (negative) its container; `group` is the
/// length of the paragraph it belongs to (several blocks when lines are split by `<br>`).
fn block_weight(b: &Block, group: u32, phrase_clutter: bool) -> f32 {
    let ld = link_density(b);
    let len = b.chars as f32;
    if is_link_clutter(b) {
        return -len;
    }
    if phrase_clutter {
        // Recognized clutter is removed anyway: it counts against its container, but a long
        // promo must not outweigh the paragraphs around it.
        return -len.min(rules::PHRASE_CLUTTER_MAX_PENALTY);
    }
    if b.chars >= 60 && ld < 0.35 {
        let sentence = if ends_sentence(&b.text) { 1.0 } else { 0.7 };
        return len * sentence * (1.0 - ld);
    }
    if ld >= 0.35 {
        // Links with a sentence of their own around them ("<a>X is stepping down</a>. Y takes over.")
        return (b.chars - b.link_chars) as f32 * 0.5;
    }
    if group >= 120 {
        // A line of a paragraph split by `<br>` (lists of dates, poems, addresses).
        return len * 0.5;
    }
    // Short by characters, not weight: a dateline in a wide script is as short as in Latin.
    let unweighted = || b.text.chars().filter(|c| !c.is_whitespace()).count();
    if !ends_sentence(&b.text) && (b.chars < 25 || unweighted() < 25) {
        return -0.5 * len;
    }
    0.0
}

/// Semantic bonus: containers that call themselves the article count a bit more.
fn container_bonus(flags: u32) -> f32 {
    if flags & rules::F_ITEMPROP_BODY != 0 {
        1.25
    } else if flags & rules::F_ARTICLE_TAG != 0 {
        1.1
    } else {
        1.0
    }
}

/// Picks the container and returns its blocks, with clutter and duplicated titles dropped.
pub fn extract_blocks(
    doc: &Html,
    title_variants: &[String],
    site: &super::SiteRules,
) -> Vec<Block> {
    let mut arena = Arena::build(doc);
    arena.apply_site_rules(doc, site);
    // Pass one: tags, roles and hidden elements only; finds where the prose is.
    let junk0 = junk_flags(&arena, Strictness::NoClasses, &[]);
    let blocks0 = blocks(&arena, &junk0, true);
    let holders = prose_holders(&arena, &blocks0);
    // Pass two: class/id words too, teaser cards out.
    let junk = junk_flags(&arena, Strictness::Full, &holders);
    let mut blocks1 = blocks(&arena, &junk, false);
    drop_cards(&arena, &junk, &mut blocks1);
    let (kept, prose) = pick(&arena, &junk, blocks1, title_variants, true);
    let chars: usize = kept.iter().map(|b| b.chars as usize).sum();
    if prose && chars >= rules::MIN_BODY_CHARS {
        return kept;
    }
    let (loose, loose_prose) = pick(
        &arena,
        &junk0,
        blocks(&arena, &junk0, false),
        title_variants,
        false,
    );
    let loose_chars = loose.iter().map(|b| b.chars as usize).sum::<usize>();
    // Without prose under the class rules, prose they hid wins over the page's short lines.
    if (prose && loose_chars > chars) || (!prose && loose_prose) {
        loose
    } else {
        kept
    }
}

/// Elements holding at least [`rules::PROSE_HOLDER_SHARE`] of the page's prose (blocks of
/// sentences with few links).
fn prose_holders(arena: &Arena<'_>, blocks: &[Block]) -> Vec<bool> {
    let mut prefix = Vec::with_capacity(blocks.len() + 1);
    prefix.push(0u32);
    for b in blocks {
        let prose = if is_prose(b) { b.chars } else { 0 };
        prefix.push(prefix.last().copied().unwrap_or(0) + prose);
    }
    let total = prefix.last().copied().unwrap_or(0) as f32;
    let mut out = vec![false; arena.nodes.len()];
    if total < 500.0 {
        return out;
    }
    for (i, flag) in out.iter_mut().enumerate() {
        if arena.element(i).is_none() {
            continue;
        }
        let r = block_range(blocks, i as u32, arena.end[i]);
        *flag = (prefix[r.end] - prefix[r.start]) as f32 >= rules::PROSE_HOLDER_SHARE * total;
    }
    out
}

/// Blocks whose anchors fall in arena range `[from, to)`.
fn block_range(blocks: &[Block], from: u32, to: u32) -> std::ops::Range<usize> {
    let lo = blocks.partition_point(|b| b.anchor < from);
    let hi = blocks.partition_point(|b| b.anchor < to);
    lo..hi
}

/// Runs of chart text are dropped: consecutive short paragraphs that are no sentences (at most
/// [`rules::CHART_LINE_MAX_CHARS`], outside tables and lists) holding at least
/// [`rules::LABEL_RUN_MIN`] tiny ones (at most [`rules::LABEL_MAX_CHARS`]): a chart's axis labels
/// and legend ("’17", "$900", "billion", "MONTHLY") with its titles between them ("Yield on
/// 10-year Treasury note").
fn drop_label_runs(kept: &mut Vec<Block>, arena: &Arena<'_>) {
    let tiny = |b: &Block| b.chars <= rules::LABEL_MAX_CHARS;
    let chart_line = |b: &Block| {
        b.kind == Kind::Para
            && (tiny(b) || (b.chars <= rules::CHART_LINE_MAX_CHARS && !ends_sentence(&b.text)))
            && !in_data_cell(arena, b)
    };
    let mut drop = Vec::with_capacity(kept.len());
    for run in kept.chunk_by(|a, b| chart_line(a) == chart_line(b)) {
        let labels = run.first().is_some_and(chart_line)
            && run.iter().filter(|b| tiny(b)).count() >= rules::LABEL_RUN_MIN;
        drop.extend(std::iter::repeat_n(labels, run.len()));
    }
    if drop.contains(&true) {
        let mut drop = drop.into_iter();
        kept.retain(|_| !drop.next().unwrap_or(false));
    }
}

/// Whether element `i` is a heading that heads a section of the article (see
/// [`Arena::section_heads`]).
fn heads_a_section(arena: &Arena<'_>, i: usize) -> bool {
    arena.section_head.get(i).copied().unwrap_or(false)
}

/// A list nested in a list item that leads into it with words of its own ("In progress:" above
/// a list of linked bug titles): an outline of the article, whose all-link items are not teaser
/// cards. A menu's submenu hangs under a link, not under words.
fn is_sub_list(arena: &Arena<'_>, i: usize) -> bool {
    let p = arena.parent[i];
    if p == u32::MAX
        || !arena
            .element(i)
            .is_some_and(|e| matches!(e.name(), "ul" | "ol"))
    {
        return false;
    }
    let p = p as usize;
    let lead = arena.text[p].saturating_sub(arena.text[i]);
    let lead_links = arena.link[p].saturating_sub(arena.link[i]);
    arena.element(p).is_some_and(|e| e.name() == "li") && lead > lead_links
}

/// Teaser cards: at least [`rules::CARD_MIN_REPEAT`] sibling elements of the same tag, each a
/// short element holding a headline link (a block element that is all link: `<h3><a>..</a></h3>`),
/// as in "more stories" boxes and rivers of teasers. Their blocks are removed.
fn drop_cards(arena: &Arena<'_>, junk: &[bool], blocks: &mut Vec<Block>) {
    let n = arena.nodes.len();
    let is_card = |c: usize| {
        arena.headline[c] && arena.text[c] <= rules::CARD_MAX_BYTES && !heads_a_section(arena, c)
    };
    let mut drop: Vec<(u32, u32)> = Vec::new();
    let mut children: Vec<(usize, &str)> = Vec::new();
    for i in 0..n {
        if junk[i]
            || arena.element(i).is_none()
            || arena.end[i] as usize - i < 4
            || is_sub_list(arena, i)
        {
            continue;
        }
        children.clear();
        let mut j = i + 1;
        while j < arena.end[i] as usize {
            if let Some(el) = arena.element(j) {
                if !junk[j] && arena.flags[j] & rules::F_NEVER_CARD == 0 && is_card(j) {
                    children.push((j, el.name()));
                }
            }
            j = arena.end[j] as usize;
        }
        if children.len() < rules::CARD_MIN_REPEAT {
            continue;
        }
        for &(c, name) in &children {
            let same = children.iter().filter(|(_, t)| *t == name).count();
            if same >= rules::CARD_MIN_REPEAT {
                drop.push((c as u32, arena.end[c]));
            }
        }
    }
    if drop.is_empty() {
        return;
    }
    drop.sort_unstable();
    let mut d = 0;
    blocks.retain(|b| {
        while d < drop.len() && drop[d].1 <= b.anchor {
            d += 1;
        }
        !drop[d..]
            .iter()
            .take_while(|r| r.0 <= b.anchor)
            .any(|r| b.anchor < r.1)
    });
}

/// Returns the kept blocks and whether any container scored above zero (held prose). With
/// `whole_without_prose`, a page where nothing does (a page of headings, short lines and
/// lists) keeps all its blocks that pass the clutter filters rather than its least bad one:
/// no element is the article there, and one line picked from many is no answer.
fn pick(
    arena: &Arena<'_>,
    junk: &[bool],
    blocks: Vec<Block>,
    title_variants: &[String],
    whole_without_prose: bool,
) -> (Vec<Block>, bool) {
    if blocks.is_empty() {
        return (blocks, false);
    }
    // Paragraph length per container, for lines split by `<br>`.
    let mut group = vec![0u32; blocks.len()];
    let mut start = 0;
    for i in 1..=blocks.len() {
        if i == blocks.len() || blocks[i].container != blocks[start].container {
            let total: u32 = blocks[start..i]
                .iter()
                .filter(|b| link_density(b) < 0.35)
                .map(|b| b.chars)
                .sum();
            group[start..i].fill(total);
            start = i;
        }
    }
    // Phrase rules run once per block: regexes are the costliest part of scoring.
    let cell: Vec<bool> = blocks.iter().map(|b| in_data_cell(arena, b)).collect();
    let phrase: Vec<bool> = blocks
        .iter()
        .zip(&cell)
        .map(|(b, &c)| is_phrase_clutter(b, c))
        .collect();
    let weights: Vec<f32> = blocks
        .iter()
        .zip(&group)
        .zip(&phrase)
        .zip(&cell)
        .map(|(((b, &g), &p), &c)| {
            let w = block_weight(b, g, p);
            // A table's short cells are its data: never held against the table.
            if c && !p {
                w.max(0.0)
            } else {
                w
            }
        })
        .collect();
    let mut prefix = Vec::with_capacity(weights.len() + 1);
    prefix.push(0.0f32);
    for w in &weights {
        prefix.push(prefix.last().copied().unwrap_or(0.0) + w);
    }
    // An operator's body selector names the container; its matches are read in order.
    let site_body: Vec<(u32, u32)> = (0..arena.nodes.len())
        .filter(|&i| arena.flags[i] & rules::F_SITE_BODY != 0 && !junk[i])
        .map(|i| (i as u32, arena.end[i]))
        .collect();
    let in_site_body: Vec<bool> = blocks
        .iter()
        .map(|b| {
            site_body
                .iter()
                .any(|&(from, to)| (from..to).contains(&b.anchor))
        })
        .collect();
    let mut best = (f32::MIN, 0usize, 0usize);
    for (i, &is_junk) in junk.iter().enumerate() {
        if is_junk {
            continue;
        }
        if arena.flags[i] & rules::F_ELEMENT == 0 {
            continue;
        }
        let r = block_range(&blocks, i as u32, arena.end[i]);
        if r.is_empty() {
            continue;
        }
        let score = (prefix[r.end] - prefix[r.start]) * container_bonus(arena.flags[i]);
        if score >= best.0 {
            best = (score, r.start, r.end);
        }
    }
    let prose = best.0 > 0.0;
    let (lo, hi) = if prose || !whole_without_prose {
        (best.1, best.2)
    } else {
        (0, blocks.len())
    };
    // The container: where the operator's body selector points when it holds something,
    // else the best-scoring element (a redesign must not leave a source with empty bodies).
    let selected: Vec<bool> = if in_site_body.contains(&true) {
        in_site_body
    } else {
        (0..blocks.len()).map(|i| (lo..hi).contains(&i)).collect()
    };
    // Lists whose items are mostly prose: an all-link item there is a bullet of the article
    // ("Here's our year in review"), not a related-links list. Per list: (prose items, items,
    // first block, last block).
    let list_of = |b: &Block| {
        arena
            .parent
            .get(b.container as usize)
            .copied()
            .unwrap_or(u32::MAX)
    };
    let mut lists: HashMap<u32, (u32, u32, usize, usize), rules::FnvBuild> = HashMap::default();
    for (k, b) in blocks
        .iter()
        .enumerate()
        .filter(|(_, b)| b.kind == Kind::Item)
    {
        let e = lists.entry(list_of(b)).or_insert((0, 0, k, k));
        e.0 += u32::from(is_prose(b));
        e.1 += 1;
        e.3 = k;
    }
    // Selected prose blocks before each index: a list with the article's prose on both sides
    // is inside the article.
    let mut prose_before = Vec::with_capacity(blocks.len() + 1);
    prose_before.push(0u32);
    for (b, &sel) in blocks.iter().zip(&selected) {
        prose_before
            .push(prose_before.last().copied().unwrap_or(0) + u32::from(sel && is_prose(b)));
    }
    let total_prose = prose_before.last().copied().unwrap_or(0);
    let in_prose_list = |b: &Block| {
        b.kind == Kind::Item
            && lists
                .get(&list_of(b))
                .is_some_and(|&(prose, items, first, last)| {
                    (items >= rules::PROSE_LIST_MIN_ITEMS && prose * 2 >= items)
                        || (items >= rules::INNER_LIST_MIN_ITEMS
                            && prose_before[first] > 0
                            && total_prose > prose_before[last + 1])
                })
    };
    let mut kept: Vec<Block> = blocks
        .into_iter()
        .zip(group.into_iter().zip(phrase).zip(cell))
        .zip(selected)
        .filter_map(|(pair, chosen)| chosen.then_some(pair))
        .filter(|(b, ((g, phrase_clutter), cell))| {
            let in_paragraph = *g >= 120
                && arena
                    .flags
                    .get(b.container as usize)
                    .is_some_and(|f| f & rules::F_P != 0);
            let section_heading =
                matches!(b.kind, Kind::Heading(_)) && heads_a_section(arena, b.container as usize);
            (in_paragraph || *cell || section_heading || !is_link_clutter(b) || in_prose_list(b))
                && !phrase_clutter
                && !super::meta::is_title_variant(&b.text, title_variants)
        })
        .map(|(b, _)| b)
        .collect();
    drop_label_runs(&mut kept, arena);
    // Author bios and "views expressed" notes sit at the end.
    let tail_from = kept.len().saturating_sub(3);
    let mut idx = 0;
    kept.retain(|b| {
        let in_tail = idx >= tail_from;
        idx += 1;
        !(in_tail && b.chars as usize <= 400 && rules::TAIL_SET.is_match(&b.text))
    });
    (join_table_rows(kept, arena), prose)
}

/// One block per table row: the blocks of a data table's row become one [`Kind::Row`], its text
/// the cells separated by [`rules::CELL_SEPARATOR`] (a standings row reads "1 | Kyle Busch |
/// 5010", not three lines), its HTML the row's cells, so the body keeps a real table. Layout
/// cells are left alone.
fn join_table_rows(kept: Vec<Block>, arena: &Arena<'_>) -> Vec<Block> {
    let row_of = |b: &Block| {
        if in_data_cell(arena, b) {
            arena.parent.get(b.cell as usize).copied()
        } else {
            None
        }
    };
    if !kept.iter().any(|b| b.cell != u32::MAX) {
        return kept;
    }
    let mut out: Vec<Block> = Vec::with_capacity(kept.len());
    let mut last_row = None;
    for mut b in kept {
        let row = row_of(&b);
        match out.last_mut() {
            Some(prev) if row.is_some() && row == last_row => {
                // A row's HTML always ends with its last cell's `</td>`.
                let open_cell = prev.html.strip_suffix("</td>").map(str::len);
                if let (true, Some(open_len)) = (prev.cell == b.cell, open_cell) {
                    // Another line of the same cell: inside its `<td>`.
                    prev.text.push(' ');
                    prev.text.push_str(&b.text);
                    prev.html.truncate(open_len);
                    prev.html.push(' ');
                    prev.html.push_str(&b.html);
                    prev.html.push_str("</td>");
                } else {
                    prev.text.push_str(rules::CELL_SEPARATOR);
                    prev.text.push_str(&b.text);
                    prev.html.push_str("<td>");
                    prev.html.push_str(&b.html);
                    prev.html.push_str("</td>");
                }
                prev.chars += b.chars;
                prev.link_chars += b.link_chars;
                prev.time_chars += b.time_chars;
                prev.cell = b.cell;
            }
            _ if row.is_some() => {
                b.html = format!("<td>{}</td>", b.html);
                b.kind = Kind::Row;
                out.push(b);
            }
            _ => out.push(b),
        }
        last_row = row;
    }
    out
}
