//! Derived facts computed from a snapshot before rules run: which subnets
//! are public, what is reachable from the internet, which VPC CIDRs overlap.
//!
//! Nothing is derived yet; the network exposure analysis lands with the
//! check catalogue. Analysis reads only the snapshot, never AWS.
