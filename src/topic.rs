//! Topic stage: decides whether a story is about the configured topic.
//!
//! Takes the `[topic]` rules once ([`TopicMatcher::new`]) and then a title and body per story;
//! gives a [`TopicVerdict`] with the score and a reason a person can read in the ingestion log.
//!
//! The rule, in short (README "Topic"): every `required` group of alternative terms must be
//! mentioned `min_mentions` times, at least one paragraph must mention every group (a story that
//! names both companies only in separate asides is not about their partnership), and the weighted
//! score must reach `threshold`. The score adds each weighted term's weight once per mention, at
//! most three mentions per term, plus one point per paragraph that mentions every required group
//! (at most four), so length alone cannot buy a pass.

use aho_corasick::{AhoCorasick, AhoCorasickBuilder, MatchKind};

use crate::config::TopicConfig;

/// Mentions of one term counted towards the score at most this often.
const MAX_COUNTED_MENTIONS: usize = 3;
/// Paragraphs naming every required group add this much each, up to [`MAX_CO_MENTION_PARAGRAPHS`].
const CO_MENTION_POINTS: f64 = 1.0;
const MAX_CO_MENTION_PARAGRAPHS: usize = 4;

/// The verdict on one story.
#[derive(Debug, Clone, PartialEq)]
pub struct TopicVerdict {
    /// Kept or not.
    pub on_topic: bool,
    /// Weighted score (see the module doc).
    pub score: f64,
    /// Why, in words: the failing rule, or the strongest terms.
    pub reason: String,
}

#[derive(Debug, Clone, Copy)]
enum TermRole {
    Required(usize),
    Weighted(f64),
}

/// Compiled topic rules.
#[derive(Debug, Clone)]
pub struct TopicMatcher {
    automaton: AhoCorasick,
    /// Per pattern: its display form and what it counts for.
    terms: Vec<(String, TermRole)>,
    group_names: Vec<String>,
    min_mentions: usize,
    threshold: f64,
    name: String,
}

/// Why the topic rules could not be compiled.
#[derive(Debug, thiserror::Error)]
#[error("topic rules cannot be compiled: {0}")]
pub struct TopicError(String);

impl TopicMatcher {
    /// Compiles the `[topic]` rules.
    pub fn new(cfg: &TopicConfig) -> Result<TopicMatcher, TopicError> {
        let mut terms = Vec::new();
        for (g, group) in cfg.required.iter().enumerate() {
            for t in group {
                terms.push((t.trim().to_string(), TermRole::Required(g)));
            }
        }
        for (t, w) in &cfg.weighted {
            terms.push((t.trim().to_string(), TermRole::Weighted(*w)));
        }
        let automaton = AhoCorasickBuilder::new()
            .ascii_case_insensitive(true)
            .match_kind(MatchKind::LeftmostLongest)
            .build(terms.iter().map(|(t, _)| t.as_str()))
            .map_err(|e| TopicError(e.to_string()))?;
        Ok(TopicMatcher {
            automaton,
            terms,
            group_names: cfg
                .required
                .iter()
                .map(|g| g.first().cloned().unwrap_or_default())
                .collect(),
            min_mentions: cfg.min_mentions,
            threshold: cfg.threshold,
            name: cfg.name.clone(),
        })
    }

    /// The topic's display name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// Scores a story.
    pub fn evaluate(&self, title: &str, text: &str) -> TopicVerdict {
        let groups = self.group_names.len();
        let mut group_mentions = vec![0usize; groups];
        let mut term_mentions = vec![0usize; self.terms.len()];
        let mut co_paragraphs = 0usize;

        for paragraph in std::iter::once(title).chain(text.lines()) {
            let mut seen_in_paragraph = vec![false; groups];
            for m in self.automaton.find_iter(paragraph) {
                if !is_whole_word(paragraph, m.start(), m.end()) {
                    continue;
                }
                let idx = m.pattern().as_usize();
                term_mentions[idx] += 1;
                if let TermRole::Required(g) = self.terms[idx].1 {
                    group_mentions[g] += 1;
                    seen_in_paragraph[g] = true;
                }
            }
            if groups > 0 && seen_in_paragraph.iter().all(|s| *s) {
                co_paragraphs += 1;
            }
        }

        let mut score = 0.0;
        let mut contributions: Vec<(f64, String)> = Vec::new();
        for (idx, (term, role)) in self.terms.iter().enumerate() {
            if let TermRole::Weighted(w) = role {
                let n = term_mentions[idx].min(MAX_COUNTED_MENTIONS);
                if n > 0 {
                    score += w * n as f64;
                    contributions.push((w * n as f64, format!("{term}×{}", term_mentions[idx])));
                }
            }
        }
        let co_points = co_paragraphs.min(MAX_CO_MENTION_PARAGRAPHS) as f64 * CO_MENTION_POINTS;
        score += co_points;

        let mentions = self
            .group_names
            .iter()
            .zip(&group_mentions)
            .map(|(g, n)| format!("{g}×{n}"))
            .collect::<Vec<_>>()
            .join(", ");

        if let Some((g, n)) = self
            .group_names
            .iter()
            .zip(&group_mentions)
            .find(|(_, n)| **n < self.min_mentions)
        {
            return TopicVerdict {
                on_topic: false,
                score,
                reason: format!(
                    "'{g}' mentioned {n} time(s), {} needed ({mentions})",
                    self.min_mentions
                ),
            };
        }
        if groups > 1 && co_paragraphs == 0 {
            return TopicVerdict {
                on_topic: false,
                score,
                reason: format!("no paragraph mentions {} together ({mentions})", {
                    self.group_names.join(" and ")
                }),
            };
        }
        contributions.sort_by(|a, b| b.0.total_cmp(&a.0));
        let top = contributions
            .iter()
            .take(5)
            .map(|(_, s)| s.as_str())
            .collect::<Vec<_>>()
            .join(", ");
        let detail = format!("{mentions}; {co_paragraphs} joint paragraph(s); {top}");
        if score < self.threshold {
            TopicVerdict {
                on_topic: false,
                score,
                reason: format!(
                    "score {score:.1} below threshold {:.1} ({detail})",
                    self.threshold
                ),
            }
        } else {
            TopicVerdict {
                on_topic: true,
                score,
                reason: format!(
                    "score {score:.1} >= threshold {:.1} ({detail})",
                    self.threshold
                ),
            }
        }
    }
}

/// A match counts only as a whole word: "OpenAI" in "OpenAI’s" yes, "deal" in "dealer" no.
fn is_whole_word(text: &str, start: usize, end: usize) -> bool {
    let before = text[..start].chars().next_back();
    let after = text[end..].chars().next();
    !before.is_some_and(char::is_alphanumeric) && !after.is_some_and(char::is_alphanumeric)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn matcher() -> TopicMatcher {
        TopicMatcher::new(&TopicConfig::default()).expect("default rules compile")
    }

    #[test]
    fn seeds_are_on_topic() {
        let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/seeds");
        let mut n = 0;
        for entry in std::fs::read_dir(&dir).expect("seeds folder") {
            let path = entry.expect("entry").path();
            let text = std::fs::read_to_string(&path).expect("seed text");
            let v = matcher().evaluate("", &text);
            assert!(v.on_topic, "{}: {}", path.display(), v.reason);
            n += 1;
        }
        assert_eq!(n, 5);
    }

    #[test]
    fn passing_mention_is_off_topic() {
        let text = "Google released Gemini 3 today, a model that beats rivals on reasoning.\n\
                    The company said the model is available in its cloud.\n\
                    Analysts compared it with systems from OpenAI and said Microsoft customers may \
                    also care.\nThe deal with Samsung puts it on phones.";
        let v = matcher().evaluate("Google launches Gemini 3", text);
        assert!(!v.on_topic, "{}", v.reason);
        assert!(v.reason.contains("needed"), "{}", v.reason);
    }

    #[test]
    fn both_named_but_never_together_is_off_topic() {
        let text = "Microsoft reported earnings. Microsoft shares rose.\n\
                    Elsewhere, OpenAI hired staff. OpenAI opened an office.";
        let v = matcher().evaluate("", text);
        assert!(!v.on_topic);
        assert!(v.reason.contains("together"), "{}", v.reason);
    }

    #[test]
    fn whole_words_only() {
        assert!(is_whole_word("OpenAI’s deal", 0, 6));
        assert!(!is_whole_word("dealer", 0, 4));
        let v = matcher().evaluate("", "Microsoft OpenAI dealers dealers dealers");
        assert!(!v.reason.contains("deal×"), "{}", v.reason);
    }

    #[test]
    fn score_is_capped_per_term() {
        let para =
            "Microsoft and OpenAI partnership partnership partnership partnership partnership.";
        let v = matcher().evaluate("", &format!("{para}\n{para}"));
        // partnership: 3 weight × at most 3 mentions = 9; two joint paragraphs = 2.
        assert!((v.score - 11.0).abs() < 1e-9, "{}", v.score);
    }
}
