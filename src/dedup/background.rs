//! Background word frequencies: how common a word is in English at large, so event clustering
//! weighs words the same in a window of ten stories as in one of a hundred thousand.
//!
//! The table (`background_idf.txt.gz`, ~60,000 words) is made at development time by
//! `tools/background_idf.py` from the `wordfreq` package and compiled into the binary.

use std::io::Read;
use std::sync::OnceLock;

use super::cluster::{term_hash, TermMap};

static TABLE: &[u8] = include_bytes!("background_idf.txt.gz");

/// Words in a typical news article: turns a word's frequency per word into the share of
/// articles that use it.
const ARTICLE_WORDS: f64 = 400.0;

/// Zipf value (log10 of uses per billion words) given to a word outside the table: rarer than
/// any word in it (the table ends near 2.4).
const UNSEEN_ZIPF: f64 = 1.5;

/// Share of articles a word is expected in, by term hash.
#[derive(Debug)]
pub(crate) struct Background {
    share: TermMap<f32>,
    unseen: f32,
}

impl Background {
    /// Share of general news articles that use this term (0–1).
    pub(crate) fn share(&self, term: u64) -> f32 {
        self.share.get(&term).copied().unwrap_or(self.unseen)
    }

    /// Words in the table.
    #[cfg(test)]
    pub(crate) fn len(&self) -> usize {
        self.share.len()
    }
}

/// Share of articles using a word with this Zipf frequency (at least once in
/// [`ARTICLE_WORDS`] words, occurrences taken as independent).
fn article_share(zipf: f64) -> f32 {
    let per_word = 10f64.powf(zipf - 9.0);
    (1.0 - (-per_word * ARTICLE_WORDS).exp()).clamp(1e-9, 1.0) as f32
}

fn parse(text: &str) -> TermMap<f32> {
    let mut share = TermMap::default();
    for line in text.lines() {
        let mut parts = line.split(' ');
        let Some(zipf) = parts.next().and_then(|z| z.parse::<f64>().ok()) else {
            continue;
        };
        let s = article_share(zipf / 10.0);
        for word in parts.filter(|w| !w.is_empty()) {
            share.entry(term_hash(word)).or_insert(s);
        }
    }
    share
}

/// The table, decoded on first use. A table that does not decode (it is part of the build,
/// so only a broken build could) leaves every word "unseen", i.e. window counts alone.
pub(crate) fn background() -> &'static Background {
    static BG: OnceLock<Background> = OnceLock::new();
    BG.get_or_init(|| {
        let mut text = String::new();
        let share = match flate2::read::GzDecoder::new(TABLE).read_to_string(&mut text) {
            Ok(_) => parse(&text),
            Err(e) => {
                tracing::error!(error = %e, "background word table does not decode");
                TermMap::default()
            }
        };
        Background {
            share,
            unseen: article_share(UNSEEN_ZIPF),
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_shipped_table_ranks_words_by_how_common_they_are() {
        let bg = background();
        assert!(bg.len() > 50_000, "{} words", bg.len());
        let s = |w: &str| bg.share(term_hash(w));
        assert!(s("people") > s("earthquake"));
        assert!(s("earthquake") > s("valparaiso"));
        // A word in no table is rarer than the rarest listed one.
        assert!(s("zzqxj") <= s("valparaiso"));
        assert!(s("people") > 0.2 && s("people") <= 1.0);
    }
}
