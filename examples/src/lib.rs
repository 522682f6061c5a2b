//! What the migration programs (`migrate_*`, see `docs/MIGRATING.md`) share: the simulated
//! application, so that each program shows only its metrics code.

/// The requests every migration program serves, as (method, path).
pub const REQUESTS: [(&str, &str); 6] =
    [("GET", "/"), ("GET", "/cart"), ("POST", "/checkout"), ("GET", "/missing"), ("PATCH", "/cart"), ("GET", "/")];

/// The application: the HTTP status code of a request.
pub fn route(method: &str, path: &str) -> u16 {
    match (method, path) {
        ("GET", "/" | "/cart") => 200,
        ("POST", "/checkout") => 201,
        ("GET" | "POST", _) => 404,
        _ => 405,
    }
}

/// The status class used as a label value: `2xx`, `4xx` or `5xx`.
pub fn status_class(code: u16) -> &'static str {
    match code {
        200..=399 => "2xx",
        400..=499 => "4xx",
        _ => "5xx",
    }
}
