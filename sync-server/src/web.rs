//! The web client's files: `GET /` (when it is not a WebSocket upgrade) and every path no
//! other route takes.
//!
//! By default they come from `web/dist` as it was when the server was built (embedded by
//! `build.rs`); `--web-dir DIR` serves a directory instead, read on each request, so a rebuilt
//! client needs no server rebuild. Paths that name no file and have no extension get
//! `index.html` (the client's own routes); when no client was built, a page says how to build
//! one. Files under `assets/` carry a content hash in their name and are cached for good;
//! the rest (`index.html`, the service worker) are revalidated on every load.

use std::borrow::Cow;
use std::path::{Component, Path, PathBuf};

use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};

mod embedded {
    include!(concat!(env!("OUT_DIR"), "/web_assets.rs"));
}

/// The web client's files and what it needs to know of this server.
#[derive(Debug, Clone)]
pub struct Site {
    files: Files,
    /// Whether peers need a token (the client then asks for one before it syncs).
    auth: bool,
}

/// Where the web client's files come from.
#[derive(Debug, Clone)]
enum Files {
    /// Built into the binary.
    Embedded,
    /// Read from this directory on each request.
    Dir(PathBuf),
}

impl Site {
    pub fn new(dir: Option<PathBuf>, auth: bool) -> Self {
        let files = dir.map_or(Files::Embedded, Files::Dir);
        Self { files, auth }
    }

    /// The response for a request path (`/`, `/assets/index-3f2a.js`, `/clients/…`).
    pub async fn respond(&self, path: &str) -> Response {
        let path = path.trim_start_matches('/');
        if path == "web-config.json" {
            let config = format!("{{\"auth\":{}}}", self.auth);
            return served(path, Cow::Owned(config.into_bytes()));
        }
        let path = if path.is_empty() { "index.html" } else { path };
        if let Some(body) = self.file(path).await {
            return served(path, body);
        }
        let last = path.rsplit('/').next().unwrap_or_default();
        if !last.contains('.') {
            if let Some(body) = self.file("index.html").await {
                return served("index.html", body);
            }
            return (StatusCode::OK, placeholder()).into_response();
        }
        (StatusCode::NOT_FOUND, "not found\n").into_response()
    }

    async fn file(&self, path: &str) -> Option<Cow<'static, [u8]>> {
        match &self.files {
            Files::Embedded => embedded::ASSETS
                .iter()
                .find(|(name, _)| *name == path)
                .map(|(_, bytes)| Cow::Borrowed(*bytes)),
            Files::Dir(dir) => {
                let relative = Path::new(path);
                // Only plain names: no `..`, no root, no drive.
                if !relative
                    .components()
                    .all(|c| matches!(c, Component::Normal(_)))
                {
                    return None;
                }
                tokio::fs::read(dir.join(relative))
                    .await
                    .ok()
                    .map(Cow::Owned)
            }
        }
    }
}

fn served(path: &str, body: Cow<'static, [u8]>) -> Response {
    let cache = if path.starts_with("assets/") {
        "public, max-age=31536000, immutable"
    } else {
        "no-cache"
    };
    let mut response = body.into_owned().into_response();
    let headers = response.headers_mut();
    headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static(media_type(path)),
    );
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static(cache));
    headers.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    response
}

fn media_type(path: &str) -> &'static str {
    match path.rsplit('.').next().unwrap_or_default() {
        "html" => "text/html; charset=utf-8",
        "js" | "mjs" => "text/javascript; charset=utf-8",
        "css" => "text/css; charset=utf-8",
        "wasm" => "application/wasm",
        "json" | "map" => "application/json",
        "webmanifest" => "application/manifest+json",
        "svg" => "image/svg+xml",
        "png" => "image/png",
        "ico" => "image/x-icon",
        "txt" => "text/plain; charset=utf-8",
        _ => "application/octet-stream",
    }
}

fn placeholder() -> axum::response::Html<&'static str> {
    axum::response::Html(
        "<!doctype html><meta charset=utf-8><title>Fiche</title>\
         <h1>Fiche: the web client is not built</h1>\
         <p>This server is running and syncing, but it was built without the web client \
         (<code>web/dist</code> was missing and <code>npm</code> was not available).</p>\
         <p>Build it with <code>cd web &amp;&amp; npm ci &amp;&amp; npm run build</code>, then \
         rebuild the server (<code>cargo build -p fiche-sync-server</code>) or start it with \
         <code>--web-dir web/dist</code>.</p>",
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    async fn check(site: &Site, path: &str, status: StatusCode, body_has: &str) {
        let response = site.respond(path).await;
        assert_eq!(response.status(), status, "{path}");
        let body = axum::body::to_bytes(response.into_body(), 1 << 20)
            .await
            .unwrap_or_default();
        let body = String::from_utf8_lossy(&body);
        assert!(body.contains(body_has), "{path}: {body}");
    }

    #[tokio::test]
    async fn a_directory_is_served_safely() {
        let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
        let site = Site::new(Some(dir.path().to_path_buf()), false);
        check(
            &site,
            "/web-config.json",
            StatusCode::OK,
            "{\"auth\":false}",
        )
        .await;
        check(&site, "/clients/x", StatusCode::OK, "not built").await;
        std::fs::write(dir.path().join("index.html"), "<p>app</p>").unwrap_or_default();
        std::fs::create_dir(dir.path().join("assets")).unwrap_or_default();
        std::fs::write(dir.path().join("assets/a.js"), "js").unwrap_or_default();
        check(&site, "/", StatusCode::OK, "app").await;
        check(&site, "/clients/x", StatusCode::OK, "app").await;
        check(&site, "/assets/a.js", StatusCode::OK, "js").await;
        check(&site, "/assets/b.js", StatusCode::NOT_FOUND, "").await;
        check(&site, "/../Cargo.toml", StatusCode::NOT_FOUND, "").await;
        check(&site, "/assets/../../x.js", StatusCode::NOT_FOUND, "").await;
        let js = site.respond("/assets/a.js").await;
        assert_eq!(
            js.headers()[header::CONTENT_TYPE],
            "text/javascript; charset=utf-8"
        );
        assert!(js.headers()[header::CACHE_CONTROL]
            .to_str()
            .is_ok_and(|c| c.contains("immutable")));
    }
}
