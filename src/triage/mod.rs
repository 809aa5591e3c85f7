//! Triage: what a team has already decided about findings. Suppressions
//! accept a finding with a reason (and maybe an expiry date); a baseline
//! report tells new findings from ones already known. Both annotate a
//! report's findings and never remove one.

pub mod baseline;
pub mod suppressions;
