//! The HTTP transport (`creditbot serve`, axum on tokio): Discord's interactions endpoint and
//! the store API for the shop's backend, with health and Prometheus metrics.
//!
//! Handlers never run SQLite on an async worker: every ledger or assistant call goes through
//! `tokio::task::spawn_blocking`. Errors become responses in one place per surface
//! (`api::ApiError` for the store API, `interactions` for Discord).

pub mod api;
pub mod interactions;
pub mod metrics;

use axum::Router;
use axum::extract::DefaultBodyLimit;
use axum::routing::{get, post};
use ed25519_dalek::VerifyingKey;
use sha2::{Digest, Sha256};
use std::net::SocketAddr;
use std::sync::Arc;

use crate::assistant::Assistant;
use crate::config::Config;
use crate::ledger::Ledger;

/// The largest request body accepted (413 above it). Discord's payloads and shop orders are far smaller.
pub const MAX_BODY_BYTES: usize = 64 * 1024;

/// Everything a handler needs, shared by all requests.
pub struct HttpState {
    pub assistant: Arc<Assistant>,
    /// SHA-256 of the store API's bearer token; `None`: the store API is switched off.
    pub api_token_hash: Option<[u8; 32]>,
    /// The Discord application's key; `None`: the interactions endpoint is switched off.
    pub public_key: Option<VerifyingKey>,
    /// Discord's API base, for follow-ups to deferred interactions.
    pub api_base: String,
    pub client: reqwest::Client,
    pub metrics: metrics::Metrics,
    /// An interaction answer not ready by then is deferred and sent as a follow-up
    /// (zero: always).
    pub defer_after: std::time::Duration,
}

pub use crate::offload::DEFER_AFTER;

impl HttpState {
    pub fn ledger(&self) -> &Ledger {
        self.assistant.ledger()
    }
}

#[derive(Debug, thiserror::Error)]
pub enum ServeError {
    #[error("[http] public_key isn't a hex Ed25519 public key (64 hex digits)")]
    PublicKey,
    #[error("[http] listen = \"{0}\" isn't an address like 127.0.0.1:8080")]
    Listen(String),
    #[error("can't listen on {0}: {1}")]
    Bind(SocketAddr, std::io::Error),
    #[error("the server stopped: {0}")]
    Serve(std::io::Error),
}

/// The state for a config: tokens hashed, the public key parsed.
pub fn state(config: &Config, assistant: Arc<Assistant>) -> Result<HttpState, ServeError> {
    let public_key = match config.http.public_key.trim() {
        "" => None,
        hex_key => {
            let bytes: [u8; 32] = hex::decode(hex_key)
                .ok()
                .and_then(|b| b.try_into().ok())
                .ok_or(ServeError::PublicKey)?;
            Some(VerifyingKey::from_bytes(&bytes).map_err(|_| ServeError::PublicKey)?)
        }
    };
    let token = &config.http.api_token;
    Ok(HttpState {
        assistant,
        api_token_hash: token
            .is_set()
            .then(|| Sha256::digest(token.expose().as_bytes()).into()),
        public_key,
        api_base: config.discord.api_base.trim_end_matches('/').to_string(),
        client: reqwest::Client::new(),
        metrics: metrics::Metrics::new(),
        defer_after: DEFER_AFTER,
    })
}

/// Every route of the server.
pub fn router(state: Arc<HttpState>) -> Router {
    Router::new()
        .route("/interactions", post(interactions::handle))
        .route("/healthz", get(api::healthz))
        .route("/metrics", get(metrics::scrape))
        .route("/api/v1/openapi.json", get(api::openapi))
        .route("/api/v1/accounts", post(api::create_account))
        .route("/api/v1/accounts/{id}", get(api::get_account))
        .route("/api/v1/accounts/{id}/balance", get(api::balance))
        .route("/api/v1/accounts/{id}/history", get(api::history))
        .route(
            "/api/v1/accounts/{id}/link-codes",
            post(api::create_link_code),
        )
        .route("/api/v1/grants", post(api::create_grant))
        .route("/api/v1/orders", post(api::create_order))
        .route("/api/v1/orders/{id}", get(api::get_order))
        .route("/api/v1/returns", post(api::create_return))
        .fallback(api::not_found)
        .layer(axum::middleware::from_fn_with_state(
            state.clone(),
            metrics::track,
        ))
        .layer(DefaultBodyLimit::max(MAX_BODY_BYTES))
        .with_state(state)
}

/// Serves until SIGINT or SIGTERM, then finishes the requests in hand.
pub async fn serve(config: &Config, assistant: Arc<Assistant>) -> Result<(), ServeError> {
    let address: SocketAddr = config
        .http
        .listen
        .parse()
        .map_err(|_| ServeError::Listen(config.http.listen.clone()))?;
    let state = Arc::new(state(config, assistant)?);
    if state.api_token_hash.is_none() {
        tracing::warn!("no [http] api_token (or CREDITBOT_API_TOKEN): the store API answers 503");
    }
    if state.public_key.is_none() {
        tracing::warn!("no [http] public_key: the interactions endpoint answers 503");
    }
    let listener = tokio::net::TcpListener::bind(address)
        .await
        .map_err(|e| ServeError::Bind(address, e))?;
    if config.discord.token.is_set() {
        // Without a gateway there is no READY to register on: do it over REST, beside serving.
        let (client, api_base) = (state.client.clone(), state.api_base.clone());
        let (token, guilds) = (
            config.discord.token.clone(),
            config.discord.guild_ids.clone(),
        );
        tokio::spawn(async move {
            match register_commands(&client, &api_base, token.expose(), &guilds).await {
                Ok(places) => tracing::info!(places, "registered the slash commands"),
                Err(error) => tracing::warn!(%error, "could not register the slash commands"),
            }
        });
    }
    tracing::info!(%address, "serving HTTP");
    axum::serve(listener, router(state))
        .with_graceful_shutdown(shutdown_signal())
        .await
        .map_err(ServeError::Serve)
}

#[derive(Debug, thiserror::Error)]
pub enum RegisterError {
    #[error("Discord answered {status} to {what}")]
    Refused {
        what: &'static str,
        status: reqwest::StatusCode,
    },
    #[error("can't reach Discord for {what}: {source}")]
    Unreachable {
        what: &'static str,
        #[source]
        source: reqwest::Error,
    },
    #[error("Discord's application answer has no id")]
    NoApplicationId,
}

/// Registers every command (`discord_api::application_commands`, the same list the gateway
/// bot registers) with Discord's bulk-overwrite endpoint: in each of `guild_ids`, or globally
/// when there are none. Returns how many places were registered. The token goes only into
/// the Authorization header; errors never carry it (reqwest's URLs hold no secret here).
pub async fn register_commands(
    client: &reqwest::Client,
    api_base: &str,
    token: &str,
    guild_ids: &[u64],
) -> Result<usize, RegisterError> {
    let authorization = format!("Bot {token}");
    let send = |what: &'static str, request: reqwest::RequestBuilder| {
        let authorization = authorization.clone();
        async move {
            let response = request
                .header(reqwest::header::AUTHORIZATION, authorization)
                .send()
                .await
                .map_err(|source| RegisterError::Unreachable {
                    what,
                    source: source.without_url(),
                })?;
            if !response.status().is_success() {
                return Err(RegisterError::Refused {
                    what,
                    status: response.status(),
                });
            }
            Ok(response)
        }
    };
    let application: serde_json::Value = send(
        "the application lookup",
        client.get(format!("{api_base}/api/v10/applications/@me")),
    )
    .await?
    .json()
    .await
    .map_err(|source| RegisterError::Unreachable {
        what: "the application lookup",
        source,
    })?;
    let id = application["id"]
        .as_str()
        .ok_or(RegisterError::NoApplicationId)?;
    let commands = crate::discord_api::application_commands();
    let places: Vec<String> = if guild_ids.is_empty() {
        vec![format!("{api_base}/api/v10/applications/{id}/commands")]
    } else {
        guild_ids
            .iter()
            .map(|guild| format!("{api_base}/api/v10/applications/{id}/guilds/{guild}/commands"))
            .collect()
    };
    for url in &places {
        send("the command registration", client.put(url).json(&commands)).await?;
    }
    Ok(places.len())
}

/// Resolves on SIGINT (Ctrl-C) or SIGTERM.
pub async fn shutdown_signal() {
    let interrupt = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut signal) => {
                signal.recv().await;
            }
            Err(error) => {
                tracing::warn!(%error, "can't listen for SIGTERM");
                std::future::pending::<()>().await;
            }
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    tokio::select! {
        () = interrupt => {},
        () = terminate => {},
    }
    tracing::info!("shutting down: finishing the requests in hand");
}
