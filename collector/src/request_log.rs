//! One log line per request: method, path, status and duration. Never the query string: the
//! write key travels in `?key=` (actix's `Logger` prints the query by default, so it is not used).

use std::future::{ready, Ready};
use std::time::Instant;

use actix_web::dev::{forward_ready, Service, ServiceRequest, ServiceResponse, Transform};
use actix_web::Error;
use futures_util::future::LocalBoxFuture;

/// Middleware that logs every request through `tracing` (target `perfwatch_collector::request`).
#[derive(Debug, Clone, Copy, Default)]
pub struct RequestLog;

impl<S, B> Transform<S, ServiceRequest> for RequestLog
where
    S: Service<ServiceRequest, Response = ServiceResponse<B>, Error = Error> + 'static,
    B: 'static,
{
    type Response = ServiceResponse<B>;
    type Error = Error;
    type Transform = RequestLogMiddleware<S>;
    type InitError = ();
    type Future = Ready<Result<Self::Transform, Self::InitError>>;

    fn new_transform(&self, service: S) -> Self::Future {
        ready(Ok(RequestLogMiddleware { service }))
    }
}

/// The service [`RequestLog`] wraps around the app.
#[derive(Debug)]
pub struct RequestLogMiddleware<S> {
    service: S,
}

impl<S, B> Service<ServiceRequest> for RequestLogMiddleware<S>
where
    S: Service<ServiceRequest, Response = ServiceResponse<B>, Error = Error> + 'static,
    B: 'static,
{
    type Response = ServiceResponse<B>;
    type Error = Error;
    type Future = LocalBoxFuture<'static, Result<Self::Response, Self::Error>>;

    forward_ready!(service);

    fn call(&self, req: ServiceRequest) -> Self::Future {
        let started = Instant::now();
        let method = req.method().clone();
        let path = req.path().to_owned();
        let response = self.service.call(req);
        Box::pin(async move {
            let response = response.await;
            let elapsed_ms = started.elapsed().as_secs_f64() * 1000.0;
            let (status, error) = match &response {
                Ok(res) => (
                    res.status(),
                    res.response().error().map(ToString::to_string),
                ),
                Err(err) => (err.as_response_error().status_code(), Some(err.to_string())),
            };
            let status = status.as_u16();
            if status >= 500 {
                tracing::warn!(target: "perfwatch_collector::request", %method, path, status, elapsed_ms, error = error.as_deref(), "request failed");
            } else {
                tracing::info!(target: "perfwatch_collector::request", %method, path, status, elapsed_ms, error = error.as_deref(), "request");
            }
            response
        })
    }
}
