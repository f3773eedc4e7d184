//! Discord's "Interactions Endpoint URL" mode (placeholder until the wire module lands).
use axum::http::StatusCode;

pub async fn handle() -> StatusCode {
    StatusCode::SERVICE_UNAVAILABLE
}
