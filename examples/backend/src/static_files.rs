//! The built single-page app: its files with their content types (`application/wasm` for the
//! SDK's module, which `WebAssembly.instantiateStreaming` insists on), and `index.html` for any
//! other path, so that a reload on a client-side route (`/chat/42`) still opens the app.

use std::path::{Path, PathBuf};

use actix_files::{Files, NamedFile};
use actix_web::dev::{fn_service, ServiceRequest, ServiceResponse};
use actix_web::http::header::{CacheControl, CacheDirective};
use actix_web::{web, HttpResponse};

/// The app's directory, looked at once at start.
#[derive(Debug, Clone)]
pub struct StaticApp {
    dir: PathBuf,
    built: bool,
}

impl StaticApp {
    /// The app in `dir`; warns when it is not built (no `index.html`).
    pub fn new(dir: &Path) -> StaticApp {
        let built = dir.join("index.html").is_file();
        if !built {
            tracing::warn!(
                dir = %dir.display(),
                "no index.html there: the app is not built (npm run build in examples/react-app), \
                 only /api is served"
            );
        }
        StaticApp {
            dir: dir.to_path_buf(),
            built,
        }
    }

    /// Adds the app under `/` (after `/api`, so that API paths never fall back to the app).
    pub fn configure(&self, cfg: &mut web::ServiceConfig) {
        let dir = self.dir.clone();
        if !self.built {
            cfg.default_service(web::to(move || {
                let dir = dir.clone();
                async move { not_built(&dir) }
            }));
            return;
        }
        let index = dir.join("index.html");
        cfg.service(
            Files::new("/", &dir)
                .index_file("index.html")
                .default_handler(fn_service(move |req: ServiceRequest| {
                    let index = index.clone();
                    async move { serve_index(req, index).await }
                })),
        );
    }
}

/// `index.html` in answer to `req`; never cached, so that a new build is picked up at once
/// (its assets have hashed names and can be cached).
async fn serve_index(
    req: ServiceRequest,
    index: PathBuf,
) -> Result<ServiceResponse, actix_web::Error> {
    let (req, _) = req.into_parts();
    // Opening is a blocking call: on the blocking pool, not the worker.
    let file = web::block(move || NamedFile::open(index)).await??;
    let mut res = file.into_response(&req);
    res.headers_mut().insert(
        actix_web::http::header::CACHE_CONTROL,
        CacheControl(vec![CacheDirective::NoCache])
            .to_string()
            .parse()
            .map_err(actix_web::error::ErrorInternalServerError)?,
    );
    Ok(ServiceResponse::new(req, res))
}

/// What any non-API path answers while the app is not built.
fn not_built(dir: &Path) -> HttpResponse {
    HttpResponse::NotFound()
        .content_type("text/plain; charset=utf-8")
        .body(format!(
            "The example app is not built: there is no index.html in {}.\n\
             Build it (cd examples/react-app && npm run build) or pass --static-dir.\n\
             The API is up: GET /api/models, POST /api/chat.\n",
            dir.display()
        ))
}
