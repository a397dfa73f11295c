//! Sending one call: wait for the channel's rate limiter before every attempt, then the retry
//! policy — a 429 is waited out (`Retry-After` as a floor under the backoff), and a channel
//! still answering 429 past the whole schedule stops (every later call of it fails at once);
//! 5xx, timeouts and
//! resets are retried with backoff for idempotent calls only; a create is repeated only when the
//! server cannot have acted on it. Statuses the caller must not interpret (401, 405, 429, 5xx,
//! redirects) become an [`ApiError`] here.

use std::fmt;
use std::sync::atomic::Ordering;
use std::time::{Duration, SystemTime};

use backon::{BackoffBuilder, ExponentialBuilder};
use reqwest::Method;
use reqwest::header::{ACCEPT, CONTENT_TYPE, HeaderMap, LOCATION, RETRY_AFTER};
use tokio::time::Instant;

use super::message::{
    AfterAttempts, TransportFailure, describe_transport, excerpt, transport_cause,
};
use super::stats::CallKind;
use super::{ClientOptions, HttpClient};
use crate::api::ApiError;
use crate::api::limiter::Permit;

/// The largest response body read, 16 MiB: the largest page the tool asks for (`per_page=1000`
/// contacts of up to 30 fields) is a few MiB at most. A larger body is an error naming the host.
pub const MAX_RESPONSE_BYTES: usize = 16 * 1024 * 1024;

/// Longest wait between attempts to reach a host that has never answered.
const FIRST_CONTACT_MAX_DELAY: Duration = Duration::from_secs(1);

/// A response the retry policy let through: a 2xx, or a 4xx for the call to interpret.
pub(super) struct Reply {
    pub(super) status: u16,
    pub(super) body: Vec<u8>,
}

impl HttpClient {
    /// Cleared to start one request: the channel is not stopped, the run not cancelled, and the
    /// limiter has given a slot, held until the returned permit is dropped when the call ends.
    async fn ready(&self) -> Result<Permit<'_>, ApiError> {
        let cancel = &self.options.cancel;
        loop {
            // listening before the check: a stop between the check and the wait still wakes it
            let stop = self.stop.notified();
            tokio::pin!(stop);
            stop.as_mut().enable();
            if let Some(e) = self.stop_error() {
                return Err(e);
            }
            tokio::select! {
                biased;
                () = cancel.cancelled() => return Err(ApiError::Cancelled),
                // the channel stopped while this call waited: the check above says how
                () = &mut stop => {}
                permit = self.limiter.acquire() => {
                    // a 401, a channel throttled out or a cancel may have come in meanwhile
                    return match self.stop_error() {
                        Some(e) => Err(e),
                        None => Ok(permit),
                    };
                }
            }
        }
    }

    /// Why a call is not sent now: the channel stopped (its token refused, or throttled out),
    /// or the run was cancelled; `None` while it may be.
    fn stop_error(&self) -> Option<ApiError> {
        if self.is_stopped() {
            return Some(ApiError::NotSent(Box::new(self.unauthorized())));
        }
        if let Some(e) = self.throttled_out.get() {
            return Some(ApiError::NotSent(Box::new(e.clone())));
        }
        self.options
            .cancel
            .is_cancelled()
            .then_some(ApiError::Cancelled)
    }

    /// Sleep `d` before the next attempt, unless the run is cancelled first.
    async fn pause(&self, d: Duration) -> Result<(), ApiError> {
        let cancel = &self.options.cancel;
        tokio::select! {
            biased;
            () = cancel.cancelled() => Err(ApiError::Cancelled),
            () = tokio::time::sleep(d) => Ok(()),
        }
    }

    fn backoff(&self) -> impl Iterator<Item = Duration> + use<> {
        let max = self.options.backoff_max;
        ExponentialBuilder::new()
            .with_min_delay(self.options.backoff_base)
            .with_max_delay(max)
            .with_jitter()
            .without_max_times()
            .build()
            .map(move |d| d.min(max))
    }

    /// Send one call under the retry policy. Returns 2xx and the 4xx the caller interprets
    /// (not 401, 405 or 429); everything else becomes an error here. `shown` is the path as the
    /// `-v` log shows it (a look-up's value masked).
    pub(super) async fn send(
        &self,
        kind: CallKind,
        method: Method,
        path: &str,
        shown: &str,
        body: Option<Vec<u8>>,
    ) -> Result<Reply, ApiError> {
        let url = format!("{}{}", self.base_url, path);
        let mut policy = Policy::new(kind, &self.options, self.backoff(), self.backoff());
        let mut first = true;
        loop {
            let permit = self.ready().await.map_err(|e| match e {
                // a retry: an earlier attempt was sent, and may have taken effect
                ApiError::NotSent(stopped) if !first => *stopped,
                e => e,
            })?;
            self.count_attempt(kind, !first);
            first = false;

            let started = Instant::now();
            let result = self.attempt(&method, &url, body.as_ref()).await;
            // The call has ended (the server counted it, if at all, by now): its rate-limit
            // slot comes free a window from here, not from the send.
            drop(permit);
            let ms = started.elapsed().as_millis();

            let answer = match result {
                Ok(Attempt::Answered(answer)) => answer,
                Ok(Attempt::TooLarge(status)) => {
                    self.log(|| LogLine::text(&method, shown, Logged::TooLarge(status), ms));
                    self.reached.store(true, Ordering::SeqCst);
                    return Err(ApiError::TooLarge {
                        channel: self.channel.clone(),
                        url: self.shown_url.clone(),
                        limit_mib: MAX_RESPONSE_BYTES >> 20,
                    });
                }
                Err(e) => {
                    let what = describe_transport(&e);
                    self.log(|| LogLine::text(&method, shown, Logged::NoAnswer(&what), ms));
                    let reached = self.reached.load(Ordering::SeqCst);
                    match policy.after_no_answer(e.is_connect(), reached) {
                        Ok(wait) => {
                            self.pause(wait).await?;
                            continue;
                        }
                        Err(gave_up) => return Err(self.no_answer_error(gave_up, &e, what)),
                    }
                }
            };
            let status = answer.status;
            self.note_answer(status);
            self.log(|| LogLine::text(&method, shown, Logged::Status(status), ms));

            match policy.after_status(status, retry_after(&answer.headers)) {
                Next::Reply => {
                    return Ok(Reply {
                        status,
                        body: answer.body,
                    });
                }
                Next::Retry(wait) => self.pause(wait).await?,
                Next::Stop(stop) => return Err(self.refusal(stop, &method, path, &answer)),
            }
        }
    }

    /// Count an attempt of a call of `kind` (`retry`: not its first).
    fn count_attempt(&self, kind: CallKind, retry: bool) {
        let c = &self.counters;
        c.requests.fetch_add(1, Ordering::Relaxed);
        c.by_kind[kind as usize].fetch_add(1, Ordering::Relaxed);
        if retry {
            c.retries.fetch_add(1, Ordering::Relaxed);
        }
    }

    /// Note that the host answered, with `status`: it is reached, and a 429 is counted and
    /// continues a run of them (anything else ends it).
    fn note_answer(&self, status: u16) {
        self.reached.store(true, Ordering::SeqCst);
        self.note_throttled(status == 429);
        if status == 429 {
            self.counters.throttled_429.fetch_add(1, Ordering::Relaxed);
        }
    }

    /// One attempt: the request sent and its answer read, up to [`MAX_RESPONSE_BYTES`].
    async fn attempt(
        &self,
        method: &Method,
        url: &str,
        body: Option<&Vec<u8>>,
    ) -> Result<Attempt, reqwest::Error> {
        let mut req = self
            .http
            .request(method.clone(), url)
            .bearer_auth(self.token.expose())
            .header(CONTENT_TYPE, "application/json")
            .header(ACCEPT, "application/json");
        if let Some(b) = body {
            req = req.body(b.clone());
        }
        let resp = req.send().await?;
        let status = resp.status().as_u16();
        let headers = resp.headers().clone();
        let success = (200..300).contains(&status);
        let answered = |body| {
            Attempt::Answered(Answer {
                status,
                headers,
                body,
            })
        };
        match read_capped(resp, MAX_RESPONSE_BYTES).await {
            Ok(Some(b)) => Ok(answered(b)),
            // the status alone says what happened, unless it claims success
            Ok(None) | Err(_) if !success => Ok(answered(Vec::new())),
            Ok(None) => Ok(Attempt::TooLarge(status)),
            Err(e) => Err(e),
        }
    }

    /// The error of an attempt without an answer (`e`, described as `what`) that the policy does
    /// not retry.
    fn no_answer_error(
        &self,
        gave_up: GaveUp,
        e: &reqwest::Error,
        what: TransportFailure,
    ) -> ApiError {
        match gave_up {
            GaveUp::Unreachable { attempts } => ApiError::Unreachable {
                channel: self.channel.clone(),
                url: self.shown_url.clone(),
                cause: self.scrub(&transport_cause(e).to_string()),
                attempts,
            },
            GaveUp::NoAnswer { retried } => ApiError::Unknown {
                reason: self.scrub(&AfterAttempts { what, retried }.to_string()),
            },
        }
    }

    /// The error of an answer the policy stopped at.
    fn refusal(&self, stop: Stop, method: &Method, path: &str, answer: &Answer) -> ApiError {
        let status = answer.status;
        match stop {
            Stop::Unauthorized => {
                self.stopped.store(true, Ordering::SeqCst);
                self.stop.notify_waiters();
                self.unauthorized()
            }
            Stop::MethodNotAllowed => ApiError::MethodNotAllowed {
                method: method.to_string(),
                path: path.to_string(),
            },
            Stop::ThrottledOut { attempts, waited } => {
                // Past the whole schedule: the platform keeps refusing the channel's calls, and
                // every other call of it would wait as long for the same answer. The channel
                // stops, as for an unreachable host.
                let e = ApiError::Throttled {
                    channel: self.channel.clone(),
                    url: self.shown_url.clone(),
                    message: excerpt(&self.error_message(429, &answer.body)),
                    attempts,
                    waited_secs: waited.as_secs(),
                    schedule_secs: self.options.max_429_wait.as_secs(),
                };
                let e = self.throttled_out.get_or_init(|| e).clone();
                self.stop.notify_waiters();
                e
            }
            Stop::ServerError { retried } => {
                let msg = self.error_message(status, &answer.body);
                ApiError::Unknown {
                    reason: AfterAttempts {
                        what: format!("{status}: {msg}"),
                        retried,
                    }
                    .to_string(),
                }
            }
            Stop::Redirect => {
                let to = answer
                    .headers
                    .get(LOCATION)
                    .and_then(|v| v.to_str().ok())
                    .map(|l| self.scrub(&excerpt(l)));
                ApiError::Rejected {
                    status,
                    message: Redirected { to }.to_string(),
                }
            }
        }
    }
}

/// One line of the `-v` request log, never the token: `GET /v1/contact/1 -> 200 (12 ms)`.
struct LogLine<'a> {
    method: &'a Method,
    /// The path as the log shows it (a look-up's value masked).
    shown: &'a str,
    outcome: Logged<'a>,
    ms: u128,
}

impl<'a> LogLine<'a> {
    /// The line, in words.
    fn text(method: &'a Method, shown: &'a str, outcome: Logged<'a>, ms: u128) -> String {
        LogLine {
            method,
            shown,
            outcome,
            ms,
        }
        .to_string()
    }
}

/// What an attempt got, as the request log says it.
enum Logged<'a> {
    /// An answer with this status.
    Status(u16),
    /// A 2xx whose body is larger than [`MAX_RESPONSE_BYTES`].
    TooLarge(u16),
    /// No answer.
    NoAnswer(&'a TransportFailure),
}

impl fmt::Display for LogLine<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let LogLine {
            method, shown, ms, ..
        } = self;
        match &self.outcome {
            Logged::Status(status) => write!(f, "{method} {shown} -> {status} ({ms} ms)"),
            Logged::TooLarge(status) => {
                write!(f, "{method} {shown} -> {status}, too large ({ms} ms)")
            }
            Logged::NoAnswer(what) => write!(f, "{method} {shown} -> {what} ({ms} ms)"),
        }
    }
}

/// A 3xx, refused: the tool follows no redirect. `to` is its `Location`, scrubbed.
struct Redirected {
    to: Option<String>,
}

impl fmt::Display for Redirected {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("unexpected redirect")?;
        if let Some(to) = &self.to {
            write!(f, " to {to}")?;
        }
        f.write_str(" (check the channel's base_url)")
    }
}

/// What one attempt got.
enum Attempt {
    /// An answer (its body empty when it does not claim success and could not be read whole).
    Answered(Answer),
    /// A 2xx whose body is larger than [`MAX_RESPONSE_BYTES`].
    TooLarge(u16),
}

/// A status, its headers and its body.
struct Answer {
    status: u16,
    headers: HeaderMap,
    body: Vec<u8>,
}

/// What to do after an answer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Next {
    /// Give it to the caller: a 2xx, or a 4xx for the call to interpret.
    Reply,
    /// Wait this long, then send the call again.
    Retry(Duration),
    /// Stop: the call fails.
    Stop(Stop),
}

/// Why the policy stopped at an answer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Stop {
    /// 401: the token is refused, and the channel stops.
    Unauthorized,
    /// 405.
    MethodNotAllowed,
    /// A 429 whose wait would go past the whole 429 schedule: the channel stops. `attempts`
    /// answered 429, after `waited` spent waiting them out.
    ThrottledOut { attempts: u32, waited: Duration },
    /// A 5xx not retried (any more): `retried` times before.
    ServerError { retried: u32 },
    /// A 3xx: the tool follows no redirect.
    Redirect,
}

/// Why the policy gave up on a call whose attempt got no answer (a refused connection, a
/// timeout, a reset).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum GaveUp {
    /// The connection was never made, `attempts` times: the host is unreachable.
    Unreachable { attempts: u32 },
    /// The call may have reached the server and is not repeated (any more): `retried` times
    /// before.
    NoAnswer { retried: u32 },
}

/// The retry policy of one call, apart from the network and the clock: given what an attempt
/// got, give the answer back, wait and try again, or stop. It counts what it has retried and
/// waited; the delays come from the two backoff schedules it is given (jittered in use, fixed
/// in tests).
struct Policy<'a, B> {
    options: &'a ClientOptions,
    /// A create is only repeated when the server cannot have acted on it: a 429 refused it, or
    /// the connection was never made. Anything else is the caller's to look up first.
    idempotent: bool,
    /// The delays between attempts after a 5xx or no answer...
    error_delays: B,
    /// ...and after a 429.
    throttle_delays: B,
    /// 5xx and attempts without an answer, retried so far.
    errors_retried: u32,
    /// 429s waited out so far, and the time that took.
    throttled_attempts: u32,
    waited_429: Duration,
}

impl<'a, B: Iterator<Item = Duration>> Policy<'a, B> {
    fn new(
        kind: CallKind,
        options: &'a ClientOptions,
        error_delays: B,
        throttle_delays: B,
    ) -> Self {
        Policy {
            options,
            idempotent: kind != CallKind::Create,
            error_delays,
            throttle_delays,
            errors_retried: 0,
            throttled_attempts: 0,
            waited_429: Duration::ZERO,
        }
    }

    /// After an attempt that got no answer (`connect`: the connection was never made;
    /// `reached`: the host has answered before), how long to wait before the next attempt, or
    /// why there is none.
    fn after_no_answer(&mut self, connect: bool, reached: bool) -> Result<Duration, GaveUp> {
        // A host that has never answered and refuses the connection (or has no address) is
        // most likely a wrong base_url: say so in seconds, not after a full backoff. Once it
        // has answered, a refusal is a blip worth waiting out.
        let first_contact = connect && !reached;
        let allowed = if first_contact {
            self.options
                .max_retries
                .min(self.options.first_contact_retries)
        } else {
            self.options.max_retries
        };
        if (self.idempotent || connect) && self.errors_retried < allowed {
            self.errors_retried += 1;
            let d = self.next_error_delay();
            return Ok(if first_contact {
                d.min(FIRST_CONTACT_MAX_DELAY)
            } else {
                d
            });
        }
        Err(if connect {
            GaveUp::Unreachable {
                attempts: self.errors_retried + 1,
            }
        } else {
            GaveUp::NoAnswer {
                retried: self.errors_retried,
            }
        })
    }

    /// After an answer with `status` (and `retry_after`, its `Retry-After` as a delay).
    fn after_status(&mut self, status: u16, retry_after: Option<Duration>) -> Next {
        match status {
            200..=299 => Next::Reply,
            401 => Next::Stop(Stop::Unauthorized),
            405 => Next::Stop(Stop::MethodNotAllowed),
            429 => self.after_throttled(retry_after),
            500..=599 => self.after_server_error(retry_after),
            300..=399 => Next::Stop(Stop::Redirect),
            _ => Next::Reply,
        }
    }

    /// A 429 is waited out, for a create too (it was refused), until the waits would go past
    /// `max_429_wait`. Retry-After is honoured, but as a floor under the growing backoff: a
    /// server that keeps answering `Retry-After: 0` must not be hammered.
    fn after_throttled(&mut self, retry_after: Option<Duration>) -> Next {
        let backoff = self
            .throttle_delays
            .next()
            .unwrap_or(self.options.backoff_max);
        let wait = retry_after.map_or(backoff, |r| r.max(backoff));
        if self.waited_429 + wait > self.options.max_429_wait {
            return Next::Stop(Stop::ThrottledOut {
                attempts: self.throttled_attempts + 1,
                waited: self.waited_429,
            });
        }
        self.throttled_attempts += 1;
        self.waited_429 += wait;
        Next::Retry(wait)
    }

    /// A 5xx is retried, for an idempotent call only, up to `max_retries` times: after the
    /// backoff, or after Retry-After when the server gives one (up to the longest backoff).
    fn after_server_error(&mut self, retry_after: Option<Duration>) -> Next {
        if !self.idempotent || self.errors_retried >= self.options.max_retries {
            return Next::Stop(Stop::ServerError {
                retried: self.errors_retried,
            });
        }
        self.errors_retried += 1;
        let backoff = self.next_error_delay();
        Next::Retry(retry_after.map_or(backoff, |r| r.min(self.options.backoff_max)))
    }

    fn next_error_delay(&mut self) -> Duration {
        self.error_delays.next().unwrap_or(self.options.backoff_max)
    }
}

/// The body of `resp`, or `None` when it is larger than `cap` bytes: said by its
/// `Content-Length` (nothing is read then), or found while reading it chunk by chunk (reading
/// stops at the cap, and the connection is dropped). A server sending a gigabyte costs at most
/// `cap` bytes of memory.
async fn read_capped(
    mut resp: reqwest::Response,
    cap: usize,
) -> Result<Option<Vec<u8>>, reqwest::Error> {
    let declared = resp.content_length();
    if declared.is_some_and(|n| n > cap as u64) {
        return Ok(None);
    }
    // a declared length is a hint, never trusted beyond the cap
    let mut body = Vec::with_capacity(declared.map_or(0, |n| n as usize));
    while let Some(chunk) = resp.chunk().await? {
        if body.len() + chunk.len() > cap {
            return Ok(None);
        }
        body.extend_from_slice(&chunk);
    }
    Ok(Some(body))
}

/// `Retry-After` as a delay: whole (or fractional) seconds, or an HTTP date.
fn retry_after(headers: &HeaderMap) -> Option<Duration> {
    let v = headers.get(RETRY_AFTER)?.to_str().ok()?.trim();
    if let Ok(secs) = v.parse::<f64>() {
        return Duration::try_from_secs_f64(secs).ok();
    }
    let at = httpdate::parse_http_date(v).ok()?;
    Some(at.duration_since(SystemTime::now()).unwrap_or_default())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn retry_after_takes_seconds_or_a_date() {
        let mut h = HeaderMap::new();
        h.insert(RETRY_AFTER, "7".parse().unwrap());
        assert_eq!(retry_after(&h), Some(Duration::from_secs(7)));
        h.insert(RETRY_AFTER, "0.5".parse().unwrap());
        assert_eq!(retry_after(&h), Some(Duration::from_millis(500)));
        let soon = httpdate::fmt_http_date(SystemTime::now() + Duration::from_secs(120));
        h.insert(RETRY_AFTER, soon.parse().unwrap());
        let d = retry_after(&h).unwrap();
        assert!(
            d > Duration::from_secs(100) && d <= Duration::from_secs(120),
            "{d:?}"
        );
        h.insert(
            RETRY_AFTER,
            "Wed, 21 Oct 2015 07:28:00 GMT".parse().unwrap(),
        );
        assert_eq!(retry_after(&h), Some(Duration::ZERO));
        h.insert(RETRY_AFTER, "soon".parse().unwrap());
        assert_eq!(retry_after(&h), None);
        h.insert(RETRY_AFTER, "-1".parse().unwrap());
        assert_eq!(retry_after(&h), None);
    }

    /// The policy of a call of `kind` under `options`, with backoff delays of 1 s, 2 s, 4 s, ...
    fn policy(
        kind: CallKind,
        options: &ClientOptions,
    ) -> Policy<'_, impl Iterator<Item = Duration>> {
        let doubling = || std::iter::successors(Some(Duration::from_secs(1)), |d| Some(*d * 2));
        Policy::new(kind, options, doubling(), doubling())
    }

    fn secs(n: u64) -> Duration {
        Duration::from_secs(n)
    }

    #[test]
    fn the_request_log_and_a_refused_redirect_word_themselves() {
        let get = Method::GET;
        assert_eq!(
            LogLine::text(&get, "/v1/contact/1", Logged::Status(200), 12),
            "GET /v1/contact/1 -> 200 (12 ms)"
        );
        assert_eq!(
            LogLine::text(&get, "/v1/contact/1", Logged::TooLarge(200), 7),
            "GET /v1/contact/1 -> 200, too large (7 ms)"
        );
        let timed_out = TransportFailure::TimedOut;
        assert_eq!(
            LogLine::text(&get, "/v1/contact/1", Logged::NoAnswer(&timed_out), 300),
            "GET /v1/contact/1 -> timed out (300 ms)"
        );
        let to = Some("https://other.example/".to_string());
        assert_eq!(
            Redirected { to }.to_string(),
            "unexpected redirect to https://other.example/ (check the channel's base_url)"
        );
        assert_eq!(
            Redirected { to: None }.to_string(),
            "unexpected redirect (check the channel's base_url)"
        );
    }

    #[test]
    fn success_and_the_4xx_the_caller_reads_are_replies_the_rest_stops() {
        let options = ClientOptions::default();
        let mut p = policy(CallKind::Update, &options);
        for status in [200, 201, 204, 400, 404, 409, 422] {
            assert_eq!(p.after_status(status, None), Next::Reply, "{status}");
        }
        assert_eq!(p.after_status(401, None), Next::Stop(Stop::Unauthorized));
        assert_eq!(
            p.after_status(405, None),
            Next::Stop(Stop::MethodNotAllowed)
        );
        for status in [301, 302, 307] {
            assert_eq!(p.after_status(status, None), Next::Stop(Stop::Redirect));
        }
        // none of those waited or counted a retry
        assert_eq!((p.errors_retried, p.throttled_attempts), (0, 0));
    }

    #[test]
    fn a_5xx_is_retried_with_backoff_up_to_max_retries_for_idempotent_calls_only() {
        let options = ClientOptions {
            max_retries: 3,
            ..ClientOptions::default()
        };
        let mut p = policy(CallKind::Update, &options);
        assert_eq!(p.after_status(500, None), Next::Retry(secs(1)));
        assert_eq!(p.after_status(503, None), Next::Retry(secs(2)));
        // Retry-After replaces the backoff, up to the longest backoff
        assert_eq!(p.after_status(503, Some(secs(600))), Next::Retry(secs(30)));
        assert_eq!(
            p.after_status(502, None),
            Next::Stop(Stop::ServerError { retried: 3 })
        );
        // a create may have been acted on: not repeated
        let mut p = policy(CallKind::Create, &options);
        assert_eq!(
            p.after_status(500, None),
            Next::Stop(Stop::ServerError { retried: 0 })
        );
    }

    #[test]
    fn a_429_is_waited_out_with_retry_after_as_a_floor_until_the_schedule_ends() {
        let options = ClientOptions {
            max_429_wait: secs(20),
            ..ClientOptions::default()
        };
        // a create too: the 429 refused it
        let mut p = policy(CallKind::Create, &options);
        assert_eq!(p.after_status(429, None), Next::Retry(secs(1)));
        // Retry-After: 0 does not shorten the backoff; a longer one is waited
        assert_eq!(
            p.after_status(429, Some(Duration::ZERO)),
            Next::Retry(secs(2))
        );
        assert_eq!(p.after_status(429, Some(secs(10))), Next::Retry(secs(10)));
        // 13 s waited; the next backoff (8 s) would end past 20 s
        assert_eq!(
            p.after_status(429, None),
            Next::Stop(Stop::ThrottledOut {
                attempts: 4,
                waited: secs(13),
            })
        );
        // 429s do not use up the retries of errors
        assert_eq!(p.errors_retried, 0);
    }

    #[test]
    fn without_an_answer_only_what_cannot_have_reached_the_server_is_repeated_for_a_create() {
        let options = ClientOptions {
            max_retries: 2,
            ..ClientOptions::default()
        };
        let mut p = policy(CallKind::Get, &options);
        // a timeout or a reset: retried for an idempotent call
        assert_eq!(p.after_no_answer(false, true), Ok(secs(1)));
        assert_eq!(p.after_no_answer(false, true), Ok(secs(2)));
        assert_eq!(
            p.after_no_answer(false, true),
            Err(GaveUp::NoAnswer { retried: 2 })
        );
        let mut p = policy(CallKind::Create, &options);
        assert_eq!(
            p.after_no_answer(false, true),
            Err(GaveUp::NoAnswer { retried: 0 })
        );
        // a refused connection: the create never reached the server
        assert_eq!(p.after_no_answer(true, true), Ok(secs(1)));
        assert_eq!(p.after_no_answer(true, true), Ok(secs(2)));
        assert_eq!(
            p.after_no_answer(true, true),
            Err(GaveUp::Unreachable { attempts: 3 })
        );
    }

    #[test]
    fn a_host_that_never_answered_is_given_up_on_in_seconds() {
        let options = ClientOptions {
            max_retries: 5,
            first_contact_retries: 2,
            ..ClientOptions::default()
        };
        let mut p = policy(CallKind::Get, &options);
        // waits of at most a second, two retries
        assert_eq!(p.after_no_answer(true, false), Ok(secs(1)));
        assert_eq!(p.after_no_answer(true, false), Ok(secs(1)));
        assert_eq!(
            p.after_no_answer(true, false),
            Err(GaveUp::Unreachable { attempts: 3 })
        );
        // once the host has answered, a refused connection gets the whole backoff
        let mut p = policy(CallKind::Get, &options);
        assert_eq!(p.after_no_answer(true, false), Ok(secs(1)));
        assert_eq!(p.after_no_answer(true, true), Ok(secs(2)));
        assert_eq!(p.after_no_answer(true, true), Ok(secs(4)));
    }
}
