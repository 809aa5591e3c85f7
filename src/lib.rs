//! rampart: a read-only AWS security posture scanner.
//!
//! Data flows top to bottom through the modules: [`cli`] parses the
//! command line, [`collect`] takes a read-only [`snapshot`] of an account,
//! [`analyze`] derives facts from it, the [`engine`] evaluates the rules
//! into [`results`], [`triage`] applies suppressions and baselines (and
//! [`compliance`] recounts each framework's controls), and
//! [`report`] renders the results. [`pipeline`] runs the stages after
//! collection in that order.

pub mod analyze;
pub mod cli;
pub mod collect;
pub mod compliance;
pub mod engine;
pub mod error;
pub mod files;
pub mod org;
pub mod pipeline;
pub mod report;
pub mod results;
pub mod snapshot;
pub mod triage;
pub mod verdict;
