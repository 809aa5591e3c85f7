//! Derived facts computed from a snapshot before rules run: which subnets
//! are public, what is reachable from the internet, which VPC CIDRs overlap.
//! Analysis reads only the snapshot, never AWS.
//!
//! So far this holds the CIDR arithmetic the rule helpers use; the network
//! exposure analysis lands with the check catalogue.

pub mod cidr;
