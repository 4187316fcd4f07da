//! Decoding bytes to UTF-8: BOM, then HTTP charset, then `<meta>`, then sniffing.
//!
//! Takes raw body bytes and the `Content-Type` header; gives UTF-8 text and the encoding used.

use encoding_rs::{Encoding, UTF_8};

/// How many leading bytes are searched for a `<meta>` charset (the HTML spec says 1024; real pages
/// put long scripts first, so look further).
const META_SCAN_BYTES: usize = 4096;

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
    if let Some(enc) = content_type.and_then(charset_from_content_type) {
        return enc;
    }
    if let Some(enc) = meta_charset(body) {
        return enc;
    }
    sniff(body)
}

/// The `charset=` parameter of a `Content-Type` value, when encoding_rs knows the label.
pub fn charset_from_content_type(content_type: &str) -> Option<&'static Encoding> {
    content_type.split(';').skip(1).find_map(|param| {
        let (k, v) = param.split_once('=')?;
        if !k.trim().eq_ignore_ascii_case("charset") {
            return None;
        }
        Encoding::for_label(v.trim().trim_matches(['"', '\'']).as_bytes())
    })
}

/// Guesses the encoding of bytes that declare none, with chardetng.
pub fn sniff(body: &[u8]) -> &'static Encoding {
    if std::str::from_utf8(body).is_ok() {
        return UTF_8;
    }
    let mut det = chardetng::EncodingDetector::new();
    det.feed(body, true);
    det.guess(None, true)
}

/// `<meta charset>` or `<meta http-equiv="content-type" content="…; charset=…">` near the top.
fn meta_charset(body: &[u8]) -> Option<&'static Encoding> {
    let head = &body[..body.len().min(META_SCAN_BYTES)];
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
        charset_from_content_type(el.attr("content")?)
    })?;
    // A page whose bytes we could read as ASCII cannot really be UTF-16 (HTML spec rule).
    if enc == encoding_rs::UTF_16LE || enc == encoding_rs::UTF_16BE {
        return Some(UTF_8);
    }
    Some(enc)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn header_charset_wins_over_sniffing() {
        let body = b"<p>caf\xe9</p>";
        assert_eq!(
            decode_html(body, Some("text/html; charset=ISO-8859-1")),
            "<p>café</p>"
        );
    }

    #[test]
    fn meta_charset_used_without_header() {
        let mut body = b"<html><head><meta charset=\"windows-1251\"></head><body>".to_vec();
        body.extend_from_slice(&[0xcf, 0xf0, 0xe8, 0xe2, 0xe5, 0xf2]);
        assert!(decode_html(&body, Some("text/html")).contains("Привет"));
        let mut body =
            b"<meta http-equiv='Content-Type' content='text/html; charset=koi8-r'>".to_vec();
        body.extend_from_slice(&[0xf0, 0xd2, 0xc9, 0xd7, 0xc5, 0xd4]);
        assert!(decode_html(&body, None).contains("Привет"));
    }

    #[test]
    fn bom_wins_and_sniffing_fallback() {
        let body = b"\xef\xbb\xbf<p>\xc3\xa9</p>";
        assert_eq!(
            decode_html(body, Some("text/html; charset=latin1")),
            "<p>é</p>"
        );
        let sjis = encoding_rs::SHIFT_JIS
            .encode("<p>これは日本語のテキストです。ニュース記事の本文。</p>")
            .0;
        assert!(decode_html(&sjis, None).contains("日本語"));
    }
}
