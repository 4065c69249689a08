//! The web UI's files, embedded in the binary (so a fresh machine needs no JavaScript build):
//! `GET /` is the single page, `GET /ui/{file}` its scripts, styles and catalogues. Every
//! response of the node carries the security headers; the UI's pages also a content security
//! policy that allows no inline script, no other origin and no framing.

use axum::extract::{Path, Request};
use axum::http::{HeaderValue, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

use super::auth::{ApiError, ErrorBody};

pub const INDEX: &str = "/";
pub const ASSET: &str = "/ui/{file}";
/// Third-party files shipped as published (Cytoscape.js and its licence), kept apart from ours.
pub const VENDOR: &str = "/ui/vendor/{file}";

/// The policy of the UI's pages: scripts, styles, images and calls from this origin only.
pub const CSP: &str = "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; \
     connect-src 'self'; font-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'";

/// The UI's files: name, content type, bytes.
const FILES: &[(&str, &str, &[u8])] = &[
    (
        "index.html",
        "text/html; charset=utf-8",
        include_bytes!("../../ui/index.html"),
    ),
    (
        "app.js",
        "text/javascript; charset=utf-8",
        include_bytes!("../../ui/app.js"),
    ),
    (
        "pages.js",
        "text/javascript; charset=utf-8",
        include_bytes!("../../ui/pages.js"),
    ),
    (
        "review.js",
        "text/javascript; charset=utf-8",
        include_bytes!("../../ui/review.js"),
    ),
    (
        "audit.js",
        "text/javascript; charset=utf-8",
        include_bytes!("../../ui/audit.js"),
    ),
    (
        "outbox.js",
        "text/javascript; charset=utf-8",
        include_bytes!("../../ui/outbox.js"),
    ),
    (
        "widgets.js",
        "text/javascript; charset=utf-8",
        include_bytes!("../../ui/widgets.js"),
    ),
    (
        "dom.js",
        "text/javascript; charset=utf-8",
        include_bytes!("../../ui/dom.js"),
    ),
    (
        "i18n.js",
        "text/javascript; charset=utf-8",
        include_bytes!("../../ui/i18n.js"),
    ),
    (
        "en.json",
        "application/json",
        include_bytes!("../../ui/en.json"),
    ),
    (
        "es.json",
        "application/json",
        include_bytes!("../../ui/es.json"),
    ),
    (
        "style.css",
        "text/css; charset=utf-8",
        include_bytes!("../../ui/style.css"),
    ),
    (
        "favicon.svg",
        "image/svg+xml",
        include_bytes!("../../ui/favicon.svg"),
    ),
    (
        "explorer.js",
        "text/javascript; charset=utf-8",
        include_bytes!("../../ui/explorer.js"),
    ),
    (
        "vendor/cytoscape.min.js",
        "text/javascript; charset=utf-8",
        include_bytes!("../../ui/vendor/cytoscape.min.js"),
    ),
    (
        "vendor/cytoscape.LICENSE",
        "text/plain; charset=utf-8",
        include_bytes!("../../ui/vendor/cytoscape.LICENSE"),
    ),
];

fn file(name: &str) -> Option<(&'static str, &'static [u8])> {
    FILES
        .iter()
        .find(|(n, _, _)| *n == name)
        .map(|(_, ct, bytes)| (*ct, *bytes))
}

fn serve(name: &str) -> Response {
    match file(name) {
        Some((content_type, bytes)) => (
            [
                (header::CONTENT_TYPE, HeaderValue::from_static(content_type)),
                (header::CACHE_CONTROL, HeaderValue::from_static("no-cache")),
            ],
            bytes,
        )
            .into_response(),
        None => ApiError::new(StatusCode::NOT_FOUND, "no such file").into_response(),
    }
}

/// The web UI's page.
#[utoipa::path(get, path = "/", tag = "ui",
    responses((status = 200, description = "The web UI (HTML)", content_type = "text/html")))]
pub(super) async fn index() -> Response {
    serve("index.html")
}

/// A file of the web UI (script, style sheet, icon).
#[utoipa::path(get, path = "/ui/{file}", tag = "ui",
    params(("file" = String, Path, description = "The file's name")),
    responses(
        (status = 200, description = "The file"),
        (status = 404, description = "No such file", body = ErrorBody)))]
pub(super) async fn asset(Path(name): Path<String>) -> Response {
    if name == "index.html" {
        return ApiError::new(StatusCode::NOT_FOUND, "no such file").into_response();
    }
    serve(&name)
}

/// A third-party file of the web UI (Cytoscape.js, loaded by the network explorer, and its
/// licence).
#[utoipa::path(get, path = "/ui/vendor/{file}", tag = "ui",
    params(("file" = String, Path, description = "The file's name")),
    responses(
        (status = 200, description = "The file"),
        (status = 404, description = "No such file", body = ErrorBody)))]
pub(super) async fn vendor(Path(name): Path<String>) -> Response {
    serve(&format!("vendor/{name}"))
}

/// Adds the security headers to every response: no content sniffing, no referrer, no framing;
/// the content security policy on HTML.
pub(super) async fn security_headers(request: Request, next: Next) -> Response {
    let mut response = next.run(request).await;
    let headers = response.headers_mut();
    headers.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    headers.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("no-referrer"),
    );
    headers.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    headers.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(CSP),
    );
    headers.insert(
        header::HeaderName::from_static("cross-origin-opener-policy"),
        HeaderValue::from_static("same-origin"),
    );
    response
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_file_the_page_names_is_embedded() {
        let (_, index) = file("index.html").unwrap();
        let index = std::str::from_utf8(index).unwrap();
        for (name, _, bytes) in FILES {
            assert!(!bytes.is_empty(), "{name} is empty");
        }
        // The page loads its script and style from /ui/, and has no inline script.
        assert!(index.contains("src=\"/ui/app.js\""));
        assert!(index.contains("href=\"/ui/style.css\""));
        assert!(!index.contains("<script>"), "no inline script");
        // Every module the scripts import is served.
        for (name, _, bytes) in FILES.iter().filter(|(n, _, _)| ours(n)) {
            let text = std::str::from_utf8(bytes).unwrap();
            for part in text.split("from \"./").skip(1) {
                let imported = part.split('"').next().unwrap();
                assert!(file(imported).is_some(), "{name} imports {imported}");
            }
        }
    }

    /// Our scripts, not the vendored library's minified code.
    fn ours(name: &str) -> bool {
        name.ends_with(".js") && !name.starts_with("vendor/")
    }

    /// Both catalogues hold the same keys, none empty, and every key the scripts ask for.
    #[test]
    fn the_catalogues_agree_and_cover_the_scripts() {
        let catalogue = |name: &str| -> serde_json::Map<String, serde_json::Value> {
            serde_json::from_slice(file(name).unwrap().1).unwrap()
        };
        let (en, es) = (catalogue("en.json"), catalogue("es.json"));
        let keys = |m: &serde_json::Map<String, serde_json::Value>| {
            m.keys().cloned().collect::<std::collections::BTreeSet<_>>()
        };
        assert_eq!(keys(&en), keys(&es));
        for (k, v) in en.iter().chain(es.iter()) {
            assert!(v.as_str().is_some_and(|s| !s.trim().is_empty()), "{k}");
        }
        let mut asked = 0;
        for (name, _, bytes) in FILES.iter().filter(|(n, _, _)| ours(n)) {
            let text = std::str::from_utf8(bytes).unwrap();
            // `t("key")` where `t` is the whole name (not `select("…")`).
            let bytes = text.as_bytes();
            for (at, _) in text.match_indices("t(\"") {
                let before = at.checked_sub(1).map(|i| bytes[i] as char);
                if before.is_some_and(|c| c.is_alphanumeric() || "_.$".contains(c)) {
                    continue;
                }
                let key = text[at + 3..].split('"').next().unwrap();
                assert!(
                    en.contains_key(key),
                    "{name} asks for {key}, not in en.json"
                );
                asked += 1;
            }
        }
        assert!(asked > 100, "only {asked} messages found in the scripts");
    }

    /// The vocabularies the pages translate from the server's words: every audit action, every
    /// level of an encoded comparison, every field of the model.
    #[test]
    fn the_catalogues_name_every_action_level_and_field() {
        for lang in ["en.json", "es.json"] {
            let catalogue: serde_json::Map<String, serde_json::Value> =
                serde_json::from_slice(file(lang).unwrap().1).unwrap();
            for a in enlace_audit::Action::ALL {
                let key = format!("action.{}", a.as_str());
                assert!(catalogue.contains_key(&key), "{lang}: {key}");
            }
            for f in enlace_link::Field::ALL {
                let key = format!("mfield.{}", f.name());
                assert!(catalogue.contains_key(&key), "{lang}: {key}");
                for level in enlace_link::encoded::levels(f) {
                    let key = format!("lvl.{level}");
                    assert!(catalogue.contains_key(&key), "{lang}: {key}");
                }
            }
        }
    }

    /// Every error code the server gives (`ApiError::with_code`) has its message in both
    /// languages.
    #[test]
    fn the_catalogues_say_every_error_code() {
        let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("src/server");
        let mut codes = std::collections::BTreeSet::new();
        for entry in std::fs::read_dir(dir).unwrap() {
            let text = std::fs::read_to_string(entry.unwrap().path()).unwrap();
            for part in text.split("with_code(\"").skip(1) {
                codes.insert(part.split('"').next().unwrap().to_string());
            }
        }
        assert!(codes.len() >= 5, "{codes:?}");
        for lang in ["en.json", "es.json"] {
            let catalogue: serde_json::Map<String, serde_json::Value> =
                serde_json::from_slice(file(lang).unwrap().1).unwrap();
            for code in &codes {
                assert!(
                    catalogue.contains_key(&format!("server.{code}")),
                    "{lang}: {code}"
                );
            }
        }
    }

    #[test]
    fn the_policy_forbids_inline_script_and_framing() {
        assert!(CSP.contains("script-src 'self'"));
        assert!(!CSP.contains("unsafe-inline"));
        assert!(CSP.contains("frame-ancestors 'none'"));
    }
}
