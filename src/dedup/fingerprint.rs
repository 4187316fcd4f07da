//! Level 2 of dedup: an exact fingerprint of the normalized body text.

use sha2::{Digest, Sha256};

/// Exact-content fingerprint: SHA-256 of the body's words, lower-cased and joined by one space,
/// as hex. Whitespace, punctuation and case changes do not change it; any word change does.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct StoryFingerprint(pub String);

impl StoryFingerprint {
    /// Fingerprint of a body text.
    pub fn of_text(text: &str) -> StoryFingerprint {
        let mut hasher = Sha256::new();
        for (i, word) in super::words(text).enumerate() {
            if i > 0 {
                hasher.update(b" ");
            }
            hasher.update(word.as_bytes());
        }
        let digest = hasher.finalize();
        let mut hex = String::with_capacity(64);
        for byte in digest {
            hex.push_str(&format!("{byte:02x}"));
        }
        StoryFingerprint(hex)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn whitespace_case_and_punctuation_do_not_matter() {
        let a = StoryFingerprint::of_text("Microsoft and OpenAI  sign a new deal.\n\nIt is big!");
        let b = StoryFingerprint::of_text("microsoft and openai sign a new deal — it is big");
        assert_eq!(a, b);
        assert_eq!(a.0.len(), 64);
    }

    #[test]
    fn a_word_change_does() {
        let a = StoryFingerprint::of_text("Microsoft and OpenAI sign a new deal");
        let b = StoryFingerprint::of_text("Microsoft and OpenAI sign an old deal");
        assert_ne!(a, b);
    }
}
