//! What the server said, made safe to show: the API's `message` (a string or a list) or a clean
//! excerpt of an HTML error page, scrubbed of the token, on one short line without terminal
//! escapes; whether a 403 means "no such contact"; what went wrong on the wire, in words.

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
                .unwrap_or("no message")
                .to_string()
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
                "the API answered \"error\" without a message".to_string()
            } else {
                m
            }
        })
    }

    pub(super) fn parse<T: DeserializeOwned>(
        &self,
        what: &str,
        reply: &Reply,
    ) -> Result<T, ApiError> {
        serde_json::from_slice(&reply.body).map_err(|e| ApiError::Protocol {
            reason: self.scrub(&format!("{} response is not {what} ({e})", reply.status)),
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

/// Whether a 403's message says the contact does not exist (English or Spanish vendors).
pub(super) fn says_not_found(message: &str) -> bool {
    let m = message.to_lowercase();
    [
        "not exist",
        "n't exist",
        "not found",
        "no existe",
        "no encontrad",
        "no se encontr",
    ]
    .iter()
    .any(|p| m.contains(p))
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

pub(super) fn attempts_note(reason: String, retried: u32) -> String {
    if retried == 0 {
        reason
    } else {
        format!("{reason} (after {} attempts)", retried + 1)
    }
}

/// What went wrong on the wire, without the URL (the caller names method and path).
pub(super) fn describe_transport(e: &reqwest::Error) -> String {
    if e.is_timeout() {
        return "timed out".to_string();
    }
    let kind = if e.is_connect() {
        "could not connect"
    } else if e.is_body() || e.is_decode() {
        "reading the response failed"
    } else {
        "connection error"
    };
    // the innermost cause says the most (`connection refused`, `connection reset`, ...)
    let mut cause: &dyn std::error::Error = e;
    while let Some(next) = cause.source() {
        cause = next;
    }
    let detail = cause.to_string();
    if detail.is_empty() || std::ptr::addr_eq(cause, e as &dyn std::error::Error) {
        kind.to_string()
    } else {
        format!("{kind}: {detail}")
    }
}

/// Why a connection could not be made, in words: `connection refused`, `DNS lookup of
/// contacts.example failed (...)`, `TLS handshake failed (...)`, `connection timed out`, or the
/// innermost cause as the OS or library said it.
pub(super) fn transport_cause(e: &reqwest::Error) -> String {
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
    let host = e
        .url()
        .and_then(|u| u.host_str())
        .unwrap_or("the host")
        .to_string();
    use std::io::ErrorKind as K;
    match io_kind {
        Some(K::ConnectionRefused) => return "connection refused".to_string(),
        Some(K::ConnectionReset) => return "connection reset".to_string(),
        Some(K::HostUnreachable) => return "host unreachable".to_string(),
        Some(K::NetworkUnreachable) => return "network unreachable".to_string(),
        _ => {}
    }
    if all.contains("dns error")
        || all.contains("lookup address")
        || all.contains("name or service")
    {
        format!("DNS lookup of {host} failed ({innermost})")
    } else if all.contains("certificate") || all.contains("tls") || all.contains("handshake") {
        format!("TLS handshake failed ({innermost})")
    } else if e.is_timeout() || io_kind == Some(K::TimedOut) {
        "connection timed out".to_string()
    } else if innermost.is_empty() {
        "could not connect".to_string()
    } else {
        innermost
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
    fn excerpt_of_an_html_page_is_its_text_on_one_line() {
        let html = "<html><head><title>502 Bad Gateway</title></head>\n<body>\n<h1>Bad   Gateway</h1>\r\n</body></html>";
        assert_eq!(excerpt(html), "502 Bad Gateway Bad Gateway");
        let long = "x".repeat(500);
        assert_eq!(excerpt(&long).chars().count(), 161);
    }
}
