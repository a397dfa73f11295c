//! What the server said, made safe to show: the API's `message` (a string or a list) or a clean
//! excerpt of an HTML error page, scrubbed of the token, on one short line without terminal
//! escapes; whether a 403 means "no such contact"; what went wrong on the wire, as typed values
//! ([`NetworkCause`], [`TransportFailure`], [`Unexpected`]) that word themselves.

use std::fmt;

use serde::de::DeserializeOwned;

use super::HttpClient;
use super::retry::Reply;
use crate::api::ApiError;
use crate::api::wire::StatusBody;

impl HttpClient {
    /// Text from the server, safe to show: the token (should a server echo it) replaced, and
    /// folded onto one line of at most [`MAX_SHOWN`] characters (see [`one_line`]).
    pub(super) fn scrub(&self, text: &str) -> String {
        let token = self.token.expose();
        // A token of a few characters would match inside ordinary words and mangle the
        // message while hiding nothing worth hiding; real tokens are long.
        if token.len() < MIN_SCRUBBED_TOKEN_LEN {
            one_line(text, MAX_SHOWN)
        } else {
            one_line(&text.replace(token, "***"), MAX_SHOWN)
        }
    }

    /// The API's message in an error body: `message` (a string or a list) of a JSON body, else a
    /// short clean excerpt of whatever came (an HTML error page), else the status's reason.
    pub(super) fn error_message(&self, status: u16, body: &[u8]) -> String {
        let raw = if let Ok(b) = serde_json::from_slice::<StatusBody>(body) {
            b.message.text()
        } else if let Some(m) = serde_json::from_slice::<serde_json::Value>(body)
            .ok()
            .as_ref()
            .and_then(|v| v.get("message").or_else(|| v.get("error")))
            .and_then(json_message)
        {
            m
        } else {
            excerpt(&String::from_utf8_lossy(body))
        };
        let text = self.scrub(&raw);
        if text.is_empty() {
            reqwest::StatusCode::from_u16(status)
                .ok()
                .and_then(|s| s.canonical_reason())
                .map_or_else(|| Unsaid::NoMessage.to_string(), str::to_string)
        } else {
            text
        }
    }

    pub(super) fn rejected(&self, reply: &Reply) -> ApiError {
        ApiError::Rejected {
            status: reply.status,
            message: self.error_message(reply.status, &reply.body),
        }
    }

    /// A 2xx whose body is `{"status":"error",...}` is a refusal, whatever its status says.
    pub(super) fn error_in_success(&self, reply: &Reply) -> Option<String> {
        let b = serde_json::from_slice::<StatusBody>(&reply.body).ok()?;
        b.status.eq_ignore_ascii_case("error").then(|| {
            let m = self.scrub(&b.message.text());
            if m.is_empty() {
                Unsaid::ErrorWithoutMessage.to_string()
            } else {
                m
            }
        })
    }

    pub(super) fn parse<T: DeserializeOwned>(
        &self,
        what: Expected,
        reply: &Reply,
    ) -> Result<T, ApiError> {
        serde_json::from_slice(&reply.body).map_err(|error| ApiError::Protocol {
            reason: self.scrub(
                &Unexpected::NotWhatWasAsked {
                    status: reply.status,
                    what,
                    error,
                }
                .to_string(),
            ),
        })
    }
}

/// The text of a JSON `message`: a string, or a list of strings joined with `; `.
fn json_message(v: &serde_json::Value) -> Option<String> {
    match v {
        serde_json::Value::String(s) => Some(s.clone()),
        serde_json::Value::Array(items) => Some(
            items
                .iter()
                .map(|i| match i {
                    serde_json::Value::String(s) => s.clone(),
                    other => other.to_string(),
                })
                .collect::<Vec<_>>()
                .join("; "),
        ),
        _ => None,
    }
}

/// What a 403's message says when the contact does not exist (English or Spanish vendors),
/// lowercase.
const NOT_FOUND_NEEDLES: &[&str] = &[
    "not exist",
    "n't exist",
    "not found",
    "no existe",
    "no encontrad",
    "no se encontr",
];

/// Whether a 403's message says the contact does not exist (English or Spanish vendors).
pub(super) fn says_not_found(message: &str) -> bool {
    let m = message.to_lowercase();
    NOT_FOUND_NEEDLES.iter().any(|p| m.contains(p))
}

/// Most characters of server text shown in one error message.
const MAX_SHOWN: usize = 300;

/// `text` on one line: every run of whitespace and control characters (line breaks, tabs,
/// terminal escapes' ESC) becomes one space, ends trimmed, cut to `max` characters with `…`. A
/// server's message must not break a report's layout, write escapes to the terminal, or be the
/// size of its body.
fn one_line(text: &str, max: usize) -> String {
    let mut out = String::new();
    let mut count = 0;
    let mut gap = false;
    for c in text.chars() {
        if c.is_whitespace() || c.is_control() {
            gap = !out.is_empty();
            continue;
        }
        if count + usize::from(gap) >= max {
            out.push('…');
            return out;
        }
        if gap {
            out.push(' ');
            count += 1;
            gap = false;
        }
        out.push(c);
        count += 1;
    }
    out
}

/// At most ~160 characters of `text` on one line: tags dropped, whitespace collapsed, control
/// characters removed — what is left of an HTML error page is usually its title and heading.
pub(super) fn excerpt(text: &str) -> String {
    const MAX: usize = 160;
    let mut out = String::new();
    let mut in_tag = false;
    let mut space = false;
    for ch in text.chars() {
        match ch {
            '<' => in_tag = true,
            '>' if in_tag => {
                in_tag = false;
                space = true;
            }
            _ if in_tag => {}
            c if c.is_whitespace() => space = true,
            c if c.is_control() => {}
            c => {
                if space && !out.is_empty() {
                    out.push(' ');
                }
                space = false;
                out.push(c);
            }
        }
        if out.chars().count() > MAX {
            break;
        }
    }
    if out.chars().count() > MAX {
        let cut: String = out.chars().take(MAX).collect();
        format!("{cut}…")
    } else {
        out
    }
}

/// What was seen last of a call that was tried more than once: `what`, then how many attempts
/// (`timed out (after 3 attempts)`); `what` alone when it was tried once.
pub(super) struct AfterAttempts<T> {
    /// What the last attempt met.
    pub(super) what: T,
    /// Times the call was sent again after its first attempt.
    pub(super) retried: u32,
}

impl<T: fmt::Display> fmt::Display for AfterAttempts<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.retried == 0 {
            write!(f, "{}", self.what)
        } else {
            write!(f, "{} (after {} attempts)", self.what, self.retried + 1)
        }
    }
}

/// What a server's answer said when it said nothing usable itself.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Unsaid {
    /// An error body without a message, of a status without a reason phrase.
    NoMessage,
    /// A 2xx whose body is `{"status":"error"}` without a message.
    ErrorWithoutMessage,
}

impl fmt::Display for Unsaid {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Unsaid::NoMessage => "no message",
            Unsaid::ErrorWithoutMessage => "the API answered \"error\" without a message",
        })
    }
}

/// What a 2xx body should have been, as [`Unexpected::NotWhatWasAsked`] names it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Expected {
    /// Any JSON (a write's answer).
    Json,
    /// A contact (get).
    Contact,
    /// A page of a look-up.
    Page,
    /// A create's answer, the new contact's ID.
    NewId,
}

impl fmt::Display for Expected {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Expected::Json => "JSON",
            Expected::Contact => "a contact",
            Expected::Page => "a page of contacts",
            Expected::NewId => "the new contact's ID",
        })
    }
}

/// What was wrong with a call that the API's documents do not allow for: the reason of an
/// [`ApiError::Protocol`].
#[derive(Debug, thiserror::Error)]
pub(super) enum Unexpected {
    /// The request body could not be written as JSON.
    #[error("could not encode the request body: {0}")]
    Unencodable(serde_json::Error),
    /// A 2xx body that is not what the call answers.
    #[error("{status} response is not {what} ({error})")]
    NotWhatWasAsked {
        /// The answer's status.
        status: u16,
        /// What it should have been.
        what: Expected,
        /// Why it is not.
        error: serde_json::Error,
    },
    /// A create answered an empty ID.
    #[error("the new contact's ID is empty")]
    EmptyNewId,
    /// A create answered an ID no call can use (`.`, `..`).
    #[error("the new contact's ID cannot be used: {}", crate::model::unusable_id_reason(.0))]
    UnusableNewId(String),
}

/// How an attempt that got no answer failed, as [`describe_transport`] tells it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum TransportKind {
    /// The connection was not made.
    Connect,
    /// The answer's body could not be read.
    Body,
    /// Anything else.
    Other,
}

/// What went wrong on the wire, without the URL (the caller names method and path): `timed
/// out`, or how it failed and, when there is one, the innermost cause (`could not connect:
/// connection refused`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) enum TransportFailure {
    /// The request timed out.
    TimedOut,
    /// It failed in another way.
    Failed {
        /// How.
        kind: TransportKind,
        /// The innermost cause as the OS or library said it, when there is one.
        detail: Option<String>,
    },
}

impl fmt::Display for TransportFailure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let (kind, detail) = match self {
            TransportFailure::TimedOut => return f.write_str("timed out"),
            TransportFailure::Failed { kind, detail } => (kind, detail),
        };
        f.write_str(match kind {
            TransportKind::Connect => "could not connect",
            TransportKind::Body => "reading the response failed",
            TransportKind::Other => "connection error",
        })?;
        match detail {
            Some(d) => write!(f, ": {d}"),
            None => Ok(()),
        }
    }
}

/// What went wrong on the wire, without the URL (the caller names method and path).
pub(super) fn describe_transport(e: &reqwest::Error) -> TransportFailure {
    if e.is_timeout() {
        return TransportFailure::TimedOut;
    }
    let kind = if e.is_connect() {
        TransportKind::Connect
    } else if e.is_body() || e.is_decode() {
        TransportKind::Body
    } else {
        TransportKind::Other
    };
    // the innermost cause says the most (`connection refused`, `connection reset`, ...)
    let mut cause: &dyn std::error::Error = e;
    while let Some(next) = cause.source() {
        cause = next;
    }
    let detail = cause.to_string();
    let detail = (!detail.is_empty() && !std::ptr::addr_eq(cause, e as &dyn std::error::Error))
        .then_some(detail);
    TransportFailure::Failed { kind, detail }
}

/// What a failed DNS look-up's error chain says, lowercase (hyper's and the OS's wording).
const DNS_NEEDLES: &[&str] = &["dns error", "lookup address", "name or service"];

/// What a failed TLS handshake's error chain says, lowercase.
const TLS_NEEDLES: &[&str] = &["certificate", "tls", "handshake"];

/// Why a connection could not be made: `connection refused`, `DNS lookup of
/// contacts.example failed (...)`, `TLS handshake failed (...)`, `connection timed out`, or the
/// innermost cause as the OS or library said it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) enum NetworkCause {
    /// The host refused the connection.
    Refused,
    /// The connection was reset.
    Reset,
    /// No route to the host.
    HostUnreachable,
    /// No route to the host's network.
    NetworkUnreachable,
    /// The host's name did not resolve.
    Dns {
        /// The host looked up (`None`: the URL names none).
        host: Option<String>,
        /// The innermost cause.
        detail: String,
    },
    /// The TLS handshake failed (a certificate, a protocol).
    Tls {
        /// The innermost cause.
        detail: String,
    },
    /// Connecting timed out.
    TimedOut,
    /// Connecting failed, and nothing says why.
    Unknown,
    /// Connecting failed: the innermost cause as the OS or library said it.
    Other(String),
}

impl fmt::Display for NetworkCause {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            NetworkCause::Refused => f.write_str("connection refused"),
            NetworkCause::Reset => f.write_str("connection reset"),
            NetworkCause::HostUnreachable => f.write_str("host unreachable"),
            NetworkCause::NetworkUnreachable => f.write_str("network unreachable"),
            NetworkCause::Dns { host, detail } => {
                let host = host.as_deref().unwrap_or("the host");
                write!(f, "DNS lookup of {host} failed ({detail})")
            }
            NetworkCause::Tls { detail } => write!(f, "TLS handshake failed ({detail})"),
            NetworkCause::TimedOut => f.write_str("connection timed out"),
            NetworkCause::Unknown => f.write_str("could not connect"),
            NetworkCause::Other(detail) => f.write_str(detail),
        }
    }
}

/// Why a connection could not be made (see [`NetworkCause`]).
pub(super) fn transport_cause(e: &reqwest::Error) -> NetworkCause {
    let mut io_kind = None;
    let mut texts = Vec::new();
    let mut cause: Option<&dyn std::error::Error> = Some(e);
    while let Some(c) = cause {
        if let Some(io) = c.downcast_ref::<std::io::Error>() {
            io_kind.get_or_insert(io.kind());
        }
        texts.push(c.to_string());
        cause = c.source();
    }
    let innermost = texts.last().cloned().unwrap_or_default();
    let all = texts.join(": ").to_lowercase();
    let says = |needles: &[&str]| needles.iter().any(|n| all.contains(n));
    use std::io::ErrorKind as K;
    match io_kind {
        Some(K::ConnectionRefused) => return NetworkCause::Refused,
        Some(K::ConnectionReset) => return NetworkCause::Reset,
        Some(K::HostUnreachable) => return NetworkCause::HostUnreachable,
        Some(K::NetworkUnreachable) => return NetworkCause::NetworkUnreachable,
        _ => {}
    }
    if says(DNS_NEEDLES) {
        NetworkCause::Dns {
            host: e.url().and_then(|u| u.host_str()).map(str::to_string),
            detail: innermost,
        }
    } else if says(TLS_NEEDLES) {
        NetworkCause::Tls { detail: innermost }
    } else if e.is_timeout() || io_kind == Some(K::TimedOut) {
        NetworkCause::TimedOut
    } else if innermost.is_empty() {
        NetworkCause::Unknown
    } else {
        NetworkCause::Other(innermost)
    }
}

/// A contact's value as logs show it without `-vv`: enough to tell values apart, not enough to
/// read them. An e-mail keeps its first character and its domain (`j***@example.com`); a phone
/// its `+`, first three and last two digits and its punctuation (`+34 6** *** *23`); anything
/// else its first character (`J***`), or nothing when it is shorter than four characters.
pub(super) fn masked(value: &str) -> String {
    if let Some((local, domain)) = value.split_once('@')
        && !local.is_empty()
        && !domain.is_empty()
    {
        let first: String = local.chars().take(1).collect();
        return format!("{first}***@{domain}");
    }
    let digits = value.chars().filter(char::is_ascii_digit).count();
    let phone_like = value
        .chars()
        .all(|c| c.is_ascii_digit() || matches!(c, '+' | ' ' | '-' | '.' | '(' | ')'));
    if phone_like && digits >= 6 {
        let mut seen = 0;
        return value
            .chars()
            .map(|c| {
                if !c.is_ascii_digit() {
                    return c;
                }
                seen += 1;
                if seen <= 3 || seen > digits - 2 {
                    c
                } else {
                    '*'
                }
            })
            .collect();
    }
    if value.chars().count() < 4 {
        "***".to_string()
    } else {
        let first: String = value.chars().take(1).collect();
        format!("{first}***")
    }
}

/// Tokens shorter than this are not searched for in server text (see `scrub`).
const MIN_SCRUBBED_TOKEN_LEN: usize = 6;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn not_found_messages_are_recognised_in_english_and_spanish() {
        for m in [
            "Contact does not exist",
            "contact doesn't exist.",
            "Contact NOT FOUND",
            "El contacto no existe",
            "Contacto no encontrado",
            "No se encontró el contacto",
        ] {
            assert!(says_not_found(m), "{m}");
        }
        for m in ["Forbidden", "You cannot edit this contact", "API limit"] {
            assert!(!says_not_found(m), "{m}");
        }
    }

    #[test]
    fn server_text_is_shown_on_one_short_line_without_escapes() {
        assert_eq!(one_line("  a\n\tb\r\n\u{1b}[31mc  ", 100), "a b [31mc");
        assert_eq!(one_line("\t\n ", 100), "");
        assert_eq!(one_line("abcdef", 3), "abc…");
        assert_eq!(one_line("ab cd", 3), "ab…");
        assert_eq!(one_line("abc", 3), "abc");
        let long = one_line(&"wörd ".repeat(1000), MAX_SHOWN);
        assert!(
            long.chars().count() <= MAX_SHOWN + 1 && long.ends_with('…'),
            "{long}"
        );
    }

    #[test]
    fn masked_values_are_told_apart_but_not_read() {
        for (value, shown) in [
            ("juan@example.com", "j***@example.com"),
            ("+34 600 111 223", "+34 6** *** *23"),
            ("600111223", "600****23"),
            ("(555) 010-9999", "(555) ***-**99"),
            ("Juan Dar", "J***"),
            ("git", "***"),
            ("42", "***"),
            ("ñandú", "ñ***"),
            ("@handle", "@***"),
        ] {
            assert_eq!(masked(value), shown, "{value}");
        }
    }

    #[test]
    fn what_went_wrong_on_the_wire_words_itself() {
        let dns = NetworkCause::Dns {
            host: Some("contacts.example".into()),
            detail: "failed to lookup address information".into(),
        };
        assert_eq!(
            dns.to_string(),
            "DNS lookup of contacts.example failed (failed to lookup address information)"
        );
        let nameless = NetworkCause::Dns {
            host: None,
            detail: "x".into(),
        };
        assert_eq!(nameless.to_string(), "DNS lookup of the host failed (x)");
        let tls = NetworkCause::Tls {
            detail: "invalid peer certificate".into(),
        };
        assert_eq!(
            tls.to_string(),
            "TLS handshake failed (invalid peer certificate)"
        );
        assert_eq!(NetworkCause::TimedOut.to_string(), "connection timed out");
        assert_eq!(NetworkCause::Unknown.to_string(), "could not connect");
        let body = TransportFailure::Failed {
            kind: TransportKind::Body,
            detail: Some("unexpected EOF".into()),
        };
        assert_eq!(
            body.to_string(),
            "reading the response failed: unexpected EOF"
        );
        let retried = AfterAttempts {
            what: body,
            retried: 2,
        };
        assert_eq!(
            retried.to_string(),
            "reading the response failed: unexpected EOF (after 3 attempts)"
        );
        assert_eq!(
            Unsaid::ErrorWithoutMessage.to_string(),
            "the API answered \"error\" without a message"
        );
        let error = serde_json::from_str::<u8>("x").unwrap_err();
        let unexpected = Unexpected::NotWhatWasAsked {
            status: 201,
            what: Expected::NewId,
            error,
        };
        assert!(
            unexpected
                .to_string()
                .starts_with("201 response is not the new contact's ID (expected value"),
            "{unexpected}"
        );
    }

    #[test]
    fn excerpt_of_an_html_page_is_its_text_on_one_line() {
        let html = "<html><head><title>502 Bad Gateway</title></head>\n<body>\n<h1>Bad   Gateway</h1>\r\n</body></html>";
        assert_eq!(excerpt(html), "502 Bad Gateway Bad Gateway");
        let long = "x".repeat(500);
        assert_eq!(excerpt(&long).chars().count(), 161);
    }
}
