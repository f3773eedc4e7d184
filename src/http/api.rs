//! The store API for the shop's backend: accounts, link codes, grants, orders, returns,
//! balances and history as JSON, behind a bearer token. Idempotent: grants by their
//! `Idempotency-Key` header (stored as `feed:grant:<key>`, apart from the bot's own keys and
//! shared with `creditbot import`), orders and returns by their ids; a replay answers the
//! first result, a key reused with other content answers 409. Nothing is written on any
//! error, and every refusal names its field.

use axum::Json;
use axum::body::Bytes;
use axum::extract::rejection::QueryRejection;
use axum::extract::{FromRequestParts, Path, Query, State};
use axum::http::request::Parts;
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode, header};
use axum::response::{IntoResponse, Response};
use chrono::Utc;
use serde::Deserialize;
use serde::de::DeserializeOwned;
use serde_json::{Value, json};
use sha2::{Digest, Sha256};
use std::sync::Arc;
use subtle::ConstantTimeEq;

use super::HttpState;
use crate::error::{Error, Reference, UserError};
use crate::grammar::KeyProblem;
use crate::ledger::{AccountId, Act, IdempotencyKey, Ledger, OrderId};
use crate::wire::{self, AccountIn, FieldError, GrantIn, OrderIn, ReturnIn};

/// The OpenAPI 3 description of these routes (a test walks every route it lists).
pub const OPENAPI: &str = include_str!("openapi.json");

/// Who the ledger records as the actor of API writes.
const API_ACTOR: &str = "store-api";

/// A refusal of the store API: status and a JSON body naming the field and the problem.
#[derive(Debug)]
pub struct ApiError {
    pub status: StatusCode,
    /// The request field at fault, as the client wrote it: `amount`, `items[0].unit_price`,
    /// `page`, `Idempotency-Key`.
    pub field: Option<String>,
    pub message: String,
}

impl ApiError {
    pub(crate) fn new(status: StatusCode, field: Option<&str>, message: impl Into<String>) -> Self {
        ApiError {
            status,
            field: field.map(str::to_string),
            message: message.into(),
        }
    }

    /// A refused field of a request body: 400 naming it.
    fn field(error: FieldError) -> Self {
        ApiError {
            status: StatusCode::BAD_REQUEST,
            field: Some(error.field),
            message: error.error.to_string(),
        }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let body = json!({ "error": { "field": self.field, "message": self.message } });
        let mut response = (self.status, Json(body)).into_response();
        if self.status == StatusCode::UNAUTHORIZED {
            // RFC 6750: say which scheme would be accepted.
            response
                .headers_mut()
                .insert(header::WWW_AUTHENTICATE, HeaderValue::from_static("Bearer"));
        }
        response
    }
}

/// The `{id}` of a route's path; a refusal of it (an id that isn't UTF-8 once
/// percent-decoded) is a JSON 400 naming `id`.
pub struct PathId(pub String);

impl<S: Send + Sync> FromRequestParts<S> for PathId {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, ApiError> {
        match Path::<String>::from_request_parts(parts, state).await {
            Ok(Path(id)) => Ok(PathId(id)),
            Err(_) => Err(ApiError::new(
                StatusCode::BAD_REQUEST,
                Some("id"),
                "the id in the path must be UTF-8 text once percent-decoded",
            )),
        }
    }
}

/// A ledger error with no request to name the field from.
impl From<Error> for ApiError {
    fn from(error: Error) -> Self {
        ApiError::ledger(error, |user| wire::field_of(user).to_string())
    }
}

impl ApiError {
    /// The one place where a ledger error becomes an API response; `field_of` names the
    /// request's field a refusal is about.
    fn ledger(error: Error, field_of: impl FnOnce(&UserError) -> String) -> Self {
        match error {
            Error::User(user) => {
                let status = match &user {
                    UserError::UnknownAccount(_)
                    | UserError::UnknownOrder(_)
                    | UserError::UnknownGrant(_) => StatusCode::NOT_FOUND,
                    UserError::IdempotencyConflict
                    | UserError::OrderAlreadyRecorded(_)
                    | UserError::ReturnAlreadyRecorded(_) => StatusCode::CONFLICT,
                    _ => StatusCode::BAD_REQUEST,
                };
                ApiError {
                    status,
                    field: Some(field_of(&user)),
                    message: wire::feed_message(&user),
                }
            }
            Error::Internal { .. } => {
                let reference = Reference::random();
                tracing::error!(%reference, %error, "store API internal error");
                ApiError::new(
                    StatusCode::INTERNAL_SERVER_ERROR,
                    None,
                    format!("internal error, reference {reference}"),
                )
            }
        }
    }
}

fn rand_reference() -> u32 {
    let mut bytes = [0u8; 4];
    let _ = getrandom::fill(&mut bytes);
    u32::from_le_bytes(bytes)
}

/// Checks the bearer token in constant time (hashes of equal length are compared).
fn authorize(state: &HttpState, headers: &HeaderMap) -> Result<(), ApiError> {
    let Some(expected) = state.api_token_hash else {
        return Err(ApiError::new(
            StatusCode::SERVICE_UNAVAILABLE,
            None,
            "the store API is switched off: set [http] api_token or CREDITBOT_API_TOKEN",
        ));
    };
    // The scheme is case-insensitive (RFC 9110), the token is what follows it.
    let given = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.trim_start().split_once(' '))
        .filter(|(scheme, _)| scheme.eq_ignore_ascii_case("bearer"))
        .map(|(_, token)| token)
        .ok_or_else(|| {
            ApiError::new(
                StatusCode::UNAUTHORIZED,
                Some("Authorization"),
                "a bearer token is required",
            )
        })?;
    let given: [u8; 32] = Sha256::digest(given.trim().as_bytes()).into();
    if bool::from(given.ct_eq(&expected)) {
        Ok(())
    } else {
        Err(ApiError::new(
            StatusCode::UNAUTHORIZED,
            Some("Authorization"),
            "the bearer token is wrong",
        ))
    }
}

/// Parses a JSON body, naming the field at fault (`items[0].quantity`, or `body`). A body
/// declared as anything but `application/json`, or encoded in a way this server doesn't
/// decode (it decodes none), is refused with 415 before it is read.
fn parse_body<T: DeserializeOwned>(headers: &HeaderMap, body: &Bytes) -> Result<T, ApiError> {
    let unsupported = |field: &str, message: String| {
        ApiError::new(StatusCode::UNSUPPORTED_MEDIA_TYPE, Some(field), message)
    };
    let content_type = headers
        .get(header::CONTENT_TYPE)
        .map(|v| v.to_str().unwrap_or("?"));
    let media_type = content_type.map(|v| v.split(';').next().unwrap_or("").trim());
    if !media_type.is_some_and(|t| t.eq_ignore_ascii_case("application/json")) {
        return Err(unsupported(
            "Content-Type",
            format!(
                "the body must be JSON, sent with Content-Type: application/json (got {})",
                content_type.unwrap_or("no Content-Type")
            ),
        ));
    }
    for encoding in headers.get_all(header::CONTENT_ENCODING) {
        let encoding = encoding.to_str().unwrap_or("?").trim();
        if !encoding.eq_ignore_ascii_case("identity") {
            return Err(unsupported(
                "Content-Encoding",
                format!(
                    "this server doesn't decode Content-Encoding {encoding}; send the body unencoded"
                ),
            ));
        }
    }
    wire::from_json(body, "body").map_err(|e| ApiError {
        status: StatusCode::BAD_REQUEST,
        field: Some(e.field),
        message: e.message,
    })
}

/// Runs ledger work off the async workers.
async fn blocking<T: Send + 'static>(
    state: &Arc<HttpState>,
    work: impl FnOnce(&Ledger) -> Result<T, Error> + Send + 'static,
) -> Result<T, Error> {
    let state = Arc::clone(state);
    tokio::task::spawn_blocking(move || work(state.ledger()))
        .await
        .map_err(|e| Error::internal("running a ledger call", e))?
}

/// A refusal of a route keyed by its path's `{id}` is about that id.
fn about_path_id(error: Error) -> ApiError {
    ApiError::ledger(error, |_| "id".to_string())
}

/// 201 for a first write, and the same answer with `Idempotent-Replayed: true` for a replay.
fn written(replayed: bool, body: Value) -> Response {
    let mut response = (StatusCode::CREATED, Json(body)).into_response();
    if replayed {
        response
            .headers_mut()
            .insert("idempotent-replayed", HeaderValue::from_static("true"));
    }
    response
}

/// A keyed write: notes whether `key` was carried out before (then the ledger replays its
/// first result), runs `work` off the async workers, counts it, and answers 201. A refusal
/// names the field `field_of` says.
async fn keyed_write(
    state: &Arc<HttpState>,
    kind: &'static str,
    key: String,
    work: impl FnOnce(&Ledger) -> Result<Value, Error> + Send + 'static,
    field_of: impl FnOnce(&UserError) -> String,
) -> Result<Response, ApiError> {
    let (replayed, body) = blocking(state, move |ledger| {
        let replayed = ledger.has_operation(&key)?;
        Ok((replayed, work(ledger)?))
    })
    .await
    .map_err(|error| ApiError::ledger(error, field_of))?;
    state.metrics.ledger_operation(kind, replayed);
    Ok(written(replayed, body))
}

pub async fn healthz(State(state): State<Arc<HttpState>>) -> Result<Json<Value>, ApiError> {
    blocking(&state, |ledger| ledger.ping()).await?;
    Ok(Json(json!({ "status": "ok" })))
}

pub async fn openapi() -> Response {
    ([(header::CONTENT_TYPE, "application/json")], OPENAPI).into_response()
}

pub async fn not_found() -> ApiError {
    ApiError::new(
        StatusCode::NOT_FOUND,
        None,
        "no such route; GET /api/v1/openapi.json lists them",
    )
}

pub async fn method_not_allowed(method: Method) -> ApiError {
    ApiError::new(
        StatusCode::METHOD_NOT_ALLOWED,
        None,
        format!("this route doesn't take {method}; the Allow header lists the methods it takes"),
    )
}

pub async fn create_account(
    State(state): State<Arc<HttpState>>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, ApiError> {
    authorize(&state, &headers)?;
    let input: AccountIn = parse_body(&headers, &body)?;
    let (id, name) = (AccountId::new(input.id.as_str()), input.name.clone());
    let (existed, account) = blocking(&state, move |ledger| {
        // Idempotent by the account id: an existing account is answered as it is.
        if let Ok(account) = ledger.account(&id) {
            return Ok((true, account));
        }
        let act = Act::new(
            API_ACTOR,
            Utc::now(),
            IdempotencyKey::api_account(id.as_str()),
        );
        Ok((false, ledger.open_account(&act, &id, &name)?))
    })
    .await
    .map_err(|error| ApiError::ledger(error, |user| input.field_of(user)))?;
    // The same id with another name is other content for the same key: refused, as for
    // every other keyed write. No name claims nothing about it, and neither does the name an
    // account gets when an admin links it before the shop feeds it in: its own id.
    let name = input.name.trim();
    let named = account.display_name != account.id;
    if !name.is_empty() && named && account.display_name != name {
        return Err(ApiError::new(
            StatusCode::CONFLICT,
            Some("name"),
            format!(
                "Account {} already exists with the name \"{}\"; nothing was changed.",
                account.id, account.display_name
            ),
        ));
    }
    let status = if existed {
        StatusCode::OK
    } else {
        StatusCode::CREATED
    };
    Ok((
        status,
        Json(json!({ "account": wire::account_json(&account) })),
    )
        .into_response())
}

pub async fn get_account(
    State(state): State<Arc<HttpState>>,
    headers: HeaderMap,
    PathId(id): PathId,
) -> Result<Json<Value>, ApiError> {
    authorize(&state, &headers)?;
    blocking(&state, move |ledger| {
        let account = ledger.account(&AccountId::new(id.as_str()))?;
        Ok(Json(json!({
            "account": wire::account_json(&account),
            "member": ledger.member_for_account(&AccountId::new(&id))?,
        })))
    })
    .await
    .map_err(about_path_id)
}

pub async fn create_link_code(
    State(state): State<Arc<HttpState>>,
    headers: HeaderMap,
    PathId(id): PathId,
) -> Result<Response, ApiError> {
    authorize(&state, &headers)?;
    // Each call issues a new code; a retried request gets a fresh one rather than a replay,
    // since the plain code is never stored.
    let nonce = format!("{:08x}{:08x}", rand_reference(), rand_reference());
    let key = IdempotencyKey::api_link_code(&id, &nonce);
    let issued = blocking(&state, move |ledger| {
        ledger.issue_link_code(&Act::new(API_ACTOR, Utc::now(), key), &AccountId::new(id))
    })
    .await
    .map_err(about_path_id)?;
    Ok(written(
        false,
        json!({ "code": issued.code, "account": issued.account_id, "expires_at": issued.expires_at }),
    ))
}

/// A grant's idempotency key, as it is stored: the `Idempotency-Key` header, or the body's
/// `key`, or both when they are the same, by the one rule for keys
/// (`grammar::check_client_key`). A header sent twice is refused rather than one guessed.
fn client_key(headers: &HeaderMap, body_key: Option<&str>) -> Result<String, ApiError> {
    let refuse = |field: &str, message: String| {
        Err(ApiError::new(StatusCode::BAD_REQUEST, Some(field), message))
    };
    let mut sent = headers.get_all("idempotency-key").iter();
    let header = sent.next();
    if sent.next().is_some() {
        return refuse(
            "Idempotency-Key",
            "the Idempotency-Key header was sent more than once; send it once".to_string(),
        );
    }
    let header = match header.map(|value| value.to_str()) {
        None => None,
        Some(Ok(text)) => Some(text),
        Some(Err(_)) => {
            return refuse(
                "Idempotency-Key",
                KeyProblem::NotPrintableAscii.message("Idempotency-Key"),
            );
        }
    };
    // Each key sent is checked by itself first, so a bad one is named as itself, not as the
    // other one it fails to match.
    let check = |field: &str, key: &str| {
        wire::client_grant_key(field, key)
            .map_err(|e| ApiError::new(StatusCode::BAD_REQUEST, Some(&e.field), e.message))
    };
    if let Some(header) = header {
        check("Idempotency-Key", header)?;
    }
    if let Some(body) = body_key {
        check("key", body)?;
    }
    let (field, key) = match (header, body_key) {
        (Some(header), Some(body)) if header != body => {
            return refuse(
                "key",
                "the body's key and the Idempotency-Key header differ; send the key once, or \
                 the same in both"
                    .to_string(),
            );
        }
        (Some(header), _) => ("Idempotency-Key", header),
        (None, Some(body)) => ("key", body),
        (None, None) => {
            return refuse(
                "Idempotency-Key",
                "an Idempotency-Key header is required".to_string(),
            );
        }
    };
    check(field, key)
}

pub async fn create_grant(
    State(state): State<Arc<HttpState>>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, ApiError> {
    authorize(&state, &headers)?;
    let input: GrantIn = parse_body(&headers, &body)?;
    // The shop's keys live in their own namespace (shared with `creditbot import`), so none
    // can take a key the bot uses itself, such as `order:9001`.
    let key = client_key(&headers, input.key.as_deref())?;
    let (request, at) = input
        .to_request(state.ledger().currency(), Utc::now())
        .map_err(ApiError::field)?;
    keyed_write(
        &state,
        "grant",
        key.clone(),
        move |ledger| {
            let act = Act::new(API_ACTOR, at, key);
            let lot = ledger.grant(&act, &request)?;
            Ok(json!({ "grant": wire::lot_json(&lot, ledger.currency()) }))
        },
        |user| input.field_of(user),
    )
    .await
}

pub async fn create_order(
    State(state): State<Arc<HttpState>>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, ApiError> {
    authorize(&state, &headers)?;
    let input: OrderIn = parse_body(&headers, &body)?;
    let (request, at) = input
        .to_request(state.ledger().currency(), Utc::now())
        .map_err(ApiError::field)?;
    keyed_write(
        &state,
        "order",
        IdempotencyKey::order(&input.id).into(),
        move |ledger| {
            let receipt = ledger.record_order(API_ACTOR, at, &request)?;
            Ok(json!({ "order": wire::order_receipt_json(&receipt, ledger.currency()) }))
        },
        |user| input.field_of(user),
    )
    .await
}

pub async fn get_order(
    State(state): State<Arc<HttpState>>,
    headers: HeaderMap,
    PathId(id): PathId,
) -> Result<Json<Value>, ApiError> {
    authorize(&state, &headers)?;
    blocking(&state, move |ledger| {
        Ok(Json(json!({ "order": wire::order_breakdown_json(&ledger.order_breakdown(&OrderId::new(id), Utc::now())?, ledger.currency()) })))
    })
    .await
    .map_err(about_path_id)
}

pub async fn create_return(
    State(state): State<Arc<HttpState>>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, ApiError> {
    authorize(&state, &headers)?;
    let input: ReturnIn = parse_body(&headers, &body)?;
    let (request, at) = input.to_request(Utc::now()).map_err(ApiError::field)?;
    keyed_write(
        &state,
        "return",
        IdempotencyKey::order_return(&input.id).into(),
        move |ledger| {
            let receipt = ledger.record_return(API_ACTOR, at, &request)?;
            Ok(json!({ "return": wire::return_receipt_json(&receipt, ledger.currency()) }))
        },
        |user| input.field_of(user),
    )
    .await
}

pub async fn balance(
    State(state): State<Arc<HttpState>>,
    headers: HeaderMap,
    PathId(id): PathId,
) -> Result<Json<Value>, ApiError> {
    authorize(&state, &headers)?;
    blocking(&state, move |ledger| {
        Ok(Json(wire::balance_json(
            &ledger.balance(&AccountId::new(id), Utc::now())?,
            ledger.currency(),
        )))
    })
    .await
    .map_err(about_path_id)
}

/// The largest page a history answers.
const MAX_PER_PAGE: u32 = 100;

fn paging_refusal(field: &str) -> ApiError {
    let range = if field == "per_page" {
        format!("from 1 to {MAX_PER_PAGE}")
    } else {
        "from 1 up".to_string()
    };
    ApiError::new(
        StatusCode::BAD_REQUEST,
        Some(field),
        format!("{field} must be a whole number {range}"),
    )
}

/// A history's page and page size, from the query string. Each parameter is read by this
/// code, not by a query extractor, so a refusal names the parameter from what was read, not
/// from a rejection's text.
#[derive(Debug, Deserialize)]
pub struct Paging {
    page: Option<String>,
    per_page: Option<String>,
}

impl Paging {
    /// The page and its size, refused (naming the parameter) when not a whole number in range.
    fn checked(&self) -> Result<(u32, u32), ApiError> {
        let number = |field: &str, text: &Option<String>, default: u32, max: u32| {
            let value = match text {
                None => default,
                Some(text) => text.parse().map_err(|_| paging_refusal(field))?,
            };
            if (1..=max).contains(&value) {
                Ok(value)
            } else {
                Err(paging_refusal(field))
            }
        };
        Ok((
            number("page", &self.page, 1, u32::MAX)?,
            number("per_page", &self.per_page, 50, MAX_PER_PAGE)?,
        ))
    }
}

pub async fn history(
    State(state): State<Arc<HttpState>>,
    headers: HeaderMap,
    PathId(id): PathId,
    paging: Result<Query<Paging>, QueryRejection>,
) -> Result<Json<Value>, ApiError> {
    authorize(&state, &headers)?;
    // Only a query string that isn't `name=value` pairs is refused before `checked`.
    let Query(paging) = paging.map_err(|_| {
        ApiError::new(
            StatusCode::BAD_REQUEST,
            Some("query"),
            "the query string must be name=value pairs, like page=2&per_page=50",
        )
    })?;
    let (page, per_page) = paging.checked()?;
    blocking(&state, move |ledger| {
        let page = ledger.history_at(&AccountId::new(id.as_str()), Utc::now(), page, per_page)?;
        Ok(Json(json!({
            "account": id,
            "page": page.page,
            "pages": page.pages,
            "total_entries": page.total_entries,
            "entries": page.entries.iter().map(|e| wire::history_entry_json(e, ledger.currency())).collect::<Vec<_>>(),
        })))
    })
    .await
    .map_err(about_path_id)
}
