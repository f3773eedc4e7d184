//! Private messages to members: what Discord's answers to a DM mean for a retry (shared by
//! both transports), and, with the `http` feature, [`rest::RestDms`] sending them over
//! Discord's REST API for `serve` (no gateway) and `creditbot remind`.

use serde_json::Value;
use std::time::Duration;

use crate::reminders::SendError;

#[cfg(feature = "http")]
pub mod rest;
#[cfg(feature = "http")]
pub use rest::RestDms;

/// Discord's "Cannot send messages to this user".
pub const CANNOT_DM: i64 = 50007;
/// A 429 without a readable `retry_after` waits this long.
const DEFAULT_RETRY_AFTER: Duration = Duration::from_secs(1);

/// What Discord's answer means for a retry.
pub fn classify(status: u16, body: &Value, header_wait: Option<f64>) -> SendError {
    let message = body["message"].as_str().unwrap_or("").to_string();
    match status {
        429 => {
            let seconds = body["retry_after"].as_f64().or(header_wait);
            SendError::RateLimited(
                seconds
                    .filter(|s| s.is_finite() && *s >= 0.0)
                    .map(|s| Duration::from_secs_f64(s.min(3600.0)))
                    .unwrap_or(DEFAULT_RETRY_AFTER),
            )
        }
        500..=599 => SendError::Transient(format!("Discord answered {status}")),
        _ if body["code"].as_i64() == Some(CANNOT_DM) => SendError::CantDm(format!(
            "Discord can't DM them (50007: {})",
            if message.is_empty() {
                "Cannot send messages to this user"
            } else {
                &message
            }
        )),
        _ => SendError::Permanent(format!("Discord answered {status}: {message}")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn discord_answers_are_classified() {
        assert_eq!(
            classify(429, &json!({ "retry_after": 2.5, "global": false }), None),
            SendError::RateLimited(Duration::from_millis(2500))
        );
        assert_eq!(
            classify(429, &Value::Null, Some(3.0)),
            SendError::RateLimited(Duration::from_secs(3))
        );
        assert!(matches!(
            classify(502, &Value::Null, None),
            SendError::Transient(_)
        ));
        assert!(matches!(
            classify(
                403,
                &json!({ "code": 50007, "message": "Cannot send messages to this user" }),
                None
            ),
            SendError::CantDm(_)
        ));
        assert!(matches!(
            classify(
                404,
                &json!({ "code": 10013, "message": "Unknown User" }),
                None
            ),
            SendError::Permanent(_)
        ));
    }
}
