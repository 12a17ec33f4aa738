//! The dashboard web page at `/` and its assets at `/assets/...`, served from the files the
//! binary embeds: the npm build's app when it ran before `cargo build`, else the built-in page
//! saying how to build it. The tests walk the embedded table, so they hold in both cases.

mod common;

use actix_web::http::StatusCode;
use actix_web::test::TestRequest;
use common::*;
use perfwatch_collector::dashboard_assets::{self, ASSETS, FROM_NPM_BUILD};
use serde_json::json;

#[actix_web::test]
async fn the_page_is_html_with_a_strict_content_security_policy() {
    let (_dir, app) = service!();
    let reply = get(&app, "/").await;
    assert_eq!(reply.status, StatusCode::OK);
    assert_eq!(reply.header("content-type"), "text/html; charset=utf-8");
    assert_eq!(reply.header("cache-control"), "no-cache");
    assert_eq!(reply.header("x-content-type-options"), "nosniff");
    // Scripts and requests from the collector only, no framing, no inline script (uPlot and
    // the injected stylesheet need inline styles).
    assert_eq!(
        reply.header("content-security-policy"),
        "default-src 'self'; img-src 'self' data:; style-src 'self' 'unsafe-inline'; \
         connect-src 'self'; script-src 'self'; frame-ancestors 'none'; base-uri 'none'; \
         form-action 'self'"
    );
    let index = dashboard_assets::index().expect("the table holds index.html");
    assert_eq!(reply.text.as_bytes(), index.bytes);

    if !FROM_NPM_BUILD {
        // Built without the app: a page saying how to build it, linking the JSON API.
        assert!(reply.text.contains("<title>perfwatch collector</title>"));
        assert!(reply.text.contains("scripts/build.sh"), "{}", reply.text);
        assert!(reply.text.contains("npm run build"), "{}", reply.text);
        for link in [
            "/api/v1/monitoring/health",
            "/api/v1/monitoring/frontend/vitals?hours=1",
            "/api/v1/monitoring/system/info",
            "/api/v1/monitoring/timeseries?hours=1",
        ] {
            assert!(
                reply.text.contains(&format!("href=\"{link}\"")),
                "{link} in {}",
                reply.text
            );
        }
        assert!(
            !reply.text.contains("<script"),
            "the CSP allows no inline script"
        );
    }

    let head = send(
        &app,
        TestRequest::default()
            .method(actix_web::http::Method::HEAD)
            .uri("/")
            .to_request(),
    )
    .await;
    assert_eq!(head.status, StatusCode::OK);
    assert_eq!(head.header("content-type"), "text/html; charset=utf-8");

    let post = send(&app, TestRequest::post().uri("/").to_request()).await;
    assert_eq!(post.status, StatusCode::METHOD_NOT_ALLOWED);
    assert_eq!(post.header("allow"), "GET, HEAD");
}

#[actix_web::test]
async fn every_embedded_asset_is_served_with_its_type_and_cached_for_good() {
    let (_dir, app) = service!();
    let assets: Vec<_> = ASSETS
        .iter()
        .filter(|a| a.path.starts_with("assets/"))
        .collect();
    // The npm build's page has its script there; the built-in page has none.
    assert_eq!(assets.is_empty(), !FROM_NPM_BUILD, "{:?}", ASSETS.len());
    for asset in assets {
        let reply = get(&app, &format!("/{}", asset.path)).await;
        assert_eq!(reply.status, StatusCode::OK, "{}", asset.path);
        assert_eq!(reply.header("content-type"), asset.content_type);
        if asset.path.ends_with(".js") {
            assert_eq!(asset.content_type, "text/javascript; charset=utf-8");
        }
        if asset.path.ends_with(".css") {
            assert_eq!(asset.content_type, "text/css; charset=utf-8");
        }
        assert_eq!(
            reply.header("cache-control"),
            "public, max-age=31536000, immutable"
        );
        assert_eq!(reply.header("x-content-type-options"), "nosniff");
        let body = actix_web::test::call_and_read_body(
            &app,
            TestRequest::get()
                .uri(&format!("/{}", asset.path))
                .to_request(),
        )
        .await;
        assert_eq!(&body[..], asset.bytes, "{}", asset.path);
    }
    // A name the binary does not hold: 404 in the envelope, like any other path.
    for missing in ["/assets/nope.js", "/assets/", "/assets/../index.html"] {
        let reply = get(&app, missing).await;
        assert_eq!(reply.status, StatusCode::NOT_FOUND, "{missing}");
        assert_eq!(reply.header("content-type"), "application/json");
        assert_eq!(reply.json["error"]["code"], json!("not_found"));
    }
}
