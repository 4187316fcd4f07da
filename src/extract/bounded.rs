//! Bounded tree building: a page's nesting depth and element count are capped while html5ever
//! builds the tree, and a deadline is checked between chunks of input.
//!
//! html5ever scans its stack of open elements on most tags, so a page nested tens of thousands
//! deep costs time quadratic in its size (a 40,000-deep `<ul><li>` took 11 s, a 15 MB one did not
//! end). A token filter between the tokenizer and the tree builder drops start tags once the
//! builder holds [`MAX_DEPTH`] elements (or has built [`MAX_ELEMENTS`]), and the matching end tags
//! with them: the text of the dropped elements stays, in their nearest kept ancestor.
//!
//! The same filter leaves out what no later stage reads, so it is neither copied into the tree
//! nor walked past again: comments, and the text of raw-text elements that are never article
//! text or metadata (`<script>` other than JSON-LD, `<style>`, `<noscript>`, `<iframe>`; see
//! [`MUTED_RAW_TEXT`]). The elements themselves stay, empty, so the tree keeps its shape.

use std::cell::{Cell, RefCell};
use std::collections::HashMap;
use std::time::Instant;

use html5ever::tendril::StrTendril;
use html5ever::tokenizer::states::RawKind;
use html5ever::tokenizer::{
    BufferQueue, Tag, TagKind, Token, TokenSink, TokenSinkResult, Tokenizer, TokenizerOpts,
};
use html5ever::tree_builder::{Tracer, TreeBuilder, TreeBuilderOpts, TreeSink};
use html5ever::{local_name, LocalName, TokenizerResult};
use scraper::{Html, HtmlTreeSink, Node};

/// Most elements the tree builder may hold open (open elements plus active formatting ones).
pub const MAX_DEPTH: usize = 512;
/// Most elements built for one page; later start tags are dropped, their text kept.
pub const MAX_ELEMENTS: usize = 250_000;
/// Input handed to the parser between two deadline checks.
const CHUNK_BYTES: usize = 8 * 1024;
/// Input bytes per tree node assumed when sizing the tree (the AEB pages: median 73, a tenth
/// under 40, a tenth over 280). Too many only costs address space that is never touched.
const BYTES_PER_NODE: usize = 64;
/// Elements the tree builder may add on its own for one start tag (`html`, `body`, `tbody`, …).
const IMPLIED: usize = 4;

/// Raw-text elements whose text nothing reads: the body walk skips them whole and metadata reads
/// only JSON-LD scripts (kept, see [`keeps_text`]). News pages carry about half their bytes in
/// inline scripts and styles.
const MUTED_RAW_TEXT: &[LocalName] = &[
    local_name!("script"),
    local_name!("style"),
    local_name!("noscript"),
    local_name!("iframe"),
];

/// The deadline passed before the page was parsed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DeadlinePassed;

type Handle = <HtmlTreeSink as TreeSink>::Handle;
type Builder = TreeBuilder<Handle, HtmlTreeSink>;

/// Parses `html` as a document within the bounds; `Err` once `deadline` has passed.
pub fn parse_document(html: &str, deadline: Option<Instant>) -> Result<Html, DeadlinePassed> {
    // The node vector sized for the page up front: grown by doubling it was copied over and
    // over (several times the page's own size). Only the part used is ever touched.
    let mut doc = Html::new_document();
    let nodes = (html.len() / BYTES_PER_NODE).min(MAX_ELEMENTS);
    doc.tree = ego_tree::Tree::with_capacity(Node::Document, nodes.max(1));
    let builder = TreeBuilder::new(HtmlTreeSink::new(doc), TreeBuilderOpts::default());
    let tokenizer = Tokenizer::new(Guard::new(builder), TokenizerOpts::default());
    let input = BufferQueue::default();
    let mut rest = html;
    while !rest.is_empty() {
        let mut cut = rest.len().min(CHUNK_BYTES);
        while !rest.is_char_boundary(cut) {
            cut += 1;
        }
        let (chunk, tail) = rest.split_at(cut);
        rest = tail;
        input.push_back(StrTendril::from_slice(chunk));
        // `Script` and encoding hints only pause the tokenizer; nothing runs scripts here.
        while !matches!(tokenizer.feed(&input), TokenizerResult::Done) {}
        if deadline.is_some_and(|d| Instant::now() >= d) {
            return Err(DeadlinePassed);
        }
    }
    tokenizer.end();
    Ok(tokenizer.sink.builder.sink.finish())
}

/// [`parse_document`] without a deadline.
pub fn parse(html: &str) -> Html {
    // Without a deadline there is none to pass.
    parse_document(html, None).unwrap_or_else(|DeadlinePassed| Html::new_document())
}

/// Whether a start tag's text (if it turns out raw text) is kept: anything but the elements of
/// [`MUTED_RAW_TEXT`], and JSON-LD scripts, which metadata reads.
fn keeps_text(tag: &Tag) -> bool {
    if !MUTED_RAW_TEXT.contains(&tag.name) {
        return true;
    }
    tag.name == local_name!("script")
        && tag
            .attrs
            .iter()
            .any(|a| a.name.local == local_name!("type") && super::meta::is_json_ld_type(&a.value))
}

/// Counts the handles the tree builder holds.
struct Counter(Cell<usize>);

impl Tracer for Counter {
    type Handle = Handle;
    fn trace_handle(&self, _node: &Handle) {
        self.0.set(self.0.get() + 1);
    }
}

/// The token filter in front of the tree builder.
struct Guard {
    builder: Builder,
    /// Handles the builder held at the last count, plus what may have been added since.
    depth_bound: Cell<usize>,
    /// Set when the last count found the builder full and no end tag has passed since: start
    /// tags are dropped without counting again (the depth cannot have shrunk).
    full: Cell<bool>,
    /// Start tags passed on (the element count).
    elements: Cell<usize>,
    /// Dropped start tags by name, whose end tags are dropped too.
    dropped: RefCell<HashMap<LocalName, usize>>,
    /// The raw-text element (`script`, `style`, …) whose text is being skipped: after its start
    /// tag was dropped, or after it was built but its text is read by nothing (then its end tag
    /// is passed on as usual).
    skipping: RefCell<Option<LocalName>>,
    /// Text read since the last other token, handed to the builder as one token (with the line
    /// it started on) before the next other token: the tokenizer cuts text at every newline
    /// and entity, and the builder's cost is per token.
    pending_text: RefCell<(StrTendril, u64)>,
}

impl Guard {
    fn new(builder: Builder) -> Guard {
        Guard {
            builder,
            depth_bound: Cell::new(0),
            full: Cell::new(false),
            elements: Cell::new(0),
            dropped: RefCell::new(HashMap::new()),
            skipping: RefCell::new(None),
            pending_text: RefCell::new((StrTendril::new(), 0)),
        }
    }

    /// Adds text to the pending text; consecutive pieces of the input are joined without a copy.
    fn push_text(&self, text: StrTendril, line: u64) {
        let mut pending = self.pending_text.borrow_mut();
        if pending.0.is_empty() {
            *pending = (text, line);
        } else {
            pending.0.push_tendril(&text);
        }
    }

    /// Hands the pending text to the builder. Text never changes the tokenizer's state, and the
    /// builder treats text the same however it is cut (the tokenizer's own cuts depend on how
    /// the input was chunked), so the tree is the one the pieces would have built.
    fn flush_text(&self) {
        let (text, line) = std::mem::take(&mut *self.pending_text.borrow_mut());
        if !text.is_empty() {
            // Text gives no tokenizer instruction back (`Continue`).
            let _ = self
                .builder
                .process_token(Token::CharacterTokens(text), line);
        }
    }

    /// Whether one more start tag could take the builder past [`MAX_DEPTH`].
    fn at_limit(&self) -> bool {
        if self.full.get() {
            return true;
        }
        if self.depth_bound.get() + IMPLIED < MAX_DEPTH {
            return false;
        }
        let counter = Counter(Cell::new(0));
        self.builder.trace_handles(&counter);
        let depth = counter.0.get();
        self.depth_bound.set(depth);
        let full = depth + IMPLIED >= MAX_DEPTH;
        self.full.set(full);
        full
    }

    /// Decides on a start tag: pass it on, or drop it (and skip a raw-text body).
    fn start_tag(&self, tag: Tag, line: u64) -> TokenSinkResult<Handle> {
        if self.elements.get() >= MAX_ELEMENTS || self.at_limit() {
            if !tag.self_closing {
                *self
                    .dropped
                    .borrow_mut()
                    .entry(tag.name.clone())
                    .or_default() += 1;
            }
            // The tokenizer must still read a raw-text body as text, not as markup.
            let raw = match &*tag.name {
                "script" => Some(RawKind::ScriptData),
                "style" | "xmp" | "iframe" | "noembed" | "noframes" | "noscript" => {
                    Some(RawKind::Rawtext)
                }
                "textarea" | "title" => Some(RawKind::Rcdata),
                _ => None,
            };
            return match raw {
                Some(kind) => {
                    *self.skipping.borrow_mut() = Some(tag.name);
                    TokenSinkResult::RawData(kind)
                }
                None => TokenSinkResult::Continue,
            };
        }
        self.elements.set(self.elements.get() + 1);
        self.depth_bound.set(self.depth_bound.get() + IMPLIED);
        let mute = (!keeps_text(&tag)).then(|| tag.name.clone());
        let result = self.builder.process_token(Token::TagToken(tag), line);
        // Only when the builder switched the tokenizer to raw text: then nothing but text and
        // this element's end tag can follow (in `<svg>` a `<style>` holds markup instead).
        if let (Some(name), TokenSinkResult::RawData(_)) = (mute, &result) {
            *self.skipping.borrow_mut() = Some(name);
        }
        result
    }

    /// Inside a raw-text element whose text is skipped the tokenizer gives text and, at its
    /// end, the one end tag that closes it.
    fn skip(&self, token: Token, line: u64) -> TokenSinkResult<Handle> {
        match token {
            Token::TagToken(t)
                if t.kind == TagKind::EndTag
                    && Some(&t.name) == self.skipping.borrow().as_ref() =>
            {
                *self.skipping.borrow_mut() = None;
                self.end_tag(t, line)
            }
            Token::EOFToken => {
                *self.skipping.borrow_mut() = None;
                self.builder.process_token(Token::EOFToken, line)
            }
            _ => TokenSinkResult::Continue,
        }
    }

    /// Drops the end tag of a dropped element; passes on any other.
    fn end_tag(&self, tag: Tag, line: u64) -> TokenSinkResult<Handle> {
        {
            let mut dropped = self.dropped.borrow_mut();
            if let Some(n) = dropped.get_mut(&tag.name) {
                *n -= 1;
                if *n == 0 {
                    dropped.remove(&tag.name);
                }
                return TokenSinkResult::Continue;
            }
        }
        self.full.set(false);
        self.builder.process_token(Token::TagToken(tag), line)
    }
}

impl TokenSink for Guard {
    type Handle = Handle;

    fn process_token(&self, token: Token, line: u64) -> TokenSinkResult<Handle> {
        if self.skipping.borrow().is_some() {
            return self.skip(token, line);
        }
        match token {
            Token::CharacterTokens(text) => {
                self.push_text(text, line);
                TokenSinkResult::Continue
            }
            // Comments are read by nothing; parse errors only fill `Html::errors`, read by
            // nothing either.
            Token::CommentToken(_) | Token::ParseError(_) => TokenSinkResult::Continue,
            other => {
                self.flush_text();
                match other {
                    Token::TagToken(t) if t.kind == TagKind::StartTag => self.start_tag(t, line),
                    Token::TagToken(t) => self.end_tag(t, line),
                    other => self.builder.process_token(other, line),
                }
            }
        }
    }

    fn end(&self) {
        self.flush_text();
        self.builder.end();
    }

    fn adjusted_current_node_present_but_not_in_html_namespace(&self) -> bool {
        // Asked at `<![CDATA[`: the builder must have seen the text before it.
        self.flush_text();
        self.builder
            .adjusted_current_node_present_but_not_in_html_namespace()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn depth_of(doc: &Html) -> usize {
        doc.tree
            .root()
            .descendants()
            .map(|n| n.ancestors().count())
            .max()
            .unwrap_or(0)
    }

    #[test]
    fn deep_nesting_is_capped_and_text_kept() {
        let n = 40_000;
        let html = format!(
            "<html><body>{}<p>deep text</p>{}<p>after</p></body></html>",
            "<ul><li>".repeat(n),
            "</li></ul>".repeat(n)
        );
        let doc = parse_document(&html, None).expect("no deadline");
        assert!(depth_of(&doc) <= MAX_DEPTH + 8, "{}", depth_of(&doc));
        let text: String = doc.root_element().text().collect();
        assert!(text.contains("deep text"), "{text}");
        assert!(text.contains("after"), "{text}");
    }

    #[test]
    fn ordinary_page_is_unchanged() {
        let html = "<!doctype html><html><head><title>T</title><style>p{}</style></head>\
                    <body><div><p>one<p>two<ul><li>a<li>b</ul><script>if (a<b) {}</script>\
                    <table><tr><td>c</table></div></body></html>";
        let ours = parse_document(html, None).expect("parses");
        // The same tree, with the style and script left empty.
        let bare = html.replace("p{}", "").replace("if (a<b) {}", "");
        assert_eq!(ours.html(), Html::parse_document(&bare).html());
    }

    #[test]
    fn text_handed_over_in_one_piece_builds_the_same_tree() {
        // Text cut by newlines, entities, NULs and tags in every insertion mode that treats
        // text specially: tables (foster parenting), `<pre>`/`<textarea>` (a first newline
        // dropped), `<select>`, foreign content with CDATA, frameset-ok, after the body.
        let html = "<!doctype html>\n<html>\n <head>\n  <title>a &amp;\n b</title>\n </head>\n\
                    <body>\n<table>\n x &lt; y\n<tr>\n<td>c\nd</td> e\n</table>\n\
                    <pre>\nfirst\n&amp;second</pre><textarea>\n t\n</textarea>\n\
                    <select>\n<option>o\n1</select>\n<p>n\0u\rl<b>l\n</p>x\n\
                    <svg>\n<![CDATA[ c\nd ]]>\n<text>t\n</text></svg>\n</body>\n</html>\n tail";
        let ours = parse_document(html, None).expect("parses");
        let theirs = Html::parse_document(html);
        assert_eq!(format!("{:?}", ours.tree), format!("{:?}", theirs.tree));
    }

    #[test]
    fn unread_text_and_comments_are_left_out() {
        let html = r#"<html><head><style>p { color: red }</style>
            <script>var a = "<p>x</p>";</script>
            <script type="application/ld+json">{"@type":"NewsArticle","author":{"name":"Ann Lee"}}</script></head>
            <body><!-- a comment --><noscript><img src=x.png></noscript><p>one<!-- -->two</p>
            <svg><style>.c{}</style></svg><iframe>fallback</iframe><script>x()</script>
            <textarea>typed</textarea></body></html>"#;
        let doc = parse_document(html, None).expect("parses");
        let texts = |sel: &str| -> Vec<String> {
            let sel = scraper::Selector::parse(sel).expect("selector");
            doc.select(&sel).map(|e| e.text().collect()).collect()
        };
        assert_eq!(
            texts("script"),
            [
                "",
                r#"{"@type":"NewsArticle","author":{"name":"Ann Lee"}}"#,
                ""
            ]
        );
        // An SVG `<style>` is not raw text: its text is an ordinary text node and stays.
        assert_eq!(texts("style"), ["", ".c{}"]);
        assert_eq!(texts("noscript"), [""]);
        assert_eq!(texts("iframe"), [""]);
        assert_eq!(texts("textarea"), ["typed"]);
        // Without the comment, the paragraph's text is one node, as a browser shows it.
        assert_eq!(texts("p"), ["onetwo"]);
        assert!(doc.tree.nodes().all(|n| !n.value().is_comment()));
        // Metadata still reads the JSON-LD.
        let meta = super::super::meta::read(&doc, None);
        assert_eq!(meta.authors, ["Ann Lee"]);
    }

    #[test]
    fn dropped_raw_text_is_skipped_not_parsed() {
        let html = format!(
            "<body>{}<script>document.write('<b>x</b>')</script><style>p {{}}</style>kept{}",
            "<div>".repeat(2 * MAX_DEPTH),
            "</div>".repeat(2 * MAX_DEPTH)
        );
        let doc = parse_document(&html, None).expect("parses");
        let text: String = doc.root_element().text().collect();
        assert_eq!(text.trim(), "kept");
    }

    #[test]
    fn past_deadline_gives_up() {
        let html = "<p>x</p>".repeat(10_000);
        assert_eq!(
            parse_document(&html, Some(Instant::now())).unwrap_err(),
            DeadlinePassed
        );
    }
}
