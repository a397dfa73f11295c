//! What the sandbox serves, as data: channels (token, Viber settings, rate limit, contacts) and
//! the fault knobs, loadable from a YAML or JSON `--state` file and returned by snapshots. Owns
//! the file format and its checks; knows nothing of HTTP or of the running server.

use std::collections::{BTreeMap, HashSet};
use std::path::Path;
use std::sync::LazyLock;

use serde::{Deserialize, Serialize};

use crate::api::wire::WireContact;
use crate::model::{Config, DEFAULT_PAGE_SIZE, DEFAULT_RATE_LIMIT, Fields, Identity};

use super::SandboxError;

/// Everything the sandbox serves: its channels and the faults it injects.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SandboxState {
    /// Channels by name.
    #[serde(default)]
    pub channels: BTreeMap<String, ChannelState>,
    /// Faults to inject (none by default).
    #[serde(default)]
    pub faults: Faults,
}

/// One simulated channel. `Debug` shows the token as `***`, like every token of this tool.
#[derive(Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ChannelState {
    /// The bearer token that addresses this channel. Empty (or left out of a state file) means
    /// `sandbox-<name>-token`.
    #[serde(default)]
    pub token: String,
    /// A Viber channel: path IDs of update and tag calls must be Base64, new IDs look like Viber's.
    #[serde(default)]
    pub viber: bool,
    /// Whether get-by-ID also wants Base64 IDs; `None` means the same as `viber`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub viber_encode_get: Option<bool>,
    /// Accepted calls in any sliding 60-second window (at least 1).
    #[serde(default = "default_rate_limit")]
    pub rate_limit: u32,
    /// Channels with the same group share one window: the calls of each count against it, at
    /// the lowest `rate_limit` among them — as the platform counts one token's calls, for
    /// config channels on one host with one token. `None`: a window of its own.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub limit_group: Option<String>,
    /// The largest page the look-up serves when asked with `per_page` (the platform's is 10).
    #[serde(default = "default_max_per_page")]
    pub max_per_page: u64,
    /// Contacts, in creation order.
    #[serde(default)]
    pub contacts: Vec<WireContact>,
}

fn default_rate_limit() -> u32 {
    DEFAULT_RATE_LIMIT
}

fn default_max_per_page() -> u64 {
    DEFAULT_PAGE_SIZE as u64
}

impl std::fmt::Debug for ChannelState {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // A sandbox token is a test fixture, but a state file may hold one a person chose, and
        // `{:?}` ends up in logs and test output.
        f.debug_struct("ChannelState")
            .field("token", &"***")
            .field("viber", &self.viber)
            .field("viber_encode_get", &self.viber_encode_get)
            .field("rate_limit", &self.rate_limit)
            .field("limit_group", &self.limit_group)
            .field("max_per_page", &self.max_per_page)
            .field("contacts", &self.contacts)
            .finish()
    }
}

impl ChannelState {
    /// An empty channel with the platform's defaults and this token.
    pub fn new(token: impl Into<String>) -> Self {
        ChannelState {
            token: token.into(),
            viber: false,
            viber_encode_get: None,
            rate_limit: DEFAULT_RATE_LIMIT,
            limit_group: None,
            max_per_page: DEFAULT_PAGE_SIZE as u64,
            contacts: Vec::new(),
        }
    }

    /// Whether get-by-ID wants a Base64 ID on this channel.
    pub fn encode_get(&self) -> bool {
        self.viber_encode_get.unwrap_or(self.viber)
    }
}

/// Fault knobs, for tests of the client's retries and of apply's recovery. Every `*_every: N`
/// fires on the Nth, 2Nth, ... API request (or create) counted since the faults were last set;
/// `0` and `None` are off. When several fire on one request, a reset wins over a 500, a 500 over
/// a 429, and a 429 over an injected 401.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Faults {
    /// Every Nth API request answers 500 without doing anything.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub fail_every: Option<u64>,
    /// Every Nth API request has its connection closed with no response, without doing anything.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reset_every: Option<u64>,
    /// Every Nth create is committed, then its connection is closed with no response.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub drop_create_response_every: Option<u64>,
    /// Every Nth API request answers 429 `Too many requests`, without doing anything.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub throttle_every: Option<u64>,
    /// `Retry-After` (seconds) sent with injected 429s; none when unset.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub retry_after_secs: Option<u64>,
    /// Milliseconds added before every API response.
    #[serde(skip_serializing_if = "is_zero")]
    pub latency_ms: u64,
    /// After this many API requests, every request gets 401 (a token revoked mid-run).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub unauthorized_after: Option<u64>,
    /// Seeded random faults, the same for the same order of requests.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub random: Option<RandomFaults>,
}

fn is_zero(v: &u64) -> bool {
    *v == 0
}

/// Random faults: each API request draws, from a generator seeded with `seed`, whether it is
/// reset, answered 500 or answered 429, and (if it commits a create) whether that response is
/// dropped. Probabilities are 0 to 1.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct RandomFaults {
    /// Seed of the generator.
    pub seed: u64,
    /// Probability of a 500.
    pub p_500: f64,
    /// Probability of a closed connection without a response.
    pub p_reset: f64,
    /// Probability that a committed create loses its response.
    pub p_drop_create: f64,
    /// Probability of an injected 429.
    pub p_429: f64,
    /// Probability that a response is held back `slow_ms` after the request was served: a
    /// write has taken effect, but its answer may come after the client gave up (a timeout
    /// whose outcome is unknown). Drawn only when above 0, so other seeds keep their sequences.
    #[serde(skip_serializing_if = "is_zero_f64")]
    pub p_slow: f64,
    /// How long a slow response is held back, in milliseconds.
    #[serde(skip_serializing_if = "is_zero")]
    pub slow_ms: u64,
}

fn is_zero_f64(v: &f64) -> bool {
    *v == 0.0
}

/// The vendor documents' sample contact, as data: exactly as they show it (e-mail made neutral).
static SAMPLE_CONTACT: LazyLock<WireContact> = LazyLock::new(|| {
    let json = include_str!("sample_contact.json");
    serde_json::from_str(json)
        .unwrap_or_else(|e| panic!("src/sandbox/sample_contact.json does not parse: {e}"))
});

/// The vendor documents' sample contact, exactly as they show it (e-mail made neutral).
pub fn sample_contact() -> WireContact {
    SAMPLE_CONTACT.clone()
}

/// What makes a state file that parses unusable, as `SandboxState::normalize` finds it.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
enum Unsound {
    /// Two channels have one token (the sandbox tells channels apart by it).
    #[error("channel {channel}: its token is also another channel's token")]
    SharedToken {
        /// The channel found second.
        channel: String,
    },
    /// A rate limit of 0.
    #[error("channel {channel}: rate_limit must be at least 1")]
    NoRateLimit {
        /// The channel.
        channel: String,
    },
    /// A page size of 0.
    #[error("channel {channel}: max_per_page must be at least 1")]
    NoPageSize {
        /// The channel.
        channel: String,
    },
    /// A contact without an ID.
    #[error("channel {channel}: a contact has an empty id")]
    EmptyId {
        /// The channel.
        channel: String,
    },
    /// Two contacts with one ID on one channel.
    #[error("channel {channel}: contact id {id} appears twice")]
    DuplicateId {
        /// The channel.
        channel: String,
        /// The ID.
        id: String,
    },
    /// A random fault's probability outside 0..=1.
    #[error("faults.random.{knob} must be between 0 and 1, not {p}")]
    Probability {
        /// The knob (`p_500`, ...).
        knob: &'static str,
        /// Its value.
        p: f64,
    },
}

/// The contacts an unseeded `--sandbox` holds on channel `name`: the documents' sample contact
/// on `web`, and an empty contact for every ID the config names on that channel.
fn implied_contacts(config: &Config, name: &str) -> Vec<WireContact> {
    let mut contacts = Vec::new();
    if name == "web" {
        contacts.push(sample_contact());
    }
    for c in config.contacts.iter().filter(|c| c.channel == name) {
        if let Identity::Id(id) = &c.identity
            && !contacts.iter().any(|w: &WireContact| &w.id == id)
        {
            contacts.push(WireContact {
                id: id.clone(),
                custom_fields: Fields::new(),
                tags: Vec::new(),
                created_at: Some(sample_contact().created_at.unwrap_or_default()),
            });
        }
    }
    contacts
}

/// The token the sandbox gives channel `name` unless told otherwise.
pub fn default_token(name: &str) -> String {
    format!("sandbox-{name}-token")
}

impl SandboxState {
    /// The default sandbox: channel `web` (token `sandbox-web-token`) holding the documents'
    /// sample contact `1776025372480910`, and an empty Viber channel `viber`
    /// (token `sandbox-viber-token`).
    pub fn demo() -> Self {
        let mut web = ChannelState::new(default_token("web"));
        web.contacts.push(sample_contact());
        let mut viber = ChannelState::new(default_token("viber"));
        viber.viber = true;
        SandboxState {
            channels: BTreeMap::from([("web".into(), web), ("viber".into(), viber)]),
            faults: Faults::default(),
        }
    }

    /// The sandbox `--sandbox` runs for a config: one channel per config channel (same name,
    /// Viber settings and rate limit) with token `sandbox-<name>-token`; the channels of one of
    /// the config's limit groups (one host, one token) share one window, as the planner's
    /// estimate and the session's limiters assume.
    ///
    /// With a seed, each channel holds the contacts of the seed's channel of the same name, and
    /// the seed's faults apply. Without one, it stands for a platform the config was written
    /// against: a channel `web` holds the documents' sample contact, and every contact the config
    /// names by `id` exists (IDs come from the platform, so a config can only know existing
    /// ones) with no fields and no tags — so a first plan shows creates and updates, not errors.
    pub fn for_config(config: &Config, seed: Option<SandboxState>) -> SandboxState {
        let seeded_run = seed.is_some();
        let (mut seeded, faults) = match seed {
            Some(s) => (s.channels, s.faults),
            None => (BTreeMap::new(), Faults::default()),
        };
        // the channels of a limit group share a window, named for the group's first channel
        let mut group_of: BTreeMap<String, String> = BTreeMap::new();
        for group in config.limit_groups() {
            if let [first, _, ..] = group.channels.as_slice() {
                for c in &group.channels {
                    group_of.insert(c.clone(), first.clone());
                }
            }
        }
        let channels = config
            .channels
            .iter()
            .map(|(name, ch)| {
                let from_seed = seeded.remove(name);
                let max_per_page = from_seed
                    .as_ref()
                    .map_or(DEFAULT_PAGE_SIZE as u64, |s| s.max_per_page);
                // moved, not cloned: a seed for scale tests holds a hundred thousand contacts
                let contacts = match from_seed {
                    Some(s) => s.contacts,
                    None if seeded_run => Vec::new(),
                    None => implied_contacts(config, name),
                };
                let state = ChannelState {
                    token: default_token(name),
                    viber: ch.viber,
                    viber_encode_get: Some(ch.viber_encode_get),
                    rate_limit: ch.rate_limit,
                    limit_group: group_of.get(name).cloned(),
                    max_per_page,
                    contacts,
                };
                (name.clone(), state)
            })
            .collect();
        SandboxState { channels, faults }
    }

    /// Reads a state file (YAML, or JSON, which YAML reads too) and checks it.
    pub fn from_file(path: impl AsRef<Path>) -> Result<SandboxState, SandboxError> {
        let path = path.as_ref();
        let file = path.display().to_string();
        let text = std::fs::read_to_string(path).map_err(|e| SandboxError::Read {
            file: file.clone(),
            reason: e.to_string(),
        })?;
        // JSON (a state written by a program) goes through the JSON parser, ~10 times faster
        // than YAML's on a big file; anything it refuses is read as YAML, whose messages say
        // where the problem is in either syntax.
        if text.trim_start().starts_with('{')
            && let Ok(mut state) = serde_json::from_str::<SandboxState>(&text)
        {
            state
                .normalize()
                .map_err(|reason| SandboxError::Invalid { file, reason })?;
            return Ok(state);
        }
        let options = serde_saphyr::options! {
            strict_booleans: true,
            // The default budget (250,000 nodes) stops at ~10,000 contacts; a state for scale
            // tests holds a few hundred thousand. Other limits stay at their safe defaults.
            budget: serde_saphyr::budget! {
                max_events: 20_000_000,
                max_nodes: 10_000_000,
            },
        };
        let mut state: SandboxState =
            serde_saphyr::from_str_with_options(&text, options).map_err(|e| {
                SandboxError::Parse {
                    file: file.clone(),
                    reason: e.to_string(),
                }
            })?;
        state
            .normalize()
            .map_err(|reason| SandboxError::Invalid { file, reason })?;
        Ok(state)
    }

    /// Fills in default tokens and checks what serde cannot (see `check`); what is wrong, in
    /// words, as a state file's error and the admin endpoint's answer say it.
    pub fn normalize(&mut self) -> Result<(), String> {
        self.check().map_err(|e| e.to_string())
    }

    /// Fills in default tokens and checks what serde cannot: tokens unique, rate limits and page
    /// sizes at least 1, contact IDs non-empty and unique per channel, probabilities in 0..=1.
    fn check(&mut self) -> Result<(), Unsound> {
        let mut tokens = HashSet::new();
        for (name, ch) in &mut self.channels {
            let channel = || name.clone();
            if ch.token.trim().is_empty() {
                ch.token = default_token(name);
            }
            if !tokens.insert(ch.token.clone()) {
                return Err(Unsound::SharedToken { channel: channel() });
            }
            if ch.rate_limit == 0 {
                return Err(Unsound::NoRateLimit { channel: channel() });
            }
            if ch.max_per_page == 0 {
                return Err(Unsound::NoPageSize { channel: channel() });
            }
            let mut ids = HashSet::new();
            for c in &ch.contacts {
                if c.id.is_empty() {
                    return Err(Unsound::EmptyId { channel: channel() });
                }
                if !ids.insert(c.id.as_str()) {
                    return Err(Unsound::DuplicateId {
                        channel: channel(),
                        id: c.id.clone(),
                    });
                }
            }
        }
        if let Some(r) = &self.faults.random {
            for (knob, p) in [
                ("p_500", r.p_500),
                ("p_reset", r.p_reset),
                ("p_drop_create", r.p_drop_create),
                ("p_429", r.p_429),
                ("p_slow", r.p_slow),
            ] {
                if !(0.0..=1.0).contains(&p) {
                    return Err(Unsound::Probability { knob, p });
                }
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::Channel;

    /// The shared test config with these channels (name, Viber, rate limit) instead of its own.
    fn config_with(channels: &[(&str, bool, u32)]) -> Config {
        let mut config = crate::testing::config();
        config.channels = channels
            .iter()
            .map(|&(name, viber, rate_limit)| {
                let channel = Channel {
                    rate_limit,
                    viber,
                    viber_encode_get: viber,
                    ..crate::testing::channel(name)
                };
                (name.to_string(), channel)
            })
            .collect();
        config
    }

    #[test]
    fn demo_serves_web_and_viber_with_the_documents_sample_contact() {
        let s = SandboxState::demo();
        assert_eq!(s.channels["web"].token, "sandbox-web-token");
        assert!(!s.channels["web"].viber);
        assert_eq!(s.channels["viber"].token, "sandbox-viber-token");
        assert!(s.channels["viber"].viber && s.channels["viber"].encode_get());
        let c = &s.channels["web"].contacts[0];
        assert_eq!(c.id, "1776025372480910");
        assert_eq!(c.custom_fields["timezone"].as_deref(), Some("5"));
        assert_eq!(c.custom_fields.len(), 8);
        assert_eq!(c.created_at, Some(1575618542));
        assert!(s.channels["viber"].contacts.is_empty());
    }

    #[test]
    fn for_config_mirrors_config_channels_and_takes_seed_contacts_by_name() {
        let config = config_with(&[("web", false, 200), ("vb", true, 50)]);
        let mut seed = SandboxState::demo();
        seed.faults.fail_every = Some(3);
        let s = SandboxState::for_config(&config, Some(seed));
        assert_eq!(
            s.channels.keys().collect::<Vec<_>>(),
            vec!["vb", "web"],
            "seed channel `viber` is not in the config, so it is not served"
        );
        assert_eq!(s.channels["web"].rate_limit, 200);
        assert_eq!(s.channels["web"].token, "sandbox-web-token");
        assert_eq!(s.channels["web"].contacts.len(), 1);
        assert!(s.channels["vb"].viber);
        assert_eq!(s.channels["vb"].viber_encode_get, Some(true));
        assert_eq!(s.channels["vb"].rate_limit, 50);
        assert!(s.channels["vb"].contacts.is_empty());
        assert_eq!(s.faults.fail_every, Some(3));
    }

    #[test]
    fn for_config_shares_a_window_between_channels_on_one_host_with_one_token() {
        let mut config = config_with(&[("web", false, 200), ("wa", false, 50), ("vb", true, 80)]);
        let web_token = config.channels["web"].token_env.clone();
        config.channels.get_mut("wa").unwrap().token_env = web_token;
        let s = SandboxState::for_config(&config, None);
        assert_eq!(s.channels["wa"].limit_group.as_deref(), Some("wa"));
        assert_eq!(s.channels["web"].limit_group.as_deref(), Some("wa"));
        assert_eq!(s.channels["vb"].limit_group, None, "a token of its own");
        // each keeps its own token (the sandbox tells channels apart by it) and its own limit
        assert_ne!(s.channels["wa"].token, s.channels["web"].token);
        assert_eq!(s.channels["web"].rate_limit, 200);
        // a state without groups writes none
        let yaml = serde_json::to_string(&SandboxState::demo()).unwrap();
        assert!(!yaml.contains("limit_group"), "{yaml}");
    }

    #[test]
    fn normalize_fills_default_tokens_and_rejects_duplicates() {
        let mut s = SandboxState::default();
        s.channels.insert("a".into(), ChannelState::new(""));
        s.normalize().unwrap();
        assert_eq!(s.channels["a"].token, "sandbox-a-token");

        s.channels
            .insert("b".into(), ChannelState::new("sandbox-a-token"));
        assert!(s.normalize().unwrap_err().contains("channel b"));

        let mut s = SandboxState::demo();
        let dup = s.channels["web"].contacts[0].clone();
        s.channels.get_mut("web").unwrap().contacts.push(dup);
        assert!(s.normalize().unwrap_err().contains("appears twice"));

        let mut s = SandboxState::demo();
        s.faults.random = Some(RandomFaults {
            p_500: 1.5,
            ..Default::default()
        });
        assert!(s.normalize().unwrap_err().contains("p_500"));
    }

    #[test]
    fn what_normalize_refuses_is_said_in_full() {
        let channel = || "web".to_string();
        for (unsound, text) in [
            (
                Unsound::SharedToken { channel: channel() },
                "channel web: its token is also another channel's token",
            ),
            (
                Unsound::NoRateLimit { channel: channel() },
                "channel web: rate_limit must be at least 1",
            ),
            (
                Unsound::NoPageSize { channel: channel() },
                "channel web: max_per_page must be at least 1",
            ),
            (
                Unsound::EmptyId { channel: channel() },
                "channel web: a contact has an empty id",
            ),
            (
                Unsound::DuplicateId {
                    channel: channel(),
                    id: "7".into(),
                },
                "channel web: contact id 7 appears twice",
            ),
            (
                Unsound::Probability {
                    knob: "p_429",
                    p: 1.5,
                },
                "faults.random.p_429 must be between 0 and 1, not 1.5",
            ),
        ] {
            assert_eq!(unsound.to_string(), text);
        }
        let mut s = SandboxState::demo();
        s.channels.get_mut("web").unwrap().rate_limit = 0;
        assert_eq!(
            s.normalize(),
            Err("channel web: rate_limit must be at least 1".to_string())
        );
    }
}
