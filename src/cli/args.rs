//! The command line's names for library values that flags take. The library's types carry no
//! clap derive (the CLI is the binary's business); each enum here maps onto one of them.

use clap::ValueEnum;
use newsdesk::model::{Outcome, StoryStatus};

/// `--outcome`: the command line's names for the library's [`Outcome`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
#[value(rename_all = "snake_case")]
pub enum OutcomeArg {
    /// A new story was stored.
    Stored,
    /// The item is a story already stored.
    Duplicate,
    /// The item is not about the topic.
    OffTopic,
    /// The item or the source could not be processed.
    Failed,
    /// The source was read (scope `source`).
    Fetched,
    /// The source answered 304 Not Modified (scope `source`).
    NotModified,
    /// An item whose article kept failing was given up (scope `item`); it is not tried again.
    GivenUp,
}

impl From<OutcomeArg> for Outcome {
    fn from(o: OutcomeArg) -> Outcome {
        match o {
            OutcomeArg::Stored => Outcome::Stored,
            OutcomeArg::Duplicate => Outcome::Duplicate,
            OutcomeArg::OffTopic => Outcome::OffTopic,
            OutcomeArg::Failed => Outcome::Failed,
            OutcomeArg::Fetched => Outcome::Fetched,
            OutcomeArg::NotModified => Outcome::NotModified,
            OutcomeArg::GivenUp => Outcome::GivenUp,
        }
    }
}

/// `--status`: the command line's names for the library's [`StoryStatus`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum StoryStatusArg {
    /// Waiting for an editor or the publishing system.
    New,
    /// Handed to publishing.
    Published,
    /// Turned down.
    Rejected,
}

impl From<StoryStatusArg> for StoryStatus {
    fn from(s: StoryStatusArg) -> StoryStatus {
        match s {
            StoryStatusArg::New => StoryStatus::New,
            StoryStatusArg::Published => StoryStatus::Published,
            StoryStatusArg::Rejected => StoryStatus::Rejected,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The flag spells each value as the database and the JSON outputs do.
    #[test]
    fn flag_names_are_the_library_spellings() {
        for o in OutcomeArg::value_variants() {
            let name = o.to_possible_value().map(|v| v.get_name().to_string());
            assert_eq!(name.as_deref(), Some(Outcome::from(*o).as_str()));
        }
        for s in StoryStatusArg::value_variants() {
            let name = s.to_possible_value().map(|v| v.get_name().to_string());
            assert_eq!(name.as_deref(), Some(StoryStatus::from(*s).as_str()));
        }
    }
}
