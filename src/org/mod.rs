//! Scanning an AWS Organization: the accounts file (listed once, read by
//! every shard), which accounts a shard scans, the scan of each account
//! through a role assumed in it, and the shard's manifest.

pub mod accounts;
pub mod manifest;
pub mod scan;
pub mod shard;
