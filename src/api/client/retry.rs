//! Sending one call: wait for the channel's rate limiter before every attempt, then the retry
//! policy — a 429 is waited out (`Retry-After` as a floor under the backoff), and a channel
//! still answering 429 past the whole schedule stops (every later call of it fails at once);
//! 5xx, timeouts and
//! resets are retried with backoff for idempotent calls only; a create is repeated only when the
//! server cannot have acted on it. Statuses the caller must not interpret (401, 405, 429, 5xx,
//! redirects) become an [`ApiError`] here.

use std::sync::atomic::Ordering;
use std::time::{Duration, SystemTime};

use backon::{BackoffBuilder, ExponentialBuilder};
use reqwest::Method;
use reqwest::header::{ACCEPT, CONTENT_TYPE, HeaderMap, LOCATION, RETRY_AFTER};
use tokio::time::Instant;

use super::HttpClient;
use super::message::{attempts_note, describe_transport, excerpt, transport_cause};
use super::stats::CallKind;
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
        if self.is_stopped() {
            return Err(self.unauthorized());
        }
        if let Some(e) = self.throttled_out.get() {
            return Err(e.clone());
        }
        let cancel = &self.options.cancel;
        if cancel.is_cancelled() {
            return Err(ApiError::Cancelled);
        }
        let permit = tokio::select! {
            biased;
            () = cancel.cancelled() => return Err(ApiError::Cancelled),
            permit = self.limiter.acquire() => permit,
        };
        // a 401, a channel throttled out or a cancel may have come in while this call waited
        // for its slot
        if self.is_stopped() {
            return Err(self.unauthorized());
        }
        if let Some(e) = self.throttled_out.get() {
            return Err(e.clone());
        }
        if cancel.is_cancelled() {
            return Err(ApiError::Cancelled);
        }
        Ok(permit)
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
        // A create is only repeated when the server cannot have acted on it: a 429 refused it,
        // or the connection was never made. Anything else is the caller's to look up first.
        let idempotent = kind != CallKind::Create;
        let mut error_delays = self.backoff();
        let mut throttle_delays = self.backoff();
        let mut errors_retried = 0u32;
        let mut waited_429 = Duration::ZERO;
        let mut throttled_attempts = 0u32;
        let mut first = true;
        loop {
            let permit = self.ready().await?;
            let c = &self.counters;
            c.requests.fetch_add(1, Ordering::Relaxed);
            c.by_kind[kind as usize].fetch_add(1, Ordering::Relaxed);
            if !first {
                c.retries.fetch_add(1, Ordering::Relaxed);
            }
            first = false;

            let started = Instant::now();
            let mut req = self
                .http
                .request(method.clone(), &url)
                .bearer_auth(self.token.expose())
                .header(CONTENT_TYPE, "application/json")
                .header(ACCEPT, "application/json");
            if let Some(b) = &body {
                req = req.body(b.clone());
            }
            let result = match req.send().await {
                Ok(resp) => {
                    let status = resp.status().as_u16();
                    let headers = resp.headers().clone();
                    let success = (200..300).contains(&status);
                    match read_capped(resp, MAX_RESPONSE_BYTES).await {
                        Ok(Some(b)) => Ok((status, headers, b)),
                        // the status alone says what happened, unless it claims success
                        Ok(None) | Err(_) if !success => Ok((status, headers, Vec::new())),
                        Ok(None) => {
                            let ms = started.elapsed().as_millis();
                            self.log(|| {
                                format!("{method} {shown} -> {status}, too large ({ms} ms)")
                            });
                            self.reached.store(true, Ordering::SeqCst);
                            return Err(ApiError::TooLarge {
                                channel: self.channel.clone(),
                                url: self.shown_url.clone(),
                                limit_mib: MAX_RESPONSE_BYTES >> 20,
                            });
                        }
                        Err(e) => Err(e),
                    }
                }
                Err(e) => Err(e),
            };
            // The call has ended (the server counted it, if at all, by now): its rate-limit
            // slot comes free a window from here, not from the send.
            drop(permit);
            let ms = started.elapsed().as_millis();

            let (status, headers, bytes) = match result {
                Ok(r) => r,
                Err(e) => {
                    let what = describe_transport(&e);
                    self.log(|| format!("{method} {shown} -> {what} ({ms} ms)"));
                    let connect = e.is_connect();
                    // A host that has never answered and refuses the connection (or has no
                    // address) is most likely a wrong base_url: say so in seconds, not after a
                    // full backoff. Once it has answered, a refusal is a blip worth waiting out.
                    let first_contact = connect && !self.reached.load(Ordering::SeqCst);
                    let allowed = if first_contact {
                        self.options
                            .max_retries
                            .min(self.options.first_contact_retries)
                    } else {
                        self.options.max_retries
                    };
                    if (idempotent || connect) && errors_retried < allowed {
                        errors_retried += 1;
                        let mut d = error_delays.next().unwrap_or(self.options.backoff_max);
                        if first_contact {
                            d = d.min(FIRST_CONTACT_MAX_DELAY);
                        }
                        self.pause(d).await?;
                        continue;
                    }
                    if connect {
                        return Err(ApiError::Unreachable {
                            channel: self.channel.clone(),
                            url: self.shown_url.clone(),
                            cause: self.scrub(&transport_cause(&e)),
                            attempts: errors_retried + 1,
                        });
                    }
                    let reason = self.scrub(&attempts_note(what, errors_retried));
                    return Err(ApiError::Unknown { reason });
                }
            };
            self.reached.store(true, Ordering::SeqCst);
            self.note_throttled(status == 429);
            self.log(|| format!("{method} {shown} -> {status} ({ms} ms)"));

            match status {
                200..=299 => {
                    return Ok(Reply {
                        status,
                        body: bytes,
                    });
                }
                401 => {
                    self.stopped.store(true, Ordering::SeqCst);
                    return Err(self.unauthorized());
                }
                405 => {
                    return Err(ApiError::MethodNotAllowed {
                        method: method.to_string(),
                        path: path.to_string(),
                    });
                }
                429 => {
                    c.throttled_429.fetch_add(1, Ordering::Relaxed);
                    // Retry-After is honoured, but as a floor under the growing backoff: a
                    // server that keeps answering `Retry-After: 0` must not be hammered.
                    let backoff = throttle_delays.next().unwrap_or(self.options.backoff_max);
                    let wait = retry_after(&headers).map_or(backoff, |r| r.max(backoff));
                    if waited_429 + wait > self.options.max_429_wait {
                        // Past the whole schedule: the platform keeps refusing the channel's
                        // calls, and every other call of it would wait as long for the same
                        // answer. The channel stops, as for an unreachable host.
                        let e = ApiError::Throttled {
                            channel: self.channel.clone(),
                            url: self.shown_url.clone(),
                            message: excerpt(&self.error_message(429, &bytes)),
                            attempts: throttled_attempts + 1,
                            waited_secs: waited_429.as_secs(),
                            schedule_secs: self.options.max_429_wait.as_secs(),
                        };
                        return Err(self.throttled_out.get_or_init(|| e).clone());
                    }
                    throttled_attempts += 1;
                    waited_429 += wait;
                    self.pause(wait).await?;
                }
                500..=599 => {
                    if idempotent && errors_retried < self.options.max_retries {
                        errors_retried += 1;
                        let backoff = error_delays.next().unwrap_or(self.options.backoff_max);
                        let d = retry_after(&headers)
                            .map_or(backoff, |r| r.min(self.options.backoff_max));
                        self.pause(d).await?;
                        continue;
                    }
                    let msg = self.error_message(status, &bytes);
                    return Err(ApiError::Unknown {
                        reason: attempts_note(format!("{status}: {msg}"), errors_retried),
                    });
                }
                300..=399 => {
                    let to = headers
                        .get(LOCATION)
                        .and_then(|v| v.to_str().ok())
                        .map(|l| format!(" to {}", self.scrub(&excerpt(l))))
                        .unwrap_or_default();
                    return Err(ApiError::Rejected {
                        status,
                        message: format!("unexpected redirect{to} (check the channel's base_url)"),
                    });
                }
                _ => {
                    return Ok(Reply {
                        status,
                        body: bytes,
                    });
                }
            }
        }
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
}
