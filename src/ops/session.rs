//! A session: the loaded config, each channel of a run pointed at its host or at the sandbox
//! started in this process, and one rate-limited client per channel (one limiter per token:
//! channels that share a host and token share it). Refuses to send a token in clear to another
//! machine, and names every missing token variable at once, before any call.

use std::collections::BTreeMap;
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use super::Error;
use super::error::TokenVariable;
use crate::api::{
    Cancel, CancelHandle, ClientOptions, HttpClient, RateLimiter, RequestLog, Secret, http_client,
};
use crate::config;
use crate::model::{Channel, Config};
use crate::read::ReadOptions;
use crate::sandbox::{self, SandboxHandle, SandboxState};

/// Where the API is and how to reach it: the configured hosts, or the in-process sandbox.
#[derive(Debug, Clone)]
pub struct Endpoint {
    /// Run against a sandbox started in this process on 127.0.0.1, serving the config's channels.
    pub sandbox: bool,
    /// Seed that sandbox with this state file.
    pub sandbox_state: Option<PathBuf>,
    /// Allow plain `http://` base URLs for hosts other than this machine.
    pub allow_insecure: bool,
    /// How long to wait for one HTTP response before treating it as lost.
    pub timeout: Duration,
}

impl Default for Endpoint {
    fn default() -> Self {
        Endpoint {
            sandbox: false,
            sandbox_state: None,
            allow_insecure: false,
            timeout: Duration::from_secs(30),
        }
    }
}

/// Load and check the config at `path`.
pub fn load(path: &Path) -> Result<Config, Error> {
    config::load(path).map_err(|diagnostics| Error::Config {
        path: path.to_path_buf(),
        diagnostics,
    })
}

/// The config, and a client for each channel a run calls.
pub struct Session {
    /// The config.
    pub config: Config,
    /// One client per channel asked for, by name.
    pub clients: BTreeMap<String, HttpClient>,
    /// How its reads read (`--max-pages`); the targets say whether orphans are looked for.
    pub read: ReadOptions,
    cancel: Arc<CancelHandle>,
    /// Keeps the in-process sandbox alive while the session calls it.
    sandbox: Option<SandboxHandle>,
    /// The rate-limit groups (host and token) an apply locks (none against the sandbox).
    pub(super) lock_groups: Vec<super::lock::Group>,
}

impl Session {
    /// HTTP requests sent so far by every client.
    pub fn requests_sent(&self) -> u64 {
        requests_sent(&self.clients)
    }

    /// What stops new requests (Ctrl-C): once cancelled, no client starts another request.
    pub fn cancel_handle(&self) -> Arc<CancelHandle> {
        self.cancel.clone()
    }

    /// The API root of the in-process sandbox, when the session runs against one.
    pub fn sandbox_url(&self) -> Option<String> {
        self.sandbox.as_ref().map(SandboxHandle::base_url)
    }
}

/// HTTP requests sent so far by `clients`, retries included.
pub fn requests_sent(clients: &BTreeMap<String, HttpClient>) -> u64 {
    clients.values().map(|c| c.stats().requests).sum()
}

/// Point each of `channels` (names of `config`) at its host, or at a sandbox started in this
/// process with `endpoint.sandbox`, and build one rate-limited client per channel. `log`
/// receives a line per request (`-v`).
pub async fn connect(
    config: Config,
    channels: &[String],
    endpoint: &Endpoint,
    log: Option<RequestLog>,
) -> Result<Session, Error> {
    let (sandbox, endpoints) = if endpoint.sandbox {
        let (handle, endpoints) = start_sandbox(&config, channels, endpoint).await?;
        (Some(handle), endpoints)
    } else {
        (None, configured_endpoints(&config, channels, endpoint)?)
    };

    let lock_groups = match sandbox {
        Some(_) => Vec::new(),
        None => endpoints
            .values()
            .map(|(url, token)| super::lock::Group::new(url, token))
            .collect(),
    };
    let http =
        http_client(endpoint.timeout.max(Duration::from_secs(1))).map_err(Error::HttpSetup)?;
    let (cancel_handle, cancel) = Cancel::new();
    // Channels that share a host and token share one rate limit: the limit is per token. The
    // sandbox under `--sandbox` shares its windows the same way (`SandboxState::for_config`).
    let groups = config.limit_groups();
    let mut limiters: BTreeMap<String, Arc<RateLimiter>> = BTreeMap::new();
    for group in groups {
        let limiter = Arc::new(RateLimiter::new(group.rate_limit));
        for name in group.channels {
            limiters.insert(name, limiter.clone());
        }
    }
    let mut clients = BTreeMap::new();
    for (name, (base_url, token)) in endpoints {
        let (Some(mut ch), Some(limiter)) = (
            config.channels.get(&name).cloned(),
            limiters.get(&name).cloned(),
        ) else {
            continue;
        };
        ch.base_url = base_url;
        let options = ClientOptions {
            cancel: cancel.clone(),
            log: log.as_ref().map(|l| l.sink.clone()),
            log_values: log.as_ref().is_some_and(|l| l.values),
            ..ClientOptions::default()
        };
        clients.insert(
            name,
            HttpClient::new(&ch, token, http.clone(), limiter, options),
        );
    }
    Ok(Session {
        config,
        clients,
        read: ReadOptions::default(),
        cancel: Arc::new(cancel_handle),
        sandbox,
        lock_groups,
    })
}

/// API root and token of each channel.
type Endpoints = BTreeMap<String, (String, Secret)>;

/// The sandbox for `config`, started on a free loopback port, and its endpoints.
async fn start_sandbox(
    config: &Config,
    channels: &[String],
    endpoint: &Endpoint,
) -> Result<(SandboxHandle, Endpoints), Error> {
    // Read after the config, not beside it: at 100,000 contacts the two parses' peaks add up.
    let seed = match &endpoint.sandbox_state {
        Some(p) => Some(SandboxState::from_file(p)?),
        None => None,
    };
    let state = SandboxState::for_config(config, seed);
    let addr = SocketAddr::new(IpAddr::V4(Ipv4Addr::LOCALHOST), 0);
    let handle = sandbox::start(state, addr)
        .await
        .map_err(|source| Error::SandboxStart {
            addr: addr.to_string(),
            source,
        })?;
    let mut endpoints = BTreeMap::new();
    for name in channels {
        // The sandbox serves every channel of the config it was started for.
        if let Some(token) = handle.token(name) {
            endpoints.insert(name.clone(), (handle.base_url(), Secret::new(token)));
        }
    }
    Ok((handle, endpoints))
}

/// The configured host and the token (from its variable) of each channel; every missing token
/// variable is named at once.
fn configured_endpoints(
    config: &Config,
    channels: &[String],
    endpoint: &Endpoint,
) -> Result<Endpoints, Error> {
    let mut endpoints = BTreeMap::new();
    let mut missing = vec![];
    for name in channels {
        let Some(ch) = config.channels.get(name) else {
            continue;
        };
        check_transport(name, &ch.base_url, endpoint.allow_insecure)?;
        match Secret::from_env(&ch.token_env) {
            Ok(token) => {
                endpoints.insert(name.clone(), (ch.base_url.clone(), token));
            }
            Err(_) => missing.push((shown_variable(ch), name.clone())),
        }
    }
    if missing.is_empty() {
        Ok(endpoints)
    } else {
        Err(Error::NoToken { missing })
    }
}

/// The token variable of `channel` as a message names it: its name when it looks like one
/// (`CONTACTS_WEB_TOKEN`), else where the config writes it, as a name of another shape may be a
/// token pasted in by mistake and must not reach a CI log.
fn shown_variable(channel: &Channel) -> TokenVariable {
    let name = &channel.token_env;
    let mut chars = name.chars();
    let looks_like_one = chars
        .next()
        .is_some_and(|c| c.is_ascii_uppercase() || c == '_')
        && chars.all(|c| c.is_ascii_uppercase() || c.is_ascii_digit() || c == '_');
    if looks_like_one {
        TokenVariable::Named(name.clone())
    } else {
        TokenVariable::At(channel.token_env_at.to_string())
    }
}

/// Refuse to send a token in clear over the network: plain http is only for this machine.
/// The URL is read by the same parser the HTTP client uses, so what is checked is the host the
/// token would go to (`HTTP://`, `http://host\\@127.0.0.1` and `http://host#@127.0.0.1` all go to
/// `host`).
fn check_transport(channel: &str, base_url: &str, allow_insecure: bool) -> Result<(), Error> {
    let url = reqwest::Url::parse(base_url).map_err(|e| Error::BadUrl {
        channel: channel.to_string(),
        url: base_url.to_string(),
        reason: e.to_string(),
    })?;
    if url.scheme() != "http" {
        return Ok(());
    }
    let host = url.host_str().unwrap_or("");
    let ip = host
        .strip_prefix('[')
        .and_then(|h| h.strip_suffix(']'))
        .unwrap_or(host);
    let loopback = host.eq_ignore_ascii_case("localhost")
        || ip.parse::<IpAddr>().is_ok_and(|ip| ip.is_loopback());
    if loopback || allow_insecure {
        Ok(())
    } else {
        Err(Error::PlainHttp {
            channel: channel.to_string(),
            url: base_url.to_string(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plain_http_only_for_loopback() {
        assert!(check_transport("w", "https://x.example/api", false).is_ok());
        assert!(check_transport("w", "http://127.0.0.1:8080/api", false).is_ok());
        assert!(check_transport("w", "http://localhost/api", false).is_ok());
        assert!(check_transport("w", "http://[::1]:80/api", false).is_ok());
        assert!(check_transport("w", "http://x.example/api", false).is_err());
        assert!(check_transport("w", "http://127.0.0.1.evil.example/api", false).is_err());
        assert!(check_transport("w", "http://x.example/api", true).is_ok());
    }

    #[test]
    fn plain_http_is_judged_by_the_host_the_client_would_reach() {
        for sneaky in [
            "HTTP://x.example/api",
            "Http://x.example/api",
            "http://x.example\\@127.0.0.1/api",
            "http://x.example#@127.0.0.1/api",
            "http://x.example?@127.0.0.1/api",
            "http://127.0.0.1:80@x.example/api",
            "http://localhost.x.example/api",
        ] {
            let e = check_transport("w", sneaky, false).unwrap_err().to_string();
            assert!(e.contains("plain http"), "{sneaky}: {e}");
        }
        for local in [
            "HTTP://127.0.0.1:8080/api",
            "http://LOCALHOST/api",
            "http://user@127.0.0.1/api",
            "http://127.0.0.2/api",
        ] {
            assert!(check_transport("w", local, false).is_ok(), "{local}");
        }
        assert!(check_transport("w", "HTTPS://x.example/api", false).is_ok());
    }
}
