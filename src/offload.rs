//! Calling the synchronous core from the async transports (the gateway bot and the HTTP
//! interactions endpoint): every call runs on tokio's blocking pool, never on an async
//! worker, and a failed task becomes one apology. No network here.

use chrono::{DateTime, Utc};
use std::sync::Arc;
use std::time::Duration;
use tokio::task::JoinHandle;

use crate::assistant::suggest::{Suggestion, suggest};
use crate::assistant::{self, Assistant, Reply, Request, Who};
use crate::discord_api::{self, Focus};
use crate::error::Reference;

/// Discord wants an interaction answered within 3 seconds: an answer not ready after this
/// is deferred ("thinking…") and sent as an edit of the original response.
pub const DEFER_AFTER: Duration = Duration::from_secs(2);

/// Answers `request` on the blocking pool.
pub async fn answer(assistant: Arc<Assistant>, request: Request) -> Reply {
    let (id, reference) = (request.id.clone(), request.reference());
    match tokio::task::spawn_blocking(move || assistant.handle(&request)).await {
        Ok(reply) => reply,
        Err(error) => {
            tracing::error!(request = %id, %error, "the assistant task panicked or was cancelled");
            failed(&id, &reference)
        }
    }
}

/// A task that failed outside the assistant (a panic) gets the assistant's one apology,
/// under the request's own reference, which is logged with the failure.
fn failed(id: &str, reference: &Reference) -> Reply {
    tracing::error!(request = %id, %reference, "the assistant task failed");
    assistant::apology(reference)
}

/// An answer in time, or the task still working on it.
pub enum Answer {
    Ready(Reply),
    Late(Late),
}

/// An answer not ready in time: the task working on it, and its request's id and reference
/// in case it fails.
pub struct Late {
    task: JoinHandle<Reply>,
    id: String,
    reference: Reference,
}

impl Late {
    /// Waits for the answer.
    pub async fn finish(self) -> Reply {
        let Late {
            task,
            id,
            reference,
        } = self;
        task.await.unwrap_or_else(|_| failed(&id, &reference))
    }
}

/// Answers `request`, waiting at most `within`; a zero `within` always answers late (tests use
/// it to exercise the deferral).
pub async fn answer_within(
    assistant: Arc<Assistant>,
    request: Request,
    within: Duration,
) -> Answer {
    let (id, reference) = (request.id.clone(), request.reference());
    let mut task = tokio::spawn(answer(assistant, request));
    if !within.is_zero()
        && let Ok(joined) = tokio::time::timeout(within, &mut task).await
    {
        return Answer::Ready(joined.unwrap_or_else(|_| failed(&id, &reference)));
    }
    Answer::Late(Late {
        task,
        id,
        reference,
    })
}

/// Autocomplete suggestions as Discord's response body, computed on the blocking pool. Never
/// deferred: Discord drops late suggestions.
pub async fn suggestions(
    assistant: Arc<Assistant>,
    who: Who,
    now: DateTime<Utc>,
    focus: Focus,
) -> serde_json::Value {
    let found: Vec<Suggestion> = tokio::task::spawn_blocking(move || {
        suggest(
            &assistant,
            &who,
            now,
            &focus.path,
            &focus.option,
            &focus.typed,
            &focus.others,
        )
    })
    .await
    .unwrap_or_default();
    discord_api::autocomplete_response(&found)
}
