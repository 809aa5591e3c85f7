//! Which accounts a shard scans: account id modulo the number of shards,
//! 0-based, so the index an array job's platform gives each task
//! (`JOB_COMPLETION_INDEX` in a Kubernetes Indexed Job,
//! `AWS_BATCH_JOB_ARRAY_INDEX` in an AWS Batch array job) is the shard.

use std::fmt;
use std::str::FromStr;

/// The environment variables `--shard-from-env` reads, in this order.
pub const INDEX_VARIABLES: [&str; 2] = ["JOB_COMPLETION_INDEX", "AWS_BATCH_JOB_ARRAY_INDEX"];

/// Far more shards than any organization needs (AWS allows 10,000
/// accounts by default): a larger count is a mistake.
pub const MAX_SHARDS: u32 = 10_000;

#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Shard {
    pub index: u32,
    pub count: u32,
}

impl Shard {
    /// Every account in one shard.
    pub const WHOLE: Shard = Shard { index: 0, count: 1 };

    pub fn new(index: u32, count: u32) -> Result<Shard, String> {
        if count == 0 {
            return Err("the number of shards must be at least 1".to_owned());
        }
        if count > MAX_SHARDS {
            return Err(format!(
                "{count} shards is more than the {MAX_SHARDS} rampart runs"
            ));
        }
        if index >= count {
            return Err(format!(
                "shard index {index} is out of range: with {count} shard(s) the index is 0 to {}",
                count - 1
            ));
        }
        Ok(Shard { index, count })
    }

    /// The shard named by the first of [`INDEX_VARIABLES`] that is set,
    /// among `count`; `lookup` reads a variable.
    pub fn from_env(count: u32, lookup: impl Fn(&str) -> Option<String>) -> Result<Shard, String> {
        let Some((name, value)) = INDEX_VARIABLES
            .iter()
            .find_map(|name| lookup(name).map(|value| (*name, value)))
        else {
            return Err(format!(
                "--shard-from-env needs {} or {} to be set",
                INDEX_VARIABLES[0], INDEX_VARIABLES[1]
            ));
        };
        let index = value
            .trim()
            .parse::<u32>()
            .map_err(|_| format!("{name} is `{value}`, not a shard index (0, 1, 2, ...)"))?;
        Shard::new(index, count).map_err(|problem| format!("{name}: {problem}"))
    }

    /// Whether this shard scans the account. `account_id` is twelve
    /// digits (the accounts file is checked when read).
    pub fn contains(&self, account_id: &str) -> bool {
        account_id
            .parse::<u64>()
            .is_ok_and(|id| id % u64::from(self.count) == u64::from(self.index))
    }
}

impl FromStr for Shard {
    type Err = String;

    /// `I/N`: shard I (0-based) of N.
    fn from_str(text: &str) -> Result<Shard, String> {
        let parsed = text
            .split_once('/')
            .and_then(|(index, count)| Some((index.parse().ok()?, count.parse().ok()?)));
        match parsed {
            Some((index, count)) => Shard::new(index, count),
            None => Err(format!(
                "`{text}` is not a shard: use I/N, shard I (counting from 0) of N, e.g. 0/4"
            )),
        }
    }
}

impl fmt::Display for Shard {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.index, self.count)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shards_split_accounts_by_id_modulo_their_count() {
        let ids = [
            "000000000000",
            "000000000001",
            "111111111111",
            "999999999999",
        ];
        let shards: Vec<Shard> = (0..3).map(|i| Shard::new(i, 3).expect("shard")).collect();
        for id in ids {
            let holding: Vec<u32> = shards
                .iter()
                .filter(|shard| shard.contains(id))
                .map(|shard| shard.index)
                .collect();
            let expected = (id.parse::<u64>().expect("id") % 3) as u32;
            assert_eq!(holding, vec![expected], "{id}");
        }
        assert!(ids.iter().all(|id| Shard::WHOLE.contains(id)));
    }

    #[test]
    fn shard_arguments_are_checked() {
        assert_eq!("1/3".parse::<Shard>(), Ok(Shard { index: 1, count: 3 }));
        assert_eq!(
            "3/3".parse::<Shard>(),
            Err("shard index 3 is out of range: with 3 shard(s) the index is 0 to 2".to_owned())
        );
        assert_eq!(
            "0/0".parse::<Shard>(),
            Err("the number of shards must be at least 1".to_owned())
        );
        for bad in ["1", "a/3", "1/b", "-1/3", "1/3/4", ""] {
            assert!(bad.parse::<Shard>().is_err(), "{bad}");
        }
    }

    #[test]
    fn the_shard_comes_from_the_platforms_index_variable() {
        let env = |pairs: &'static [(&'static str, &'static str)]| {
            move |name: &str| {
                pairs
                    .iter()
                    .find(|(key, _)| *key == name)
                    .map(|(_, value)| (*value).to_owned())
            }
        };
        assert_eq!(
            Shard::from_env(4, env(&[("JOB_COMPLETION_INDEX", "2")])),
            Ok(Shard { index: 2, count: 4 })
        );
        assert_eq!(
            Shard::from_env(4, env(&[("AWS_BATCH_JOB_ARRAY_INDEX", "3")])),
            Ok(Shard { index: 3, count: 4 })
        );
        assert_eq!(
            Shard::from_env(4, env(&[("AWS_BATCH_JOB_ARRAY_INDEX", "4")])),
            Err("AWS_BATCH_JOB_ARRAY_INDEX: shard index 4 is out of range: with 4 shard(s) the index is 0 to 3".to_owned())
        );
        assert_eq!(
            Shard::from_env(4, env(&[("JOB_COMPLETION_INDEX", "x")])),
            Err("JOB_COMPLETION_INDEX is `x`, not a shard index (0, 1, 2, ...)".to_owned())
        );
        assert_eq!(
            Shard::from_env(4, env(&[])),
            Err("--shard-from-env needs JOB_COMPLETION_INDEX or AWS_BATCH_JOB_ARRAY_INDEX to be set".to_owned())
        );
    }
}
