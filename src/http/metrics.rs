//! Prometheus metrics of the HTTP server: requests by route and status, a latency histogram,
//! ledger operations, and the FAQ's unanswered questions (read from the ledger at scrape time,
//! so questions from every transport count).

use axum::extract::{MatchedPath, Request, State};
use axum::http::{Method, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::{Histogram, exponential_buckets};
use prometheus_client::registry::Registry;
use std::sync::Arc;
use std::time::Instant;

use super::HttpState;

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct RequestLabels {
    route: String,
    method: String,
    status: u16,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct RouteLabels {
    route: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct OperationLabels {
    kind: String,
    replayed: String,
}

fn latency_histogram() -> Histogram {
    // 100 µs to about 3 s.
    Histogram::new(exponential_buckets(0.0001, 2.0, 15))
}

pub struct Metrics {
    registry: Registry,
    requests: Family<RequestLabels, Counter>,
    latency: Family<RouteLabels, Histogram, fn() -> Histogram>,
    operations: Family<OperationLabels, Counter>,
    unanswered: Gauge,
}

impl Default for Metrics {
    fn default() -> Self {
        Self::new()
    }
}

impl Metrics {
    pub fn new() -> Self {
        let mut registry = Registry::with_prefix("creditbot");
        let requests = Family::<RequestLabels, Counter>::default();
        let latency = Family::<RouteLabels, Histogram, fn() -> Histogram>::new_with_constructor(
            latency_histogram,
        );
        let operations = Family::<OperationLabels, Counter>::default();
        let unanswered = Gauge::default();
        registry.register(
            "http_requests",
            "HTTP requests by route, method and status",
            requests.clone(),
        );
        registry.register(
            "http_request_duration_seconds",
            "HTTP request latency by route",
            latency.clone(),
        );
        registry.register(
            "ledger_operations",
            "Ledger writes through the HTTP server, by kind",
            operations.clone(),
        );
        registry.register(
            "faq_unanswered_questions",
            "Questions the FAQ could not answer, stored so far",
            unanswered.clone(),
        );
        let reminders = crate::reminders::Counters::process();
        registry.register(
            "reminders_sent",
            "Expiry reminders sent (one per member and run)",
            reminders.sent.clone(),
        );
        registry.register(
            "reminders_failed",
            "Expiry reminders Discord didn't take (50007, gave up after retries, refused)",
            reminders.failed.clone(),
        );
        registry.register(
            "reminders_skipped",
            "Members with due reminders skipped (turned off, can't be DMed, claimed elsewhere)",
            reminders.skipped.clone(),
        );
        Metrics {
            registry,
            requests,
            latency,
            operations,
            unanswered,
        }
    }

    /// Counts one ledger write (or its replay).
    pub fn ledger_operation(&self, kind: &str, replayed: bool) {
        self.operations
            .get_or_create(&OperationLabels {
                kind: kind.to_string(),
                replayed: replayed.to_string(),
            })
            .inc();
    }

    fn observe(&self, route: &str, method: &str, status: u16, seconds: f64) {
        self.requests
            .get_or_create(&RequestLabels {
                route: route.to_string(),
                method: method.to_string(),
                status,
            })
            .inc();
        self.latency
            .get_or_create(&RouteLabels {
                route: route.to_string(),
            })
            .observe(seconds);
    }

    fn encode(&self) -> String {
        let mut out = String::new();
        if prometheus_client::encoding::text::encode(&mut out, &self.registry).is_err() {
            tracing::error!("can't encode metrics");
        }
        out
    }
}

/// The method as a label: the standard ones by name, anything else as "other", so a client
/// inventing methods can't add series.
fn method_label(method: &Method) -> &'static str {
    match *method {
        Method::GET => "GET",
        Method::POST => "POST",
        Method::PUT => "PUT",
        Method::PATCH => "PATCH",
        Method::DELETE => "DELETE",
        Method::HEAD => "HEAD",
        Method::OPTIONS => "OPTIONS",
        _ => "other",
    }
}

/// Middleware: times every request and counts it by its route pattern (not its raw path, so
/// account ids don't become labels).
pub async fn track(State(state): State<Arc<HttpState>>, request: Request, next: Next) -> Response {
    let route = request
        .extensions()
        .get::<MatchedPath>()
        .map_or_else(|| "unmatched".to_string(), |p| p.as_str().to_string());
    let method = method_label(request.method());
    let started = Instant::now();
    let response = next.run(request).await;
    state.metrics.observe(
        &route,
        method,
        response.status().as_u16(),
        started.elapsed().as_secs_f64(),
    );
    response
}

pub async fn scrape(State(state): State<Arc<HttpState>>) -> Response {
    let ledger_state = Arc::clone(&state);
    if let Ok(Ok(count)) =
        tokio::task::spawn_blocking(move || ledger_state.ledger().unanswered_total()).await
    {
        state
            .metrics
            .unanswered
            .set(i64::try_from(count).unwrap_or(i64::MAX));
    }
    (
        [(
            header::CONTENT_TYPE,
            "application/openmetrics-text; version=1.0.0; charset=utf-8",
        )],
        state.metrics.encode(),
    )
        .into_response()
}
