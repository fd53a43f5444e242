//! The web console at `/console`: static assets compiled into the binary, so the gateway serves
//! it on an offline network with no CDN and no files to deploy beside it.
//!
//! The console is a small single-page app (plain HTML, ES modules, one stylesheet) that calls
//! only the public API under `/elements/api-v2` with the signed-in user's secrets; it has no
//! server side of its own. Every path under `/console/` that is not an asset answers the page
//! itself, so the app's own routes (`/console/instances/7`, the OAuth redirect target
//! `/console/oauth/callback`) load directly and survive a reload.
//!
//! Every answer carries a Content-Security-Policy that allows only the console's own scripts
//! and styles (no inline script, no `eval`, no third-party host) and `Referrer-Policy:
//! no-referrer`: the OAuth callback URL carries the provider's code, which must not leak to any
//! other host in a `Referer`.

use axum::extract::Path;
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::Router;

/// Where the console lives (outside the API's `/elements/api-v2`).
pub const PREFIX: &str = "/console";

/// Scripts and styles only from the console's own origin; API calls only to that origin; no
/// framing (clickjacking), no `<base>` rewriting, forms post only back to it.
const CSP: &str = "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; \
     connect-src 'self'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'";

const INDEX: &str = include_str!("../console/index.html");

/// One embedded file: its name under `/console/assets/`, its type, its bytes.
struct Asset {
    name: &'static str,
    content_type: &'static str,
    body: &'static str,
}

/// Module scripts need a JavaScript type (browsers refuse others for `type="module"`).
const JS: &str = "text/javascript; charset=utf-8";

/// One embedded file of `services/gateway/console/`.
macro_rules! asset {
    ($name:literal, $content_type:expr) => {
        Asset {
            name: $name,
            content_type: $content_type,
            body: include_str!(concat!("../console/", $name)),
        }
    };
}

const ASSETS: &[Asset] = &[
    asset!("style.css", "text/css; charset=utf-8"),
    asset!("app.js", JS),
    asset!("api.js", JS),
    asset!("dom.js", JS),
    asset!("catalog.js", JS),
    asset!("create.js", JS),
    asset!("instances.js", JS),
    asset!("events.js", JS),
];

/// The console's routes; merged into the gateway's router beside the API.
pub fn router<S: Clone + Send + Sync + 'static>() -> Router<S> {
    Router::new()
        .route(PREFIX, get(page))
        .route("/console/", get(page))
        .route("/console/assets/{name}", get(asset))
        .route("/console/{*route}", get(page))
}

/// The security headers every console answer carries.
fn secured(content_type: &'static str, cache: &'static str) -> HeaderMap {
    let mut h = HeaderMap::new();
    h.insert(header::CONTENT_TYPE, HeaderValue::from_static(content_type));
    h.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(CSP),
    );
    h.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    h.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("no-referrer"),
    );
    h.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static(cache));
    h
}

/// The page. `no-store`: its URL may hold an OAuth code, and nothing about it needs caching.
async fn page() -> Response {
    let headers = secured("text/html; charset=utf-8", "no-store");
    (StatusCode::OK, headers, INDEX).into_response()
}

/// An asset, revalidated on every load (`no-cache` + `ETag`): the names carry no version, so a
/// new gateway's assets must replace the old ones at once, while an unchanged one costs a 304.
async fn asset(Path(name): Path<String>, req: HeaderMap) -> Response {
    let Some(a) = ASSETS.iter().find(|a| a.name == name) else {
        let headers = secured("text/plain; charset=utf-8", "no-store");
        return (StatusCode::NOT_FOUND, headers, "Not found\n").into_response();
    };
    let etag = etag(a.body);
    let mut headers = secured(a.content_type, "no-cache");
    if let Ok(v) = HeaderValue::from_str(&etag) {
        headers.insert(header::ETAG, v);
    }
    let fresh = req
        .get(header::IF_NONE_MATCH)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.split(',').any(|t| t.trim() == etag));
    if fresh {
        return (StatusCode::NOT_MODIFIED, headers).into_response();
    }
    (StatusCode::OK, headers, a.body).into_response()
}

/// A strong validator of the embedded bytes (FNV-1a: stable across builds and processes, so
/// every gateway replica of one build answers the same tag).
fn etag(body: &str) -> String {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for b in body.bytes() {
        h ^= u64::from(b);
        h = h.wrapping_mul(0x0100_0000_01b3);
    }
    format!("\"{h:016x}\"")
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The page names its scripts and stylesheet by path; each must be an embedded asset, or
    /// the console would load without them.
    #[test]
    fn every_file_the_page_and_modules_load_is_embedded() {
        let mut wanted: Vec<String> = Vec::new();
        for chunk in INDEX.split("/console/assets/").skip(1) {
            wanted.extend(chunk.split('"').next().map(str::to_string));
        }
        for a in ASSETS.iter().filter(|a| a.name.ends_with(".js")) {
            for chunk in a.body.split("from './").skip(1) {
                wanted.extend(chunk.split('\'').next().map(str::to_string));
            }
        }
        assert!(wanted.len() >= 3, "found the references: {wanted:?}");
        for name in wanted {
            assert!(
                ASSETS.iter().any(|a| a.name == name),
                "{name} is loaded but not embedded"
            );
        }
    }

    /// The policy forbids inline script and style, so the page must hold none.
    #[test]
    fn the_page_has_no_inline_script_or_style() {
        let lower = INDEX.to_ascii_lowercase();
        assert!(!lower.contains("<style"), "inline <style>");
        assert!(!lower.contains(" style="), "style attribute");
        for (i, _) in lower.match_indices(" on") {
            let name: String = lower[i + 3..]
                .chars()
                .take_while(char::is_ascii_alphabetic)
                .collect();
            let after = lower[i + 3 + name.len()..].trim_start();
            assert!(
                name.is_empty() || !after.starts_with('='),
                "inline handler on{name}"
            );
        }
        for tag in lower.split("<script").skip(1) {
            let (attrs, rest) = tag.split_once('>').unwrap_or((tag, ""));
            assert!(attrs.contains("src="), "inline script");
            assert!(rest.starts_with("</script>"), "script with a body");
        }
    }

    /// The modules build the DOM with text only: no HTML parsing of data anywhere.
    #[test]
    fn no_module_parses_markup() {
        for a in ASSETS.iter().filter(|a| a.name.ends_with(".js")) {
            for banned in [
                "innerHTML",
                "outerHTML",
                "insertAdjacentHTML",
                "document.write",
                "eval(",
                "new Function",
            ] {
                assert!(!a.body.contains(banned), "{} uses {banned}", a.name);
            }
        }
    }

    #[test]
    fn etags_differ_by_content_and_are_quoted() {
        assert_ne!(etag("a"), etag("b"));
        assert!(etag("a").starts_with('"') && etag("a").ends_with('"'));
    }

    async fn get(path: &str, if_none_match: Option<&str>) -> Response {
        use tower::ServiceExt;
        let mut req = axum::http::Request::get(path);
        if let Some(tag) = if_none_match {
            req = req.header(header::IF_NONE_MATCH, tag);
        }
        let req = req.body(axum::body::Body::empty()).expect("request");
        router::<()>().oneshot(req).await.expect("answer")
    }

    fn header_of(r: &Response, name: header::HeaderName) -> &str {
        r.headers()
            .get(name)
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default()
    }

    /// The app's own routes (the OAuth redirect target among them) load the page, with the
    /// policy and no caching of a URL that may hold a code.
    #[tokio::test]
    async fn every_console_route_answers_the_page_with_the_policy() {
        for path in [
            "/console",
            "/console/",
            "/console/instances/7",
            "/console/oauth/callback?code=abc&state=x",
        ] {
            let r = get(path, None).await;
            assert_eq!(r.status(), StatusCode::OK, "{path}");
            assert_eq!(
                header_of(&r, header::CONTENT_TYPE),
                "text/html; charset=utf-8"
            );
            assert_eq!(header_of(&r, header::CONTENT_SECURITY_POLICY), CSP);
            assert_eq!(header_of(&r, header::REFERRER_POLICY), "no-referrer");
            assert_eq!(header_of(&r, header::X_CONTENT_TYPE_OPTIONS), "nosniff");
            assert_eq!(header_of(&r, header::CACHE_CONTROL), "no-store");
        }
    }

    #[tokio::test]
    async fn assets_have_their_types_and_revalidate() {
        let r = get("/console/assets/app.js", None).await;
        assert_eq!(r.status(), StatusCode::OK);
        assert_eq!(header_of(&r, header::CONTENT_TYPE), JS);
        assert_eq!(header_of(&r, header::CONTENT_SECURITY_POLICY), CSP);
        let tag = header_of(&r, header::ETAG).to_string();
        let css = get("/console/assets/style.css", None).await;
        assert_eq!(
            header_of(&css, header::CONTENT_TYPE),
            "text/css; charset=utf-8"
        );
        let again = get("/console/assets/app.js", Some(&tag)).await;
        assert_eq!(again.status(), StatusCode::NOT_MODIFIED);
        let missing = get("/console/assets/nope.js", None).await;
        assert_eq!(missing.status(), StatusCode::NOT_FOUND);
    }
}
