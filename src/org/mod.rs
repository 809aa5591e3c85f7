//! Scanning an AWS Organization: the accounts file (listed once, read by
//! every shard), which accounts a shard scans, the scan of each account
//! through a role assumed in it, the shard's manifest, and the merge of
//! the shards' outputs into one report.

pub mod accounts;
pub mod manifest;
pub mod merge;
pub mod scan;
pub mod shard;
