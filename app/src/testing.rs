//! Helpers shared by the server side's unit tests.

use axum::http::{HeaderMap, HeaderName, HeaderValue};

/// Request headers from name and value pairs.
pub fn headers(pairs: &[(&str, &str)]) -> HeaderMap {
    pairs
        .iter()
        .map(|(name, value)| {
            (
                HeaderName::from_bytes(name.as_bytes()).unwrap(),
                HeaderValue::from_str(value).unwrap(),
            )
        })
        .collect()
}
