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
//! [`MUTED_RAW_TEXT`]). The elements themselves stay, empty, so the tree keeps its shape. The
//! tokenizer does not even read that text: right after such a start tag the filter finds where
//! the text ends in the page and takes it out of the tokenizer's input (see
//! [`Guard::skip_raw_text`]).

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
/// Bytes of each queued input buffer compared with the page before raw text is taken out of it.
const CHECKED_BYTES: usize = 64;
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
    parse_with(html, deadline, true).map(|(doc, _)| doc)
}

/// [`parse_document`], and how many bytes of raw text the tokenizer was spared;
/// `jump_raw_text` false has it read the text of muted raw-text elements like any other (only
/// tests compare the two).
fn parse_with(
    html: &str,
    deadline: Option<Instant>,
    jump_raw_text: bool,
) -> Result<(Html, usize), DeadlinePassed> {
    // The node vector sized for the page up front: grown by doubling it was copied over and
    // over (several times the page's own size). Only the part used is ever touched.
    let mut doc = Html::new_document();
    let nodes = (html.len() / BYTES_PER_NODE).min(MAX_ELEMENTS);
    doc.tree = ego_tree::Tree::with_capacity(Node::Document, nodes.max(1));
    let builder = TreeBuilder::new(HtmlTreeSink::new(doc), TreeBuilderOpts::default());
    let input = BufferQueue::default();
    let guard = Guard::new(builder, html, &input, jump_raw_text);
    let tokenizer = Tokenizer::new(guard, TokenizerOpts::default());
    // Offset in `html` of the next byte to hand to the tokenizer.
    let mut at = 0;
    while at < html.len() {
        let mut cut = html.len().min(at + CHUNK_BYTES);
        while !html.is_char_boundary(cut) {
            cut += 1;
        }
        let chunk = html.get(at..cut).unwrap_or_default();
        input.push_back(StrTendril::from_slice(chunk));
        at = cut;
        tokenizer.sink.handed_over.set(at);
        // `Script` and encoding hints only pause the tokenizer; nothing runs scripts here.
        while !matches!(tokenizer.feed(&input), TokenizerResult::Done) {}
        // Raw text that ran past the input handed over: the tokenizer goes on at its end.
        if let Some(resume) = tokenizer.sink.resume_at.take() {
            at = resume;
        }
        if deadline.is_some_and(|d| Instant::now() >= d) {
            return Err(DeadlinePassed);
        }
    }
    tokenizer.end();
    let jumped = tokenizer.sink.jumped.get();
    Ok((tokenizer.sink.builder.sink.finish(), jumped))
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

/// Where raw text of element `name` read as `kind` (starting right after its start tag) stops
/// being plain text for the tokenizer, in bytes from the start of `text`: at the first `<` that
/// opens its end tag (`</name`, any ASCII case, then whitespace, `/` or `>`, as the HTML
/// tokenizer's "appropriate end tag"), or, in a script, at the first `<!--` (from there the
/// tokenizer's escaped states decide, so it reads that part itself); `text.len()` when neither
/// comes. Every byte before it the tokenizer would only emit as text: in these states a `<`
/// that starts neither is text too.
fn raw_text_end(text: &str, name: &str, kind: RawKind) -> usize {
    let script = kind == RawKind::ScriptData;
    let bytes = text.as_bytes();
    let mut from = 0;
    while let Some(found) = bytes.get(from..).and_then(|t| memchr::memchr(b'<', t)) {
        let at = from + found;
        let after = bytes.get(at + 1..).unwrap_or_default();
        if script && after.starts_with(b"!--") {
            return at;
        }
        if let Some(tag) = after.strip_prefix(b"/") {
            let ends = tag
                .get(..name.len())
                .is_some_and(|t| t.eq_ignore_ascii_case(name.as_bytes()))
                && matches!(
                    tag.get(name.len()),
                    Some(b'\t' | b'\n' | b'\x0c' | b'\r' | b' ' | b'/' | b'>')
                );
            if ends {
                return at;
            }
        }
        from = at + 1;
    }
    text.len()
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
struct Guard<'a> {
    builder: Builder,
    /// The whole page, and the tokenizer's input queue (the part of the page handed over and
    /// not yet read): for [`Guard::skip_raw_text`].
    html: &'a str,
    input: &'a BufferQueue,
    /// Offset in `html` where the input handed over so far ends.
    handed_over: Cell<usize>,
    /// Set when skipped raw text ends beyond the input handed over: where to go on.
    resume_at: Cell<Option<usize>>,
    /// Whether muted raw text is taken out of the input (else the tokenizer reads it).
    jump_raw_text: bool,
    /// Bytes of raw text taken out of the input (tests check the fast path ran).
    jumped: Cell<usize>,
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

impl<'a> Guard<'a> {
    fn new(
        builder: Builder,
        html: &'a str,
        input: &'a BufferQueue,
        jump_raw_text: bool,
    ) -> Guard<'a> {
        Guard {
            builder,
            html,
            input,
            handed_over: Cell::new(0),
            resume_at: Cell::new(None),
            jump_raw_text,
            jumped: Cell::new(0),
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
                    self.skip_raw_text(&tag.name, kind);
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
        if let (Some(name), TokenSinkResult::RawData(kind)) = (mute, &result) {
            self.skip_raw_text(&name, *kind);
            *self.skipping.borrow_mut() = Some(name);
        }
        result
    }

    /// Takes the text of raw-text element `name` out of the tokenizer's input, up to where the
    /// tokenizer would end it (see [`raw_text_end`]): called on its start tag, when the
    /// tokenizer has read exactly up to the tag's `>` and will read the rest as `kind` raw text.
    /// Read by the tokenizer, that text only became text tokens that this filter drops, one per
    /// line; it is a quarter to a half of a news page.
    ///
    /// The input queue holds the end of the input handed over, unread: the tokenizer stands at
    /// `handed_over` minus the bytes queued. If the queue does not read as that part of the
    /// page, nothing is taken out and the tokenizer reads the text as before.
    fn skip_raw_text(&self, name: &LocalName, kind: RawKind) {
        if !self.jump_raw_text {
            return;
        }
        let mut queued = Vec::new();
        while let Some(buf) = self.input.pop_front() {
            queued.push(buf);
        }
        let queued_bytes: usize = queued.iter().map(|b| b.len()).sum();
        let here = self.handed_over.get().checked_sub(queued_bytes);
        let text = here.and_then(|at| self.html.get(at..));
        // Each buffer's first bytes are compared (all of them would make a page of many tiny
        // styles quadratic): a queue that is not the page's unread end differs right there.
        let consistent = text.is_some_and(|text| {
            let mut rest = text.as_bytes();
            queued.iter().all(|buf| {
                let buf: &[u8] = (**buf).as_bytes();
                let head = buf.len().min(CHECKED_BYTES);
                match rest.split_at_checked(buf.len()) {
                    Some((page, tail)) if page.get(..head) == buf.get(..head) => {
                        rest = tail;
                        true
                    }
                    _ => false,
                }
            })
        });
        let (Some(text), true) = (text, consistent) else {
            // Put back as it was.
            for buf in queued.into_iter().rev() {
                self.input.push_front(buf);
            }
            return;
        };
        let mut skip = raw_text_end(text, name, kind);
        self.jumped.set(self.jumped.get() + skip);
        if skip > queued_bytes {
            // Ends past the input handed over: the queue goes, the page is handed over again
            // from the text's end.
            self.resume_at
                .set(self.handed_over.get().checked_add(skip - queued_bytes));
            return;
        }
        for mut buf in queued {
            let len = buf.len();
            if skip >= len {
                skip -= len;
                continue;
            }
            // `skip` is at a `<`, a character boundary; were it not, the buffer stays whole and
            // the tokenizer reads the rest of the text itself, as it would anyway.
            let _ = buf.try_pop_front(u32::try_from(skip).unwrap_or(0));
            skip = 0;
            self.input.push_back(buf);
        }
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

impl TokenSink for Guard<'_> {
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
    fn raw_text_taken_out_of_the_input_builds_the_same_tree() {
        let pad = |n: usize| "x".repeat(n);
        let cases = [
            // What ends raw text and what does not: case, delimiters, longer names, `<` in code.
            "<p>a</p><script>if (a<b && c</d) { s = '</div>'; }</SCRIPT ><p>b</p>".to_string(),
            "<script>x = '</scripts>' + '</script'</script\t>after<p>c".into(),
            "<script>a</script/><p>d</p><style>p { color: red }</style/>e".into(),
            "<style>a</styl</style x=1><p>e</p><noscript><img src=x></NOSCRIPT><iframe>f</iframe>g"
                .into(),
            "<script>a</script\r\n>b<script>c</script\x0c>d".into(),
            // A script's `<!--` puts the tokenizer in its escaped states: it reads from there.
            "<script><!-- document.write('<script>x()</script>'); --></script><p>h</p>".into(),
            "<script>var a = 1; <!-- <script> </script> b --> </script><p>i</p>".into(),
            "<script>a <! b <!- c <!x</script><p>j</p>".into(),
            // The end of the page inside raw text, and an end tag cut by the end of the page.
            "<p>k</p><script>never closed <p>l</p>".into(),
            "<p>m</p><style>p {} </style".into(),
            "<p>n</p><script></script".into(),
            // Kept raw text (JSON-LD, a title, a textarea) and foreign content's `<style>`.
            "<script type=application/ld+json>{\"a\": \"</b>\"}</script><title>t</title>\
             <textarea></textarea></textarea><svg><style>s</style><script>q</script></svg>o"
                .into(),
            "<script/>p<style/>q".into(),
            // Raw text across the input's chunks, and end tags cut by a chunk's end.
            format!("<p>r</p><script>{}</script><p>s</p>", pad(3 * CHUNK_BYTES)),
            format!(
                "{}<script>{}</script><p>u</p>",
                pad(CHUNK_BYTES - 20),
                pad(14)
            ),
            format!("{}<style>{}</style>v", pad(CHUNK_BYTES - 10), pad(3)),
            format!(
                "{}<style>é{}</style>w",
                pad(CHUNK_BYTES - 12),
                "ü".repeat(5)
            ),
            // Raw text of elements dropped past the depth limit.
            format!(
                "{}<script>a<b</script><title>x</title><style>c</style>y{}",
                "<div>".repeat(2 * MAX_DEPTH),
                "</div>".repeat(2 * MAX_DEPTH)
            ),
            "\u{feff}<script>\0a\r\nb</script>\r\nz".into(),
        ];
        let mut jumped_total = 0;
        for html in &cases {
            let (fast, jumped) = parse_with(html, None, true).expect("no deadline");
            let (read, none) = parse_with(html, None, false).expect("no deadline");
            assert_eq!(
                format!("{:?}", fast.tree),
                format!("{:?}", read.tree),
                "{html}"
            );
            assert_eq!(none, 0);
            jumped_total += jumped;
        }
        // The fast path ran: most of the raw text above was taken out.
        assert!(jumped_total > 3 * CHUNK_BYTES, "{jumped_total}");
    }

    #[test]
    fn raw_text_ends_where_the_tokenizer_ends_it() {
        let end = |t: &str, name: &str, kind| raw_text_end(t, name, kind);
        assert_eq!(end("a<b</x</style>", "style", RawKind::Rawtext), 6);
        assert_eq!(end("a</STYLE\n", "style", RawKind::Rawtext), 1);
        assert_eq!(end("a</styles></style", "style", RawKind::Rawtext), 17);
        assert_eq!(end("a<!-- </x>", "script", RawKind::ScriptData), 1);
        assert_eq!(end("a<!-- </x>", "style", RawKind::Rawtext), 10);
        assert_eq!(end("a <!- </script/", "script", RawKind::ScriptData), 6);
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
