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
use axum::body::{Body, HttpBody};
use axum::extract::{DefaultBodyLimit, Request, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use ed25519_dalek::VerifyingKey;
use hyper_util::rt::{TokioIo, TokioTimer};
use hyper_util::server::graceful::GracefulShutdown;
use hyper_util::service::TowerToHyperService;
use sha2::{Digest, Sha256};
use std::future::Future;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::Arc;
use std::time::Duration;
use tokio::net::TcpListener;
use tokio_util::task::TaskTracker;

use crate::assistant::Assistant;
use crate::config::Config;
use crate::ledger::Ledger;

/// The largest request body accepted (413 above it). Discord's payloads and shop orders are far smaller.
pub const MAX_BODY_BYTES: usize = 64 * 1024;

/// How long the server waits on a client, and on itself when it stops. A client that stalls
/// loses its connection instead of holding it (and a shutdown) forever.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Timeouts {
    /// For a request's headers, counted from when the connection starts waiting for them (so
    /// it also bounds a connection that sends nothing, or idles between requests), and
    /// separately for its whole body (408 when the body is late).
    pub read: Duration,
    /// After SIGINT or SIGTERM, how long the requests in hand may take before the server stops
    /// anyway.
    pub shutdown_grace: Duration,
}

impl Default for Timeouts {
    fn default() -> Self {
        Timeouts {
            read: Duration::from_secs(10),
            // Within the promise to stop in 10 s of a signal, with the runtime's own grace.
            shutdown_grace: crate::shutdown::DRAIN,
        }
    }
}

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
    pub timeouts: Timeouts,
    /// Work a request started that outlives its response (a deferred interaction's
    /// follow-up): a shutdown waits for it, within `Timeouts::shutdown_grace`, so a member
    /// still gets an answer whose ledger write already happened.
    pub background: TaskTracker,
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
    #[error("can't listen for shutdown signals: {0}")]
    Signals(std::io::Error),
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
            // Trimmed as the presented token is: a token pasted with a newline still matches.
            .then(|| Sha256::digest(token.expose().trim().as_bytes()).into()),
        public_key,
        api_base: config.discord.api_base.trim_end_matches('/').to_string(),
        client: reqwest::Client::new(),
        metrics: metrics::Metrics::new(),
        defer_after: DEFER_AFTER,
        timeouts: Timeouts::default(),
        background: TaskTracker::new(),
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
        .method_not_allowed_fallback(api::method_not_allowed)
        .layer(axum::middleware::from_fn_with_state(
            state.clone(),
            read_body,
        ))
        .layer(axum::middleware::from_fn_with_state(
            state.clone(),
            metrics::track,
        ))
        .layer(DefaultBodyLimit::max(MAX_BODY_BYTES))
        .with_state(state)
}

/// Why a body wasn't read.
enum BodyError {
    TooLarge,
    Broken,
}

/// Reads a whole body, refusing it as soon as it passes `MAX_BODY_BYTES`.
async fn collect(mut body: Body) -> Result<axum::body::Bytes, BodyError> {
    let mut bytes = Vec::new();
    while let Some(frame) = std::future::poll_fn(|cx| Pin::new(&mut body).poll_frame(cx)).await {
        if let Ok(data) = frame.map_err(|_| BodyError::Broken)?.into_data() {
            if bytes.len() + data.len() > MAX_BODY_BYTES {
                return Err(BodyError::TooLarge);
            }
            bytes.extend_from_slice(&data);
        }
    }
    Ok(bytes.into())
}

/// Middleware: reads the request body before any handler runs, within `Timeouts::read`
/// (408 after it) and `MAX_BODY_BYTES` (413 above it), so a client that stalls mid-body or
/// sends too much is answered and its connection closed.
async fn read_body(State(state): State<Arc<HttpState>>, request: Request, next: Next) -> Response {
    let (parts, body) = request.into_parts();
    let declared = parts
        .headers
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok());
    let read = if declared.is_some_and(|length| length > MAX_BODY_BYTES as u64) {
        Ok(Err(BodyError::TooLarge))
    } else {
        tokio::time::timeout(state.timeouts.read, collect(body)).await
    };
    let refusal = match read {
        Ok(Ok(bytes)) => {
            return next
                .run(Request::from_parts(parts, Body::from(bytes)))
                .await;
        }
        Err(_) => api::ApiError::new(
            StatusCode::REQUEST_TIMEOUT,
            Some("body"),
            format!(
                "the request body didn't arrive within {} seconds",
                state.timeouts.read.as_secs_f64()
            ),
        ),
        Ok(Err(BodyError::TooLarge)) => api::ApiError::new(
            StatusCode::PAYLOAD_TOO_LARGE,
            Some("body"),
            format!("the request body is over {} KiB", MAX_BODY_BYTES / 1024),
        ),
        Ok(Err(BodyError::Broken)) => api::ApiError::new(
            StatusCode::BAD_REQUEST,
            Some("body"),
            "the request body couldn't be read",
        ),
    };
    // The rest of the body is never read, so the connection can't carry another request.
    let mut response = refusal.into_response();
    response
        .headers_mut()
        .insert(header::CONNECTION, HeaderValue::from_static("close"));
    response
}

/// Serves until SIGINT or SIGTERM, then finishes the requests in hand (for at most
/// `Timeouts::shutdown_grace`).
pub async fn serve(config: &Config, assistant: Arc<Assistant>) -> Result<(), ServeError> {
    let address: SocketAddr = config
        .http
        .listen
        .parse()
        .map_err(|_| ServeError::Listen(config.http.listen.clone()))?;
    // Listening from the start, so a signal while binding or registering is a clean stop too.
    let stop = crate::shutdown::listen().map_err(ServeError::Signals)?;
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
    serve_on(listener, state, shutdown_signal(stop)).await
}

/// Serves `listener` with `state`'s timeouts until `shutdown` resolves, then finishes the
/// requests in hand and the follow-ups they started, for at most `Timeouts::shutdown_grace`.
///
/// hyper's header-read timeout closes a connection whose next request's headers haven't all
/// come within `Timeouts::read`, counted from when it started waiting for them: a client that
/// stalls mid-headers, connects and sends nothing, or idles between requests can't hold a
/// connection (or a shutdown) forever. A late body is `read_body`'s 408.
pub async fn serve_on(
    listener: TcpListener,
    state: Arc<HttpState>,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> Result<(), ServeError> {
    let (timeouts, background) = (state.timeouts, state.background.clone());
    let service = TowerToHyperService::new(router(state));
    let mut http = hyper::server::conn::http1::Builder::new();
    http.timer(TokioTimer::new())
        .header_read_timeout(timeouts.read);
    let connections = GracefulShutdown::new();
    let mut shutdown = std::pin::pin!(shutdown);
    loop {
        let stream = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok((stream, _)) => stream,
                // Out of file descriptors and the like: wait a little rather than spin.
                Err(error) => {
                    tracing::warn!(%error, "could not accept a connection");
                    tokio::time::sleep(Duration::from_millis(50)).await;
                    continue;
                }
            },
            () = &mut shutdown => break,
        };
        let connection = http.serve_connection(TokioIo::new(stream), service.clone());
        let connection = connections.watch(connection);
        tokio::spawn(async move {
            // A client that goes away, stalls past a deadline or sends no HTTP ends its own
            // connection: worth a debug line, not a warning.
            if let Err(error) = connection.await {
                tracing::debug!(%error, "connection ended with an error");
            }
        });
    }
    // Stop accepting at once: new clients are refused rather than queued unanswered.
    drop(listener);
    // No new background work can start once the connections are gone.
    background.close();
    let drained = async {
        connections.shutdown().await;
        background.wait().await;
    };
    tokio::select! {
        () = drained => {}
        () = tokio::time::sleep(timeouts.shutdown_grace) => {
            tracing::warn!(
                seconds = timeouts.shutdown_grace.as_secs_f64(),
                "stopped waiting for the requests in hand"
            );
        }
    }
    Ok(())
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

/// Resolves on the first SIGINT (Ctrl-C) or SIGTERM; a second one ends the process at once
/// (see `shutdown`).
pub async fn shutdown_signal(stop: crate::shutdown::Stop) {
    stop.requested().await;
    tracing::info!("shutting down: finishing the requests in hand");
}
