//! What the commands share: output (colour, broken pipes, error messages), exit codes, and
//! preparing a run (load the config, narrow it, point each channel at its host or the in-process
//! sandbox, build one rate-limited client per channel).

use std::collections::BTreeMap;
use std::io::Write;
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use anstream::{AutoStream, ColorChoice};
use anyhow::{Context, anyhow, bail};

use super::{Endpoint, Format, Global, Target};
use crate::api::{
    Cancel, CancelHandle, ClientOptions, HttpClient, LogFn, RateLimiter, Secret, http_client,
};
use crate::config;
use crate::model::{Config, Identity, normalize};
use crate::sandbox::{self, SandboxHandle, SandboxState};

/// The process exit code.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Exit {
    /// Success (with `--detailed-exitcode`: and nothing to change).
    Ok = 0,
    /// An error: invalid config, API or network failure, a contact that could not be reconciled.
    Error = 1,
    /// With `--detailed-exitcode`: success, and there are changes.
    Changes = 2,
}

/// Where and how output goes.
pub struct Output {
    /// Output format of plans and reports.
    pub format: Format,
    /// Colour on stdout.
    pub color: bool,
    /// Colour on stderr.
    pub color_err: bool,
    /// `-v`.
    pub verbose: bool,
}

impl Output {
    pub fn new(g: &Global) -> Self {
        // anstream decides each stream as the ecosystem expects (NO_COLOR, then CLICOLOR_FORCE,
        // CLICOLOR=0, a terminal whose TERM is not dumb); --no-color turns colour off whatever
        // the environment says.
        let color = |choice: ColorChoice| !g.no_color && choice != ColorChoice::Never;
        Output {
            format: g.format,
            color: color(AutoStream::choice(&std::io::stdout())),
            color_err: color(AutoStream::choice(&std::io::stderr())),
            verbose: g.verbose,
        }
    }

    /// Write to stdout through `f`; a closed pipe (`| head`) ends the process quietly.
    pub fn stdout(
        &self,
        f: impl FnOnce(&mut dyn Write) -> std::io::Result<()>,
    ) -> anyhow::Result<()> {
        let stdout = std::io::stdout();
        let mut lock = std::io::BufWriter::new(stdout.lock());
        let result = f(&mut lock).and_then(|()| lock.flush());
        match result {
            Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => std::process::exit(0),
            other => other.context("writing to stdout"),
        }
    }

    /// Print an error and its causes on stderr; returns exit code 1.
    pub fn fail(&self, e: &anyhow::Error) -> Exit {
        if self.color_err {
            let style = anstyle::AnsiColor::Red.on_default().bold();
            eprintln!("{style}error:{style:#} {e:#}");
        } else {
            eprintln!("error: {e:#}");
        }
        Exit::Error
    }

    /// A line of information on stderr.
    pub fn note(&self, msg: &str) {
        eprintln!("{msg}");
    }
}

/// Load the config at `path`, or print every problem as `file:line:col: message` and fail.
pub fn load_config(path: &Path, out: &Output) -> anyhow::Result<Config> {
    match config::load(path) {
        Ok(c) => Ok(c),
        Err(diags) => {
            // Source excerpts help a person at a terminal; scripts and CI logs get the plain
            // `file:line:col: message` lines alone.
            let snippets = out.color_err;
            eprint!("{}", config::render_diagnostics(&diags, snippets));
            bail!(
                "{} problem{} in {}",
                diags.len(),
                if diags.len() == 1 { "" } else { "s" },
                path.display()
            )
        }
    }
}

/// A prepared run: the config, what to work on, and a client per channel involved.
pub struct Session {
    pub config: Config,
    /// Indices into `config.contacts` to plan.
    pub selected: Vec<usize>,
    /// Look for orphans (only when whole channels are planned).
    pub orphans: bool,
    /// One client per channel with selected contacts (or, for orphans, every narrowed channel).
    pub clients: BTreeMap<String, HttpClient>,
    /// Stops new requests (Ctrl-C).
    pub cancel: Arc<CancelHandle>,
    /// Keeps the in-process sandbox alive for the session.
    pub _sandbox: Option<SandboxHandle>,
}

impl Session {
    /// HTTP requests sent so far by every client.
    pub fn requests_sent(&self) -> u64 {
        self.clients.values().map(|c| c.stats().requests).sum()
    }
}

/// Load and narrow the config, and build clients (and the sandbox when asked).
pub async fn prepare(target: &Target, out: &Output) -> anyhow::Result<Session> {
    let config = load_config(&target.path, out)?;
    for ch in &target.channels {
        if !config.channels.contains_key(ch) {
            bail!(
                "--channel {ch}: no such channel in the config (channels: {})",
                config
                    .channels
                    .keys()
                    .cloned()
                    .collect::<Vec<_>>()
                    .join(", ")
            );
        }
    }
    let selected = select(&config, &target.channels, &target.contacts)?;
    let orphans = target.contacts.is_empty();
    let channels: Vec<String> = config
        .channels
        .keys()
        .filter(|c| target.channels.is_empty() || target.channels.contains(c))
        .filter(|c| {
            (orphans && config.marker.is_some())
                || selected.iter().any(|&i| &config.contacts[i].channel == *c)
        })
        .cloned()
        .collect();
    let conn = connect(&config, &channels, &target.endpoint, out).await?;
    Ok(Session {
        config,
        selected,
        orphans,
        clients: conn.clients,
        cancel: conn.cancel,
        _sandbox: conn.sandbox,
    })
}

/// Clients for some channels of a config, and what keeps them running.
pub struct Connection {
    /// One client per channel asked for.
    pub clients: BTreeMap<String, HttpClient>,
    /// Stops new requests (Ctrl-C).
    pub cancel: Arc<CancelHandle>,
    /// The in-process sandbox, when `--sandbox` asked for one; keep it alive while calling.
    pub sandbox: Option<SandboxHandle>,
}

/// Point each of `channels` (names of `config`) at its host, or at the in-process sandbox with
/// `--sandbox`, and build one rate-limited client per channel.
pub async fn connect(
    config: &Config,
    channels: &[String],
    endpoint: &Endpoint,
    out: &Output,
) -> anyhow::Result<Connection> {
    // Endpoints and tokens: the configured hosts, or the in-process sandbox.
    let (sandbox, endpoints) = if endpoint.sandbox {
        // Read after the config, not beside it: at 100,000 contacts the two parses' peaks add up.
        let seed = match &endpoint.sandbox_state {
            Some(p) => Some(SandboxState::from_file(p).map_err(|e| anyhow!("{e}"))?),
            None => None,
        };
        let state = SandboxState::for_config(config, seed);
        let handle = sandbox::start(state, SocketAddr::new(IpAddr::V4(Ipv4Addr::LOCALHOST), 0))
            .await
            .context("starting the sandbox")?;
        let mut endpoints = BTreeMap::new();
        for name in channels {
            let token = handle
                .token(name)
                .ok_or_else(|| anyhow!("the sandbox serves no channel {name}"))?;
            endpoints.insert(name.clone(), (handle.base_url(), Secret::new(token)));
        }
        if out.verbose {
            out.note(&format!(
                "sandbox: serving {} on {}",
                channels.join(", "),
                handle.base_url()
            ));
        }
        (Some(handle), endpoints)
    } else {
        let mut endpoints = BTreeMap::new();
        let mut missing = vec![];
        for name in channels {
            let ch = config
                .channels
                .get(name)
                .ok_or_else(|| anyhow!("no channel {name} in the config"))?;
            check_transport(name, &ch.base_url, endpoint.allow_insecure)?;
            match Secret::from_env(&ch.token_env) {
                Ok(token) => {
                    endpoints.insert(name.clone(), (ch.base_url.clone(), token));
                }
                Err(_) => missing.push(format!("{} (channel {name})", ch.token_env)),
            }
        }
        if !missing.is_empty() {
            bail!(
                "no token: set the environment variable{} {} (or try --sandbox)",
                if missing.len() == 1 { "" } else { "s" },
                missing.join(", ")
            );
        }
        (None, endpoints)
    };

    let http = http_client(Duration::from_secs(endpoint.timeout.max(1)))
        .context("setting up the HTTP client")?;
    let (cancel_handle, cancel) = Cancel::new();
    let log: Option<LogFn> = out
        .verbose
        .then(|| Arc::new(|line: &str| eprintln!("contactctl: {line}")) as LogFn);
    // Channels that share a host and token share one rate limit: the limit is per token.
    let mut limiters: BTreeMap<(String, String), Arc<RateLimiter>> = BTreeMap::new();
    let mut clients = BTreeMap::new();
    let limiter_key = |c: &crate::model::Channel| {
        if endpoint.sandbox {
            (c.name.clone(), String::new())
        } else {
            (c.base_url.clone(), c.token_env.clone())
        }
    };
    for (name, (base_url, token)) in endpoints {
        let Some(mut ch) = config.channels.get(&name).cloned() else {
            continue;
        };
        let key = limiter_key(&ch);
        let limit = config
            .channels
            .values()
            .filter(|c| limiter_key(c) == key)
            .map(|c| c.rate_limit)
            .min()
            .unwrap_or(ch.rate_limit);
        let limiter = limiters
            .entry(key)
            .or_insert_with(|| Arc::new(RateLimiter::new(limit)))
            .clone();
        ch.base_url = base_url;
        let options = ClientOptions {
            cancel: cancel.clone(),
            log: log.clone(),
            ..ClientOptions::default()
        };
        clients.insert(
            name,
            HttpClient::new(&ch, token, http.clone(), limiter, options),
        );
    }
    Ok(Connection {
        clients,
        cancel: Arc::new(cancel_handle),
        sandbox,
    })
}

/// Refuse to send a token in clear over the network: plain http is only for this machine.
/// The URL is read by the same parser the HTTP client uses, so what is checked is the host the
/// token would go to (`HTTP://`, `http://host\\@127.0.0.1` and `http://host#@127.0.0.1` all go to
/// `host`).
fn check_transport(channel: &str, base_url: &str, allow_insecure: bool) -> anyhow::Result<()> {
    let url = reqwest::Url::parse(base_url)
        .map_err(|e| anyhow!("channel {channel}: base_url {base_url} is not a valid URL ({e})"))?;
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
        bail!(
            "channel {channel}: base_url {base_url} is plain http, which would send the token in clear; use https, or pass --allow-insecure"
        )
    }
}

/// The contacts to plan: all, or those of `channels` and matching one of `contacts`.
pub fn select(
    config: &Config,
    channels: &[String],
    contacts: &[String],
) -> anyhow::Result<Vec<usize>> {
    let mut used = vec![false; contacts.len()];
    let selected: Vec<usize> = config
        .contacts
        .iter()
        .enumerate()
        .filter(|(_, c)| channels.is_empty() || channels.contains(&c.channel))
        .filter(|(_, c)| {
            if contacts.is_empty() {
                return true;
            }
            let mut hit = false;
            for (i, want) in contacts.iter().enumerate() {
                if identity_matches(config, &c.identity, want) {
                    used[i] = true;
                    hit = true;
                }
            }
            hit
        })
        .map(|(i, _)| i)
        .collect();
    if let Some(i) = used.iter().position(|u| !u) {
        bail!(
            "--contact {}: no contact in the config has that identity",
            contacts[i]
        );
    }
    Ok(selected)
}

/// Whether `want` (`field=value`, `id=ID`, or a bare value) names `identity`.
fn identity_matches(config: &Config, identity: &Identity, want: &str) -> bool {
    match identity {
        Identity::Id(id) => want == id || want.strip_prefix("id=") == Some(id.as_str()),
        Identity::Key { field, value } => {
            let ty = config.field_type(field);
            let wanted = match want.split_once('=') {
                Some((f, v)) if f == field => v,
                Some((f, _)) if config.fields.contains_key(f) || f == "id" => return false,
                _ => want,
            };
            normalize(ty, Some(wanted)) == normalize(ty, Some(value))
        }
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
