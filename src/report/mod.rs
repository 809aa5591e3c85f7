//! Reporters: render what a run found for people (terminal tables) and for
//! machines (JSON and other formats). Reporters return text; the CLI decides
//! where it goes.

pub mod findings;
pub mod model;
pub mod summary;
