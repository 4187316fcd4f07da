//! The one charset decoder: bytes from the network (or a file) to UTF-8 text.
//!
//! Every stage that reads text goes through here, in the order the standards give:
//! a byte-order mark, then the HTTP `Content-Type` charset, then what the document declares
//! itself (the XML declaration for feeds, `<meta charset>` / `http-equiv` for HTML pages), then
//! statistical sniffing (chardetng). [`decode_html`] follows the HTML rules (pages),
//! [`decode_feed`] the XML ones (feeds, which may also be UTF-32 and fall back on the next
//! candidate when a declared label does not decode), [`decode_guess`] serves files read from disk.
//!
//! The `Content-Type` parameter is read leniently ([`content_type_charset`]): the `mime` crate
//! was tried and refuses headers servers really send and browsers accept (`charset = utf-8`,
//! `charset='koi8-r'`, a trailing bare parameter), which would have changed what we decode.

use encoding_rs::{Encoding, UTF_16BE, UTF_16LE, UTF_8};

/// How many leading bytes are searched for a `<meta>` charset (the HTML spec says 1024; real pages
/// put long scripts first, so look further).
const META_SCAN_BYTES: usize = 4096;

/// How many leading bytes may hold an XML declaration.
const XML_DECL_SCAN_BYTES: usize = 512;

/// Decodes an HTML page to UTF-8 (malformed sequences become U+FFFD).
pub fn decode_html(body: &[u8], content_type: Option<&str>) -> String {
    let enc = html_encoding(body, content_type);
    // decode() also honours a BOM, which wins over everything per the HTML spec.
    let (text, _, _) = enc.decode(body);
    text.into_owned()
}

/// The encoding an HTML page is in: BOM, HTTP charset, `<meta>`, then statistical sniffing.
pub fn html_encoding(body: &[u8], content_type: Option<&str>) -> &'static Encoding {
    if let Some((enc, _)) = Encoding::for_bom(body) {
        return enc;
    }
    // The first charset parameter that names an encoding encoding_rs knows.
    if let Some(enc) = content_type.and_then(|ct| {
        content_type_charsets(ct).find_map(|label| Encoding::for_label(label.as_bytes()))
    }) {
        return enc;
    }
    if let Some(enc) = meta_charset(body) {
        return enc;
    }
    sniff(body)
}

/// The `charset` parameter of a `Content-Type` value, unquoted and lower-cased (the first one when
/// a header repeats it; empty when the header says `charset=` and nothing). Lenient like
/// browsers: spaces around `=`, single or double quotes, and malformed neighbouring parameters
/// are all tolerated.
pub fn content_type_charset(content_type: &str) -> Option<String> {
    content_type_charsets(content_type).next()
}

/// Every `charset` parameter of a `Content-Type` value, in order (see [`content_type_charset`]).
pub fn content_type_charsets(content_type: &str) -> impl Iterator<Item = String> + '_ {
    content_type.split(';').skip(1).filter_map(|param| {
        let (key, value) = param.split_once('=')?;
        key.trim().eq_ignore_ascii_case("charset").then(|| {
            value
                .trim()
                .trim_matches(['"', '\''])
                .trim()
                .to_ascii_lowercase()
        })
    })
}

/// Guesses the encoding of bytes that declare none: UTF-8 when they are valid UTF-8, otherwise
/// chardetng's guess.
pub fn sniff(body: &[u8]) -> &'static Encoding {
    if std::str::from_utf8(body).is_ok() {
        return UTF_8;
    }
    let mut det = chardetng::EncodingDetector::new();
    det.feed(body, true);
    det.guess(None, true)
}

/// Text of bytes with no header and no declaration (files given on the command line): UTF-8
/// when valid (kept byte for byte), otherwise decoded in the encoding [`sniff`] guesses.
pub fn decode_guess(raw: Vec<u8>) -> String {
    match String::from_utf8(raw) {
        Ok(s) => s,
        Err(e) => {
            let raw = e.into_bytes();
            let (text, _, _) = sniff(&raw).decode(&raw);
            text.into_owned()
        }
    }
}

/// `<meta charset>` or `<meta http-equiv="content-type" content="…; charset=…">` near the top
/// of an HTML page.
pub fn meta_charset(body: &[u8]) -> Option<&'static Encoding> {
    let head = body.get(..body.len().min(META_SCAN_BYTES)).unwrap_or(body);
    // windows-1252 maps every byte, so the ASCII markup survives whatever the real encoding is.
    let (text, _, _) = encoding_rs::WINDOWS_1252.decode(head);
    let doc = scraper::Html::parse_document(&text);
    let sel = scraper::Selector::parse("meta[charset], meta[http-equiv][content]").ok()?;
    let enc = doc.select(&sel).find_map(|m| {
        let el = m.value();
        if let Some(cs) = el.attr("charset") {
            return Encoding::for_label(cs.trim().as_bytes());
        }
        let equiv = el.attr("http-equiv")?;
        if !equiv.trim().eq_ignore_ascii_case("content-type") {
            return None;
        }
        content_type_charsets(el.attr("content")?)
            .find_map(|label| Encoding::for_label(label.as_bytes()))
    })?;
    // A page whose bytes we could read as ASCII cannot really be UTF-16 (HTML spec rule).
    if enc == UTF_16LE || enc == UTF_16BE {
        return Some(UTF_8);
    }
    Some(enc)
}

/// `encoding` of the XML declaration (lower-cased), read with quick-xml.
pub fn xml_declared_encoding(body: &[u8]) -> Option<String> {
    let head = body
        .get(..body.len().min(XML_DECL_SCAN_BYTES))
        .unwrap_or(body);
    let mut reader = quick_xml::Reader::from_reader(head);
    let mut buf = Vec::new();
    match reader.read_event_into(&mut buf) {
        Ok(quick_xml::events::Event::Decl(d)) => {
            let enc = d.encoding()?.ok()?;
            Some(enc.trim().to_ascii_lowercase())
        }
        _ => None,
    }
}

/// The Unicode encoding an XML document announces by its first bytes: BOMs first (with their
/// length), then the XML spec's Appendix F patterns for `<?` / `<` without a BOM.
const SIGNATURES: &[(&[u8], Unicode, usize)] = &[
    (&[0x00, 0x00, 0xFE, 0xFF], Unicode::Utf32Be, 4),
    (&[0xFF, 0xFE, 0x00, 0x00], Unicode::Utf32Le, 4),
    (&[0xEF, 0xBB, 0xBF], Unicode::Utf8, 3),
    (&[0xFE, 0xFF], Unicode::Utf16Be, 2),
    (&[0xFF, 0xFE], Unicode::Utf16Le, 2),
    (&[0x00, 0x00, 0x00, 0x3C], Unicode::Utf32Be, 0),
    (&[0x3C, 0x00, 0x00, 0x00], Unicode::Utf32Le, 0),
    (&[0x00, 0x3C], Unicode::Utf16Be, 0),
    (&[0x3C, 0x00], Unicode::Utf16Le, 0),
];

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Unicode {
    Utf8,
    Utf16Be,
    Utf16Le,
    Utf32Be,
    Utf32Le,
}

impl Unicode {
    fn name(self) -> &'static str {
        match self {
            Unicode::Utf8 => "utf-8",
            Unicode::Utf16Be => "utf-16be",
            Unicode::Utf16Le => "utf-16le",
            Unicode::Utf32Be => "utf-32be",
            Unicode::Utf32Le => "utf-32le",
        }
    }

    fn decode(self, bytes: &[u8]) -> String {
        let whatwg = |enc: &'static Encoding| enc.decode_without_bom_handling(bytes).0.into_owned();
        match self {
            Unicode::Utf8 => whatwg(UTF_8),
            Unicode::Utf16Be => whatwg(UTF_16BE),
            Unicode::Utf16Le => whatwg(UTF_16LE),
            // encoding_rs has no UTF-32 (the web never needs it; feeds sometimes do).
            Unicode::Utf32Be | Unicode::Utf32Le => bytes
                .chunks(4)
                .map(|c| {
                    let mut b = [0u8; 4];
                    for (dst, src) in b.iter_mut().zip(c) {
                        *dst = *src;
                    }
                    let n = if self == Unicode::Utf32Be {
                        u32::from_be_bytes(b)
                    } else {
                        u32::from_le_bytes(b)
                    };
                    char::from_u32(n).unwrap_or('\u{FFFD}')
                })
                .collect(),
        }
    }
}

/// Labels that encoding_rs maps to a narrower decoder than the one real feeds need.
const LABEL_UPGRADES: &[(&str, &str)] = &[("gb2312", "gb18030"), ("gbk", "gb18030")];

/// Decodes a feed (XML or JSON) to UTF-8; gives the text and the label of the encoding used.
///
/// Order: BOM / Appendix F signature, then the first of (HTTP charset — `us-ascii` for `text/*`
/// without one, per RFC 3023 —, XML declaration, chardetng guess, UTF-8, windows-1252) that
/// decodes the bytes without error.
pub fn decode_feed(body: &[u8], content_type: Option<&str>) -> (String, String) {
    if let Some((_, uni, skip)) = SIGNATURES.iter().find(|(sig, _, _)| body.starts_with(sig)) {
        let rest = body.get(*skip..).unwrap_or_default();
        return (uni.decode(rest), uni.name().to_string());
    }
    let mut candidates: Vec<String> = Vec::with_capacity(5);
    if let Some(ct) = content_type {
        match content_type_charset(ct) {
            Some(cs) => candidates.push(cs),
            None if ct.trim().to_ascii_lowercase().starts_with("text/") => {
                candidates.push("us-ascii".into())
            }
            None => {}
        }
    }
    if let Some(label) = xml_declared_encoding(body) {
        candidates.push(label);
    }
    if std::str::from_utf8(body).is_err() {
        candidates.push(sniff(body).name().to_ascii_lowercase());
    }
    candidates.push("utf-8".into());
    candidates.push("windows-1252".into());
    // Valid UTF-8 with non-ASCII bytes under a single-byte label is a mislabelled UTF-8 document
    // (legacy text almost never forms valid multi-byte sequences): read it as UTF-8.
    let utf8_beyond_ascii = !body.is_ascii() && std::str::from_utf8(body).is_ok();
    for label in candidates {
        let label = LABEL_UPGRADES
            .iter()
            .find(|(from, _)| *from == label)
            .map_or(label.as_str(), |(_, to)| to)
            .to_string();
        if label == "us-ascii" || label == "ascii" {
            if body.is_ascii() {
                return (String::from_utf8_lossy(body).into_owned(), label);
            }
            continue;
        }
        let Some(enc) = Encoding::for_label(label.as_bytes()) else {
            continue;
        };
        // Bytes we could read as ASCII markup are not UTF-16, whatever they claim.
        if enc == UTF_16LE || enc == UTF_16BE {
            continue;
        }
        if utf8_beyond_ascii && enc.is_single_byte() {
            return (String::from_utf8_lossy(body).into_owned(), "utf-8".into());
        }
        if let Some(text) = enc.decode_without_bom_handling_and_without_replacement(body) {
            return (text.into_owned(), label);
        }
    }
    // windows-1252 above never fails; this only keeps the function total.
    (String::from_utf8_lossy(body).into_owned(), "utf-8".into())
}

#[cfg(test)]
mod tests {
    use super::*;

    const PRIVET_CP1251: &[u8] = &[0xcf, 0xf0, 0xe8, 0xe2, 0xe5, 0xf2];
    const PRIVET_KOI8R: &[u8] = &[0xf0, 0xd2, 0xc9, 0xd7, 0xc5, 0xd4];

    fn sjis(text: &str) -> Vec<u8> {
        encoding_rs::SHIFT_JIS.encode(text).0.into_owned()
    }

    // Rule 1: a byte-order mark wins over everything.
    #[test]
    fn bom_wins_over_header_and_declarations() {
        let body = b"\xef\xbb\xbf<p>\xc3\xa9</p>";
        assert_eq!(
            decode_html(body, Some("text/html; charset=latin1")),
            "<p>é</p>"
        );
        let mut utf16 = vec![0xFF, 0xFE];
        for unit in "<rss>é</rss>".encode_utf16() {
            utf16.extend_from_slice(&unit.to_le_bytes());
        }
        assert_eq!(
            decode_feed(&utf16, Some("text/xml; charset=iso-8859-1")),
            ("<rss>é</rss>".to_string(), "utf-16le".to_string())
        );
        let mut utf32 = vec![0x00, 0x00, 0xFE, 0xFF];
        for c in "<rss>ü</rss>".chars() {
            utf32.extend_from_slice(&u32::from(c).to_be_bytes());
        }
        assert_eq!(
            decode_feed(&utf32, None),
            ("<rss>ü</rss>".to_string(), "utf-32be".to_string())
        );
        // No BOM, but UTF-16 markup by its first bytes (XML Appendix F).
        let bare: Vec<u8> = "<a/>"
            .encode_utf16()
            .flat_map(|u| u.to_be_bytes())
            .collect();
        assert_eq!(decode_feed(&bare, None).1, "utf-16be");
    }

    // Rule 2: the HTTP Content-Type charset, read leniently.
    #[test]
    fn content_type_charset_forms() {
        let cases: &[(&str, Option<&str>)] = &[
            ("text/html; charset=ISO-8859-1", Some("iso-8859-1")),
            ("text/html;charset=utf-8", Some("utf-8")),
            ("text/html; charset=\"UTF-8\"", Some("utf-8")),
            ("text/html; charset='koi8-r'", Some("koi8-r")),
            ("text/html; Charset = Big5 ", Some("big5")),
            ("text/xml; charset=utf-8;", Some("utf-8")),
            ("text/html; charset=utf-8; foo", Some("utf-8")),
            (
                "text/html; format=flowed; charset=windows-1251",
                Some("windows-1251"),
            ),
            ("text/html", None),
            ("text/html; charset", None),
            ("text/html; charset=", Some("")),
            ("charset=utf-8", None),
        ];
        for (ct, want) in cases {
            assert_eq!(content_type_charset(ct).as_deref(), *want, "{ct}");
        }
        // A page takes the first charset parameter that names an encoding.
        assert_eq!(
            html_encoding(
                b"<p>x</p>",
                Some("text/html; charset=bogus; charset=koi8-r")
            ),
            encoding_rs::KOI8_R
        );
    }

    #[test]
    fn header_charset_wins_over_meta_and_sniffing() {
        let body = b"<meta charset=\"koi8-r\"><p>caf\xe9</p>";
        assert_eq!(
            decode_html(body, Some("text/html; charset=ISO-8859-1")),
            "<meta charset=\"koi8-r\"><p>café</p>"
        );
        // An unknown label is ignored: the next rule decides.
        assert_eq!(
            html_encoding(body, Some("text/html; charset=no-such-thing")),
            encoding_rs::KOI8_R
        );
        let mut feed = b"<?xml version=\"1.0\" encoding=\"utf-8\"?><rss>".to_vec();
        feed.extend_from_slice(PRIVET_CP1251);
        feed.extend_from_slice(b"</rss>");
        let (text, label) = decode_feed(&feed, Some("application/rss+xml; charset=windows-1251"));
        assert_eq!(label, "windows-1251");
        assert!(text.contains("Привет"), "{text}");
    }

    // Feeds: `text/*` without a charset means us-ascii (RFC 3023) when the bytes are ASCII, and
    // a declared label that cannot decode the bytes gives way to the next candidate.
    #[test]
    fn feed_text_defaults_to_ascii_and_falls_through() {
        assert_eq!(decode_feed(b"<rss/>", Some("text/xml")).1, "us-ascii");
        assert_eq!(decode_feed(b"<rss/>", Some("application/xml")).1, "utf-8");
        let latin = b"<rss>caf\xe9</rss>";
        let (text, label) = decode_feed(latin, Some("text/xml; charset=utf-8"));
        assert_ne!(label, "utf-8");
        assert!(text.contains("café"), "{text}");
        // Valid UTF-8 beyond ASCII under a single-byte label is read as UTF-8.
        let (text, label) =
            decode_feed("<rss>é</rss>".as_bytes(), Some("text/xml; charset=latin1"));
        assert_eq!((text.as_str(), label.as_str()), ("<rss>é</rss>", "utf-8"));
        // gb2312 is read with the wider gb18030 decoder.
        let gb = encoding_rs::GB18030
            .encode("<rss>新闻</rss>")
            .0
            .into_owned();
        assert_eq!(
            decode_feed(&gb, Some("text/xml; charset=gb2312")),
            ("<rss>新闻</rss>".to_string(), "gb18030".to_string())
        );
    }

    // Rule 3a (feeds): the XML declaration.
    #[test]
    fn xml_declaration_read() {
        let mut feed = b"<?xml version=\"1.0\" encoding=\"KOI8-R\"?>\n<rss>".to_vec();
        feed.extend_from_slice(PRIVET_KOI8R);
        feed.extend_from_slice(b"</rss>");
        assert_eq!(xml_declared_encoding(&feed).as_deref(), Some("koi8-r"));
        let (text, label) = decode_feed(&feed, None);
        assert_eq!(label, "koi8-r");
        assert!(text.contains("Привет"), "{text}");
        assert_eq!(xml_declared_encoding(b"<rss version=\"2.0\"/>"), None);
        assert_eq!(
            xml_declared_encoding(b"<?xml version=\"1.0\"?><rss/>"),
            None
        );
    }

    // Rule 3b (pages): `<meta charset>` and `http-equiv`.
    #[test]
    fn meta_charset_used_without_header() {
        let mut body = b"<html><head><meta charset=\"windows-1251\"></head><body>".to_vec();
        body.extend_from_slice(PRIVET_CP1251);
        assert!(decode_html(&body, Some("text/html")).contains("Привет"));
        let mut body =
            b"<meta http-equiv='Content-Type' content='text/html; charset=koi8-r'>".to_vec();
        body.extend_from_slice(PRIVET_KOI8R);
        assert!(decode_html(&body, None).contains("Привет"));
        // Readable as ASCII markup, so not really UTF-16.
        assert_eq!(meta_charset(b"<meta charset=utf-16le>"), Some(UTF_8));
        // Beyond the scanned head, a declaration is not seen.
        let mut late = vec![b' '; META_SCAN_BYTES];
        late.extend_from_slice(b"<meta charset=koi8-r>");
        assert_eq!(meta_charset(&late), None);
    }

    // Rule 4: sniffing when nothing is declared.
    #[test]
    fn sniffing_fallback() {
        let text = "<p>これは日本語のテキストです。ニュース記事の本文。</p>";
        assert_eq!(sniff(text.as_bytes()), UTF_8);
        let bytes = sjis(text);
        assert_eq!(sniff(&bytes), encoding_rs::SHIFT_JIS);
        assert!(decode_html(&bytes, None).contains("日本語"));
        assert_eq!(decode_feed(&bytes, None).1, "shift_jis");
        assert_eq!(decode_guess(bytes), text);
        // Valid UTF-8 is kept byte for byte (a BOM included).
        assert_eq!(decode_guess("\u{feff}é".as_bytes().to_vec()), "\u{feff}é");
    }
}
