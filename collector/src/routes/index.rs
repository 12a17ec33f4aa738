//! `GET /`: a placeholder page until the dashboard arrives.

use actix_web::http::header::ContentType;
use actix_web::HttpResponse;

const INDEX_HTML: &str = r#"<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>perfwatch collector</title>
<style>body { font: 16px/1.5 system-ui, sans-serif; max-width: 40rem; margin: 3rem auto; padding: 0 1rem; }</style>
</head>
<body>
<h1>perfwatch collector</h1>
<p>The collector is running. The dashboard arrives in a later version; until then, its API answers:</p>
<ul>
<li><a href="/api/v1/monitoring/health">/api/v1/monitoring/health</a>: liveness, store, limits</li>
<li><a href="/api/v1/monitoring/frontend/vitals?hours=1">/api/v1/monitoring/frontend/vitals?hours=1</a>: web vitals of the last hour</li>
<li><a href="/api/v1/monitoring/system/info">/api/v1/monitoring/system/info</a>: this host</li>
</ul>
</body>
</html>
"#;

/// The placeholder page.
pub async fn index() -> HttpResponse {
    HttpResponse::Ok()
        .insert_header(ContentType::html())
        .body(INDEX_HTML)
}
