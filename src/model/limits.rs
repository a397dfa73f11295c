//! Channel limits, in one place: the rate limit of a channel (its own, or the default), and the
//! limit groups of a config — channels on one host with one token share that token's limit, the
//! lowest any of them sets. The session builds one limiter per group, the planner's estimate
//! queues a group's calls together, and the sandbox under `--sandbox` enforces one window per
//! group, so the three agree. Pure: no IO.

use std::collections::BTreeMap;

use super::{Channel, Config, DEFAULT_RATE_LIMIT};

/// Channels that share one rate limit: the config's channels on one host with one token.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LimitGroup {
    /// The channels' names, in name order.
    pub channels: Vec<String>,
    /// Calls a minute for the group: the lowest limit any of its channels sets.
    pub rate_limit: u32,
}

/// What makes two channels one group: their host and their token (by its variable).
fn token(c: &Channel) -> (&str, &str) {
    (c.base_url.as_str(), c.token_env.as_str())
}

impl Config {
    /// The rate limit of channel `name`, calls a minute: its own, or the default for a channel
    /// the config does not have.
    pub fn rate_limit(&self, name: &str) -> u32 {
        self.channels
            .get(name)
            .map_or(DEFAULT_RATE_LIMIT, |c| c.rate_limit)
    }

    /// The config's limit groups, by host and token; each channel is in exactly one.
    pub fn limit_groups(&self) -> Vec<LimitGroup> {
        let mut by_token: BTreeMap<(&str, &str), LimitGroup> = BTreeMap::new();
        for c in self.channels.values() {
            let group = by_token.entry(token(c)).or_insert(LimitGroup {
                channels: Vec::new(),
                rate_limit: u32::MAX,
            });
            group.channels.push(c.name.clone());
            group.rate_limit = group.rate_limit.min(c.rate_limit);
        }
        by_token.into_values().collect()
    }
}

#[cfg(test)]
mod tests {
    use crate::testing::{channel, config};

    #[test]
    fn channels_on_one_host_with_one_token_share_the_lowest_limit() {
        let mut cfg = config();
        assert_eq!(cfg.rate_limit("viber"), 200);
        assert_eq!(cfg.rate_limit("nowhere"), crate::model::DEFAULT_RATE_LIMIT);
        let groups = cfg.limit_groups();
        assert_eq!(groups.len(), 2, "own tokens: a group each");

        let mut slow = channel("slow");
        slow.rate_limit = 40;
        slow.token_env = cfg.channels["viber"].token_env.clone();
        slow.base_url = cfg.channels["viber"].base_url.clone();
        cfg.channels.insert("slow".into(), slow.clone());
        // the same token on another host is another limit
        slow.name = "elsewhere".into();
        slow.base_url = "https://other.example/api".into();
        cfg.channels.insert("elsewhere".into(), slow);
        let mut groups = cfg.limit_groups();
        groups.sort_by(|a, b| a.channels.cmp(&b.channels));
        let summary: Vec<(Vec<&str>, u32)> = groups
            .iter()
            .map(|g| {
                (
                    g.channels.iter().map(String::as_str).collect(),
                    g.rate_limit,
                )
            })
            .collect();
        assert_eq!(
            summary,
            [
                (vec!["elsewhere"], 40),
                (vec!["slow", "viber"], 40),
                (vec!["web"], 100)
            ]
        );
    }
}
