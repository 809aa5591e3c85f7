//! rampart: a read-only AWS security posture scanner.
//!
//! Data flows top to bottom through the modules: [`cli`] parses the
//! command line, [`collect`] takes a read-only [`snapshot`] of an account,
//! [`analyze`] derives facts from it, the rule engine evaluates checks and
//! [`report`] renders the results.

pub mod analyze;
pub mod cli;
pub mod collect;
pub mod engine;
pub mod error;
pub mod files;
pub mod report;
pub mod snapshot;
pub mod triage;
