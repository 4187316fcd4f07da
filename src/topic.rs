//! Topic stage: decides whether a story is about the configured topic.
