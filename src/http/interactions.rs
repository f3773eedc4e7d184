//! Discord's "Interactions Endpoint URL" mode: `POST /interactions`, Ed25519-verified before
//! anything is parsed, answered by the same assistant core as the gateway bot.
//!
//! PING → PONG; slash commands and button presses → a message (type 4); autocomplete →
//! suggestions at once (type 8). When an answer is not ready within `defer_after`, the
//! endpoint answers "thinking…" (type 5) and edits the original response through Discord's
//! API when the answer is ready, as Discord wants an answer within 3 seconds.

use axum::Json;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use chrono::Utc;
use ed25519_dalek::{Signature, VerifyingKey};
use serde_json::{Value, json};
use std::sync::Arc;

use super::HttpState;
use crate::assistant::{Reply, Request};
use crate::discord_api::{self, InteractionKind};
use crate::offload::{self, Answer};

/// How far a signed timestamp may be from now.
pub const MAX_CLOCK_SKEW_SECONDS: i64 = 5 * 60;

/// Why a request was refused before it was read.
#[derive(Debug, PartialEq, Eq, thiserror::Error)]
pub enum SignatureError {
    #[error("the X-Signature-Ed25519 or X-Signature-Timestamp header is missing")]
    Missing,
    #[error("the signature isn't 64 hex-encoded bytes")]
    Malformed,
    #[error("the signature doesn't match the body")]
    Invalid,
    #[error("the timestamp is more than 5 minutes from now")]
    Stale,
}

/// Checks Discord's signature over `timestamp ‖ body`, then the timestamp's freshness.
pub fn verify(
    key: &VerifyingKey,
    headers: &HeaderMap,
    body: &[u8],
    now: i64,
) -> Result<(), SignatureError> {
    let header = |name: &str| {
        headers
            .get(name)
            .and_then(|v| v.to_str().ok())
            .ok_or(SignatureError::Missing)
    };
    let signature = header("x-signature-ed25519")?;
    let timestamp = header("x-signature-timestamp")?;
    let bytes: [u8; 64] = hex::decode(signature.trim())
        .ok()
        .and_then(|b| b.try_into().ok())
        .ok_or(SignatureError::Malformed)?;
    let mut message = Vec::with_capacity(timestamp.len() + body.len());
    message.extend_from_slice(timestamp.as_bytes());
    message.extend_from_slice(body);
    key.verify_strict(&message, &Signature::from_bytes(&bytes))
        .map_err(|_| SignatureError::Invalid)?;
    let signed_at: i64 = timestamp
        .trim()
        .parse()
        .map_err(|_| SignatureError::Stale)?;
    if (now - signed_at).abs() > MAX_CLOCK_SKEW_SECONDS {
        return Err(SignatureError::Stale);
    }
    Ok(())
}

fn refuse(status: StatusCode, message: impl Into<String>) -> Response {
    (
        status,
        Json(json!({ "error": { "field": null, "message": message.into() } })),
    )
        .into_response()
}

pub async fn handle(
    State(state): State<Arc<HttpState>>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let Some(key) = state.public_key else {
        return refuse(
            StatusCode::SERVICE_UNAVAILABLE,
            "the interactions endpoint is switched off: set [http] public_key",
        );
    };
    if let Err(error) = verify(&key, &headers, &body, Utc::now().timestamp()) {
        tracing::debug!(%error, "refused an interaction");
        return refuse(StatusCode::UNAUTHORIZED, error.to_string());
    }
    let raw: Value = match serde_json::from_slice(&body) {
        Ok(raw) => raw,
        Err(error) => {
            return refuse(
                StatusCode::BAD_REQUEST,
                format!("the body isn't JSON: {error}"),
            );
        }
    };
    let interaction = match discord_api::parse_interaction(&raw) {
        Ok(interaction) => interaction,
        Err(error) => {
            tracing::warn!(%error, "an interaction that doesn't parse");
            return refuse(StatusCode::BAD_REQUEST, error.to_string());
        }
    };
    match interaction.kind {
        InteractionKind::Ping => Json(discord_api::pong()).into_response(),
        InteractionKind::Autocomplete { who, focus, .. } => {
            let assistant = Arc::clone(&state.assistant);
            Json(offload::suggestions(assistant, who, Utc::now(), focus).await).into_response()
        }
        InteractionKind::Request { who, place, input } => {
            let request = Request {
                id: interaction.id,
                who,
                place,
                now: Utc::now(),
                input,
            };
            let assistant = Arc::clone(&state.assistant);
            match offload::answer_within(assistant, request, state.defer_after).await {
                Answer::Ready(reply) => {
                    Json(discord_api::interaction_response(&reply)).into_response()
                }
                Answer::Late(task) => {
                    let state = Arc::clone(&state);
                    let (application_id, token) = (interaction.application_id, interaction.token);
                    let tracker = state.background.clone();
                    tracker.spawn(async move {
                        let reply = task.finish().await;
                        follow_up(&state, &application_id, &token, &reply).await;
                    });
                    // Slash commands answer privately; the edit keeps that choice.
                    Json(discord_api::deferred_response(true)).into_response()
                }
            }
        }
    }
}

/// Replaces a deferred response with the answer. The token is a secret: never logged.
async fn follow_up(state: &HttpState, application_id: &str, token: &str, reply: &Reply) {
    let url = format!(
        "{}/api/v10/webhooks/{application_id}/{token}/messages/@original",
        state.api_base
    );
    let result = state
        .client
        .patch(url)
        .json(&discord_api::edit_payload(reply))
        .send()
        .await;
    match result {
        Ok(response) if response.status().is_success() => {}
        Ok(response) => tracing::warn!(status = %response.status(), "Discord refused a follow-up"),
        Err(error) => {
            tracing::warn!(error = %error.without_url(), "can't send a follow-up to Discord")
        }
    }
}
