//! How contact IDs and look-up values travel in URLs: strict percent-encoding (every byte but the
//! unreserved `A-Za-z0-9-._~`), and the Base64 wrapping Viber channels need in path calls. Pure
//! string functions; building requests and choosing which call is Base64-wrapped is the client's.

use base64::Engine;
use percent_encoding::{AsciiSet, NON_ALPHANUMERIC, utf8_percent_encode};

/// Everything but RFC 3986's unreserved characters is encoded: `+` must not turn into a space,
/// and `/` must not split a path segment.
const STRICT: &AsciiSet = &NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'.')
    .remove(b'_')
    .remove(b'~');

/// `s` percent-encoded for use as one path segment or one query value (`+` → `%2B`, `/` → `%2F`,
/// `=` → `%3D`, space → `%20`; non-ASCII as its UTF-8 bytes).
pub fn strict(s: &str) -> String {
    utf8_percent_encode(s, STRICT).to_string()
}

/// The Base64 (standard alphabet, padded) of a raw Viber contact ID, before percent-encoding.
pub fn viber_base64(id: &str) -> String {
    base64::engine::general_purpose::STANDARD.encode(id.as_bytes())
}

/// The `{contact_id}` path segment for `id`: Base64-wrapped first when `viber`, then
/// percent-encoded.
pub fn contact_segment(id: &str, viber: bool) -> String {
    if viber {
        strict(&viber_base64(id))
    } else {
        strict(id)
    }
}

/// The path and query of a look-up page (call 1), relative to the API root. `per_page` 0 leaves
/// the page size to the server.
pub fn lookup_path(field: &str, value: &str, page: u64, per_page: u64) -> String {
    let mut path = format!(
        "/v1/contact/by_custom_field?name={}&value={}&page={page}",
        strict(field),
        strict(value)
    );
    if per_page > 0 {
        path.push_str(&format!("&per_page={per_page}"));
    }
    path
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn strict_encoding_keeps_only_unreserved_characters() {
        assert_eq!(strict("aZ09-._~"), "aZ09-._~");
        assert_eq!(strict("+/= ?&#%"), "%2B%2F%3D%20%3F%26%23%25");
        assert_eq!(strict("ñ"), "%C3%B1");
    }

    #[test]
    fn viber_ids_are_base64_then_percent_encoded() {
        // the documents' sample Viber ID; its Base64 holds `+` and `=` which must be escaped
        let id = "tMNGhftyUPrB3r1lD+bT4g==";
        assert_eq!(viber_base64(id), "dE1OR2hmdHlVUHJCM3IxbEQrYlQ0Zz09");
        assert_eq!(contact_segment(id, false), "tMNGhftyUPrB3r1lD%2BbT4g%3D%3D");
        // IDs whose Base64 text holds `/`, `+` and `=`
        assert_eq!(viber_base64("\u{3ff}\u{3ff}>"), "z7/Pvz4=");
        assert_eq!(contact_segment("\u{3ff}\u{3ff}>", true), "z7%2FPvz4%3D");
        assert_eq!(contact_segment("~~~?", true), "fn5%2BPw%3D%3D");
    }

    #[test]
    fn lookup_path_encodes_values_and_omits_a_zero_page_size() {
        assert_eq!(
            lookup_path("phone", "+34 600", 2, 0),
            "/v1/contact/by_custom_field?name=phone&value=%2B34%20600&page=2"
        );
        assert_eq!(
            lookup_path("managed by", "a&b=c", 1, 100),
            "/v1/contact/by_custom_field?name=managed%20by&value=a%26b%3Dc&page=1&per_page=100"
        );
    }
}
