//! Export stage: stored stories and configured sources as documents for other systems.
//!
//! Takes stored [`Story`](crate::store::Story)s (with their [`relations`]) or configured
//! sources; gives documents as strings: [`stories`] renders JSON Feed 1.1, Atom 1.0 and NDJSON,
//! [`opml`] reads and writes OPML 2.0. Used by the daemon's feeds, the desk and the CLI.

pub mod opml;
pub mod relations;
pub mod stories;

pub use opml::{opml_export, opml_import, plan_import, ImportPlan, OpmlError, OpmlSource};
pub use relations::{relations, DroppedCopy, Relations, SameEvent, StoryRelations};
pub use stories::{atom, atom_id, json_feed, ndjson, render, render_related, StoryFormat};

use quick_xml::escape::escape;

/// Drops characters XML 1.0 does not allow, then escapes.
fn xml_text(s: &str) -> String {
    let clean: String = s
        .chars()
        .filter(|c| matches!(*c, '\t' | '\n' | '\r' | '\u{20}'..='\u{D7FF}' | '\u{E000}'..='\u{FFFD}' | '\u{10000}'..='\u{10FFFF}'))
        .collect();
    escape(clean.as_str()).into_owned()
}
