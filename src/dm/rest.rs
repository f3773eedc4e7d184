//! Sending DMs over Discord's REST API (reqwest): open the DM channel with the member, post
//! the message. Every request goes to `[discord] api_base` with the bot token; Discord's
//! answers become [`SendError`]s the reminder runner understands. The token never reaches a
//! log or an error.

use serde_json::{Value, json};
use std::time::Duration;

use super::classify;
use crate::reminders::{BoxFuture, Deliver, SendError};

/// How long one request may take before it counts as a timeout (retried).
pub const REQUEST_TIMEOUT: Duration = Duration::from_secs(10);

/// Sends DMs through Discord's REST API.
pub struct RestDms {
    client: reqwest::Client,
    api_base: String,
    authorization: String,
}

impl RestDms {
    pub fn new(api_base: &str, token: &str) -> Self {
        RestDms {
            client: reqwest::Client::builder()
                .timeout(REQUEST_TIMEOUT)
                .build()
                .unwrap_or_default(),
            api_base: api_base.trim_end_matches('/').to_string(),
            authorization: format!("Bot {}", token.trim()),
        }
    }

    async fn post(&self, path: &str, body: Value) -> Result<Value, SendError> {
        let response = self
            .client
            .post(format!("{}/api/v10{path}", self.api_base))
            .header(reqwest::header::AUTHORIZATION, &self.authorization)
            .json(&body)
            .send()
            .await
            // Timeouts and connections that failed or dropped: Discord may or may not have
            // acted; a retry with the same nonce is safe.
            .map_err(|e| SendError::Transient(format!("no answer from Discord ({})", kind(&e))))?;
        let status = response.status();
        let header_wait = response
            .headers()
            .get(reqwest::header::RETRY_AFTER)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.trim().parse::<f64>().ok());
        let body: Value = response.json().await.unwrap_or(Value::Null);
        if status.is_success() {
            return Ok(body);
        }
        Err(classify(status.as_u16(), &body, header_wait))
    }
}

fn kind(error: &reqwest::Error) -> &'static str {
    if error.is_timeout() {
        "timed out"
    } else if error.is_connect() {
        "couldn't connect"
    } else {
        "the connection failed"
    }
}

impl Deliver for RestDms {
    fn send<'a>(
        &'a self,
        member_id: &'a str,
        text: &'a str,
        nonce: &'a str,
    ) -> BoxFuture<'a, Result<(), SendError>> {
        Box::pin(async move {
            if member_id.is_empty() || !member_id.chars().all(|c| c.is_ascii_digit()) {
                return Err(SendError::Permanent(format!(
                    "{member_id} isn't a Discord user id"
                )));
            }
            let channel = self
                .post("/users/@me/channels", json!({ "recipient_id": member_id }))
                .await?;
            let channel_id = channel["id"]
                .as_str()
                .ok_or_else(|| SendError::Transient("Discord's DM channel had no id".into()))?;
            self.post(
                &format!("/channels/{channel_id}/messages"),
                json!({
                    "content": text,
                    "nonce": nonce,
                    "enforce_nonce": true,
                    "allowed_mentions": { "parse": [] },
                }),
            )
            .await?;
            Ok(())
        })
    }
}
