//! An actix-web middleware that records every request a service answers as an API call
//! ([`ApiCallRecord`]): the route pattern that matched (`/users/{id}`, never the raw path, so
//! the number of endpoints stays bounded and no query string or id leaks), the method, the
//! status and the duration. Any actix-web service can wrap its `App` in it with a sink of its
//! own ([`ApiCallSink`]); the collector records its own API calls through
//! [`BufferedCalls`], flushed to its ingest queue every second.
//!
//! ```ignore
//! App::new().wrap(RecordApiCalls::new("my-service", Arc::new(my_sink)))
//! ```

use std::future::{ready, Ready};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Instant, SystemTime, UNIX_EPOCH};

use actix_web::dev::{forward_ready, Service, ServiceRequest, ServiceResponse, Transform};
use actix_web::Error;
use futures_util::future::LocalBoxFuture;

use crate::normalize::ApiCallRecord;

/// The endpoint of a request no route matched (404s): one name for all of them.
pub const UNMATCHED: &str = "(unmatched)";

/// Where [`RecordApiCalls`] puts each record. Called on the request's worker: it must not
/// block.
pub trait ApiCallSink: Send + Sync + 'static {
    fn record(&self, call: ApiCallRecord);
}

/// The middleware: wraps an `App`, records each answered request into its sink.
#[derive(Clone)]
pub struct RecordApiCalls {
    service: Arc<str>,
    sink: Arc<dyn ApiCallSink>,
}

impl RecordApiCalls {
    /// Records the requests of the service named `service` into `sink`.
    pub fn new(service: &str, sink: Arc<dyn ApiCallSink>) -> Self {
        Self {
            service: service.into(),
            sink,
        }
    }
}

impl<S, B> Transform<S, ServiceRequest> for RecordApiCalls
where
    S: Service<ServiceRequest, Response = ServiceResponse<B>, Error = Error> + 'static,
    B: 'static,
{
    type Response = ServiceResponse<B>;
    type Error = Error;
    type Transform = RecordApiCallsMiddleware<S>;
    type InitError = ();
    type Future = Ready<Result<Self::Transform, Self::InitError>>;

    fn new_transform(&self, service: S) -> Self::Future {
        ready(Ok(RecordApiCallsMiddleware {
            inner: service,
            recorder: self.clone(),
        }))
    }
}

/// The service [`RecordApiCalls`] wraps around the app.
pub struct RecordApiCallsMiddleware<S> {
    inner: S,
    recorder: RecordApiCalls,
}

impl<S, B> Service<ServiceRequest> for RecordApiCallsMiddleware<S>
where
    S: Service<ServiceRequest, Response = ServiceResponse<B>, Error = Error> + 'static,
    B: 'static,
{
    type Response = ServiceResponse<B>;
    type Error = Error;
    type Future = LocalBoxFuture<'static, Result<Self::Response, Self::Error>>;

    forward_ready!(inner);

    fn call(&self, req: ServiceRequest) -> Self::Future {
        let started = Instant::now();
        let method = req.method().as_str().to_owned();
        let endpoint = req.match_pattern().unwrap_or_else(|| UNMATCHED.to_owned());
        let recorder = self.recorder.clone();
        let response = self.inner.call(req);
        Box::pin(async move {
            let response = response.await;
            let status = match &response {
                Ok(res) => res.status(),
                Err(err) => err.as_response_error().status_code(),
            };
            let now_ms = SystemTime::now()
                .duration_since(UNIX_EPOCH)
                .map_or(0, |d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX));
            recorder.sink.record(ApiCallRecord {
                service: recorder.service.to_string(),
                event_id: None,
                endpoint,
                method,
                status: status.as_u16(),
                duration_ms: started.elapsed().as_secs_f64() * 1000.0,
                user_id: None,
                trace_id: None,
                at_ms: now_ms,
                received_at_ms: now_ms,
            });
            response
        })
    }
}

/// A bounded buffer of records: what [`BufferedCalls::take`] has not taken yet, at most
/// `capacity`; records beyond it are dropped and counted ([`BufferedCalls::dropped`]).
#[derive(Debug)]
pub struct BufferedCalls {
    calls: Mutex<Vec<ApiCallRecord>>,
    capacity: usize,
    dropped: AtomicU64,
}

impl BufferedCalls {
    /// A buffer of at most `capacity` records.
    pub fn new(capacity: usize) -> Self {
        Self {
            calls: Mutex::new(Vec::new()),
            capacity,
            dropped: AtomicU64::new(0),
        }
    }

    /// Everything buffered, emptying the buffer.
    pub fn take(&self) -> Vec<ApiCallRecord> {
        self.calls
            .lock()
            .map(|mut calls| std::mem::take(&mut *calls))
            .unwrap_or_default()
    }

    /// Counts `n` records lost after they were taken (the store refused them).
    pub fn count_dropped(&self, n: usize) {
        self.dropped.fetch_add(n as u64, Ordering::Relaxed);
    }

    /// Records dropped because the buffer was full or the store refused them, since start.
    pub fn dropped(&self) -> u64 {
        self.dropped.load(Ordering::Relaxed)
    }
}

impl ApiCallSink for BufferedCalls {
    fn record(&self, call: ApiCallRecord) {
        let kept = self.calls.lock().is_ok_and(|mut calls| {
            if calls.len() < self.capacity {
                calls.push(call);
                true
            } else {
                false
            }
        });
        if !kept {
            self.dropped.fetch_add(1, Ordering::Relaxed);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use actix_web::{test, web, App, HttpResponse};

    #[actix_web::test]
    async fn records_the_route_pattern_method_status_and_duration() {
        let sink = Arc::new(BufferedCalls::new(2));
        let app = test::init_service(
            App::new()
                .wrap(RecordApiCalls::new("svc", sink.clone()))
                .route(
                    "/users/{id}",
                    web::get().to(|| async { HttpResponse::Created().finish() }),
                ),
        )
        .await;
        for uri in ["/users/42?secret=1", "/nowhere/7", "/users/43"] {
            test::call_service(&app, test::TestRequest::get().uri(uri).to_request()).await;
        }
        let calls = sink.take();
        assert_eq!(calls.len(), 2, "the buffer holds 2");
        assert_eq!(sink.dropped(), 1, "the third is dropped and counted");
        assert_eq!(
            (
                calls[0].endpoint.as_str(),
                calls[0].method.as_str(),
                calls[0].status
            ),
            ("/users/{id}", "GET", 201)
        );
        assert_eq!(
            (calls[1].endpoint.as_str(), calls[1].status),
            (UNMATCHED, 404)
        );
        assert!(calls
            .iter()
            .all(|c| c.service == "svc" && c.duration_ms >= 0.0));
        assert!(sink.take().is_empty(), "taken once");
    }
}
