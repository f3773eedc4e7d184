//! A table test driven by the OpenAPI document: for every route that takes a body or query
//! parameters, one valid request (from a small table keyed by route) is accepted, and every
//! field the schema lists, at every depth (`items[1].unit_price`, `per_page`,
//! `Idempotency-Key`), is broken on its own in each way the schema says it can be (wrong
//! type, null, a broken pattern, length, minimum, maximum or enum, a missing required field,
//! an unknown extra field). Each invalid request is sent while its ids are new and again once
//! the valid request took them; each refusal must be a status the route documents (400 while
//! the ids are new) whose `error.field` is exactly that field's JSON path, and must leave the
//! database as it was.
//!
//! The walk fails when the document gains a route, a field or a constraint the table or the
//! walk doesn't cover, so the document and this test can't drift apart.

use crate::http::{Server, TOKEN, server};
use chrono::{SecondsFormat, Utc};
use regex::Regex;
use reqwest::StatusCode;
use reqwest::header::HeaderValue;
use serde_json::{Value, json};
use std::collections::BTreeMap;

/// A request as the walk builds it: a JSON body, query parameters and headers (as bytes, so a
/// header can carry what isn't ASCII).
#[derive(Clone, Debug, Default)]
struct Request {
    body: Option<Value>,
    query: BTreeMap<String, String>,
    headers: BTreeMap<String, Vec<u8>>,
}

/// One step into a JSON body: a member or an array element.
#[derive(Clone, Debug)]
enum Step {
    Key(String),
    Index(usize),
}

/// The JSON path of a place in a body as the API names it: `items[0].sku`.
fn json_path(steps: &[Step]) -> String {
    let mut path = String::new();
    for step in steps {
        match step {
            Step::Key(key) if path.is_empty() => path.push_str(key),
            Step::Key(key) => {
                path.push('.');
                path.push_str(key);
            }
            Step::Index(index) => path.push_str(&format!("[{index}]")),
        }
    }
    path
}

/// The value at `steps` (which must exist up to its last step's parent).
fn at_mut<'v>(value: &'v mut Value, steps: &[Step]) -> &'v mut Value {
    steps.iter().fold(value, |value, step| match step {
        Step::Key(key) => &mut value[key.as_str()],
        Step::Index(index) => &mut value[*index],
    })
}

/// One invalid request and the field its refusal must name.
struct Case {
    what: String,
    request: Request,
    field: String,
}

/// Follows a `$ref` within the document.
fn resolve<'d>(document: &'d Value, schema: &'d Value) -> &'d Value {
    match schema.get("$ref").and_then(Value::as_str) {
        Some(reference) => {
            let pointer = reference
                .strip_prefix('#')
                .unwrap_or_else(|| panic!("{reference}: only local references are walked"));
            let target = document
                .pointer(pointer)
                .unwrap_or_else(|| panic!("{reference} points at nothing"));
            resolve(document, target)
        }
        None => schema,
    }
}

/// The keywords the walk knows how to break (or that constrain nothing). A schema that gains
/// another fails the walk until the walk learns it.
const KNOWN_KEYWORDS: &[&str] = &[
    "type",
    "description",
    "example",
    "nullable",
    "format",
    "pattern",
    "minLength",
    "maxLength",
    "enum",
    "minimum",
    "maximum",
    "items",
    "minItems",
    "properties",
    "required",
    "additionalProperties",
];

fn check_keywords(schema: &Value, place: &str) {
    for keyword in schema.as_object().unwrap().keys() {
        assert!(
            KNOWN_KEYWORDS.contains(&keyword.as_str()),
            "{place}: the walk doesn't know how to break `{keyword}`; teach it"
        );
    }
}

/// A text as a case's label shows it: quoted, and cut short when long.
fn shown(text: &str) -> String {
    match text.char_indices().nth(12) {
        Some((end, _)) => format!("{:?}… ({} characters)", &text[..end], text.chars().count()),
        None => format!("{text:?}"),
    }
}

/// Texts that break a string schema's own constraints (length, pattern, enum, format), each
/// with what it breaks. Every pattern must be broken by at least one of the candidates.
fn broken_texts(schema: &Value, place: &str) -> Vec<(String, String)> {
    let mut broken = Vec::new();
    if let Some(min) = schema["minLength"].as_u64().filter(|&min| min > 0) {
        broken.push((format!("minLength {min}"), "x".repeat(min as usize - 1)));
    }
    if let Some(max) = schema["maxLength"].as_u64() {
        broken.push((format!("maxLength {max}"), "x".repeat(max as usize + 1)));
    }
    if let Some(pattern) = schema["pattern"].as_str() {
        let regex = Regex::new(pattern).unwrap();
        let candidates = [
            "",
            "a b",
            "-1.00",
            "1,50",
            "abc",
            "12.",
            ".5",
            "ключ",
            "1e3",
            "\u{200B}1",
        ];
        let breaking: Vec<_> = candidates
            .iter()
            .filter(|text| !regex.is_match(text))
            .collect();
        assert!(
            !breaking.is_empty(),
            "{place}: no candidate breaks the pattern {pattern}; add one"
        );
        for text in breaking {
            broken.push((format!("pattern {pattern}"), text.to_string()));
        }
    }
    if let Some(choices) = schema["enum"].as_array() {
        let outside = "not-one-of-them";
        assert!(!choices.contains(&json!(outside)));
        broken.push(("enum".to_string(), outside.to_string()));
    }
    match schema["format"].as_str() {
        None => {}
        Some("date-time") => {
            for text in ["yesterday", "2026-13-45T99:00:00Z", "2026-11-26"] {
                broken.push(("format date-time".to_string(), text.to_string()));
            }
        }
        Some(other) => panic!("{place}: the walk doesn't know how to break format {other}"),
    }
    broken
}

/// Numbers that break an integer schema's minimum and maximum.
fn broken_integers(schema: &Value) -> Vec<(String, i64)> {
    let mut broken = Vec::new();
    if let Some(min) = schema["minimum"].as_i64() {
        broken.push((format!("minimum {min}"), min - 1));
    }
    if let Some(max) = schema["maximum"].as_i64() {
        broken.push((format!("maximum {max}"), max + 1));
    }
    broken
}

/// Builds the cases of one route from its operation and its valid request.
struct Walk<'d> {
    document: &'d Value,
    valid: &'d Request,
    cases: Vec<Case>,
}

impl Walk<'_> {
    fn with_body(&self, steps: &[Step], change: impl FnOnce(&mut Value)) -> Request {
        let mut request = self.valid.clone();
        change(at_mut(request.body.as_mut().unwrap(), steps));
        request
    }

    fn body_case(&mut self, steps: &[Step], what: String, value: Value) {
        let request = self.with_body(steps, |place| *place = value);
        self.cases.push(Case {
            what,
            request,
            field: json_path(steps),
        });
    }

    /// Every way to break the body's field at `steps` (whose schema is `schema` and whose valid
    /// value is `value`), and then its members or elements.
    fn body(&mut self, schema: &Value, steps: Vec<Step>, value: &Value) {
        let schema = resolve(self.document, schema);
        let place = if steps.is_empty() {
            "the body".to_string()
        } else {
            json_path(&steps)
        };
        check_keywords(schema, &place);
        let kind = schema["type"]
            .as_str()
            .unwrap_or_else(|| panic!("{place}: no type"));
        let wrong_types = match kind {
            "string" => vec![json!(5), json!(["x"])],
            "integer" => vec![json!("2"), json!(1.5)],
            "array" => vec![json!({}), json!("x")],
            "object" => vec![json!("x"), json!([])],
            other => panic!("{place}: the walk doesn't know type {other}"),
        };
        // The body as a whole is refused by its own name, `body`; it is no field.
        if !steps.is_empty() {
            for wrong in wrong_types {
                self.body_case(&steps, format!("wrong type {wrong}"), wrong);
            }
            if schema["nullable"] != json!(true) {
                self.body_case(&steps, "null".to_string(), Value::Null);
            }
        }
        match kind {
            "string" => {
                for (what, text) in broken_texts(schema, &place) {
                    self.body_case(&steps, format!("{what}: {}", shown(&text)), json!(text));
                }
            }
            "integer" => {
                for (what, number) in broken_integers(schema) {
                    self.body_case(&steps, format!("{what}: {number}"), json!(number));
                }
            }
            "array" => {
                let elements = value
                    .as_array()
                    .unwrap_or_else(|| panic!("{place}: the valid example isn't a list"));
                assert!(
                    !elements.is_empty(),
                    "{place}: the valid example has no element, so its elements go unchecked"
                );
                if let Some(min) = schema["minItems"].as_u64().filter(|&min| min > 0) {
                    let short = json!(elements[..min as usize - 1]);
                    self.body_case(&steps, format!("minItems {min}"), short);
                }
                for (index, element) in elements.iter().enumerate() {
                    let mut inner = steps.clone();
                    inner.push(Step::Index(index));
                    self.body(&schema["items"], inner, element);
                }
            }
            "object" => self.object(schema, steps, value, &place),
            _ => unreachable!(),
        }
    }

    fn object(&mut self, schema: &Value, steps: Vec<Step>, value: &Value, place: &str) {
        let empty = serde_json::Map::new();
        let properties = schema["properties"].as_object().unwrap_or(&empty);
        let members = value
            .as_object()
            .unwrap_or_else(|| panic!("{place}: the valid example isn't an object"));
        for name in members.keys() {
            assert!(
                properties.contains_key(name),
                "{place}: the valid example has {name}, which the document doesn't list"
            );
        }
        let required: Vec<&str> = schema["required"]
            .as_array()
            .map(|names| names.iter().map(|n| n.as_str().unwrap()).collect())
            .unwrap_or_default();
        for name in &required {
            assert!(
                properties.contains_key(*name),
                "{place}: {name} is required but not described"
            );
            let mut inner = steps.clone();
            inner.push(Step::Key(name.to_string()));
            let mut request = self.valid.clone();
            at_mut(request.body.as_mut().unwrap(), &steps)
                .as_object_mut()
                .unwrap()
                .remove(*name);
            self.cases.push(Case {
                what: "missing (required)".to_string(),
                request,
                field: json_path(&inner),
            });
        }
        match &schema["additionalProperties"] {
            Value::Bool(false) => {
                let mut inner = steps.clone();
                inner.push(Step::Key("colour".to_string()));
                assert!(!properties.contains_key("colour"));
                let mut request = self.valid.clone();
                at_mut(request.body.as_mut().unwrap(), &steps)["colour"] = json!("red");
                self.cases.push(Case {
                    what: "unknown field".to_string(),
                    request,
                    field: json_path(&inner),
                });
            }
            Value::Null | Value::Bool(true) => {}
            other => panic!("{place}: the walk doesn't know additionalProperties {other}"),
        }
        for (name, property) in properties {
            let member = members.get(name).unwrap_or_else(|| {
                panic!(
                    "{place}: the valid example has no {name}, so its refusals go unchecked; \
                     add it to the table"
                )
            });
            let mut inner = steps.clone();
            inner.push(Step::Key(name.clone()));
            self.body(property, inner, member);
        }
    }

    /// Every way to break a query parameter or header.
    fn parameter(&mut self, parameter: &Value) {
        let parameter = resolve(self.document, parameter);
        let name = parameter["name"].as_str().unwrap().to_string();
        let location = parameter["in"].as_str().unwrap();
        let schema = resolve(self.document, &parameter["schema"]);
        check_keywords(schema, &name);
        let present = match location {
            "query" => self.valid.query.contains_key(&name),
            "header" => self.valid.headers.contains_key(&name),
            other => panic!("{name}: the walk doesn't know parameters in {other}"),
        };
        assert!(
            present,
            "{name}: the valid example has no {location} {name}, so its refusals go unchecked"
        );
        let mut texts: Vec<(String, Vec<u8>)> = Vec::new();
        match schema["type"].as_str() {
            Some("integer") => {
                for wrong in ["x", "1.5", ""] {
                    texts.push((format!("not an integer: {wrong:?}"), wrong.into()));
                }
                for (what, number) in broken_integers(schema) {
                    texts.push((format!("{what}: {number}"), number.to_string().into()));
                }
            }
            Some("string") => {
                for (what, text) in broken_texts(schema, &name) {
                    texts.push((format!("{what}: {}", shown(&text)), text.into()));
                }
            }
            other => panic!("{name}: the walk doesn't know parameters of type {other:?}"),
        }
        if parameter["required"] == json!(true) {
            let mut request = self.valid.clone();
            match location {
                "query" => request.query.remove(&name),
                _ => request.headers.remove(&name).map(|_| String::new()),
            };
            self.cases.push(Case {
                what: "missing (required)".to_string(),
                request,
                field: name.clone(),
            });
        }
        for (what, text) in texts {
            let mut request = self.valid.clone();
            match location {
                "query" => {
                    let text = String::from_utf8(text).expect("query texts are UTF-8");
                    request.query.insert(name.clone(), text);
                }
                _ => {
                    request.headers.insert(name.clone(), text);
                }
            }
            self.cases.push(Case {
                what,
                request,
                field: name.clone(),
            });
        }
    }
}

/// How the table treats a route that takes a body or query parameters.
enum Example {
    /// The route's concrete path, a valid request, and the status that accepts it.
    Walk {
        path: String,
        request: Request,
        accepted: StatusCode,
    },
    /// A route this walk doesn't drive, and why.
    Elsewhere(&'static str),
}

/// What the valid requests refer to: an account and an order made before the walk.
struct Fixture {
    account: &'static str,
    order: &'static str,
    /// A time after both were made and not in the future, for every `at`.
    at: String,
}

fn body(value: Value) -> Request {
    Request {
        body: Some(value),
        ..Request::default()
    }
}

/// The valid request of each route. A route the document gains that takes a body or query
/// parameters fails here until it is added.
fn example(method: &str, path: &str, fixture: &Fixture) -> Example {
    let at = fixture.at.as_str();
    match (method, path) {
        ("post", "/api/v1/accounts") => Example::Walk {
            path: path.to_string(),
            request: body(json!({"id": "ACC-NEW", "name": "Ada Lovelace"})),
            accepted: StatusCode::CREATED,
        },
        ("get", "/api/v1/accounts/{id}/history") => Example::Walk {
            path: format!("/api/v1/accounts/{}/history", fixture.account),
            request: Request {
                query: [("page", "1"), ("per_page", "10")]
                    .map(|(k, v)| (k.to_string(), v.to_string()))
                    .into(),
                ..Request::default()
            },
            accepted: StatusCode::OK,
        },
        ("post", "/api/v1/grants") => {
            let mut request = body(json!({
                "key": "welcome-1", "account": fixture.account, "amount": "5.00",
                "source": "promotion", "reason": "welcome", "expires": "90", "at": at,
            }));
            request
                .headers
                .insert("Idempotency-Key".to_string(), b"welcome-1".to_vec());
            Example::Walk {
                path: path.to_string(),
                request,
                accepted: StatusCode::CREATED,
            }
        }
        ("post", "/api/v1/orders") => Example::Walk {
            path: path.to_string(),
            request: body(json!({
                "id": "O-NEW", "account": fixture.account, "credits": "all", "method": "Visa",
                "at": at, "items": [
                    {"sku": "book", "title": "A book", "kind": "digital", "unit_price": "4.00", "quantity": 2},
                    {"sku": "lamp", "title": "A lamp", "kind": "physical", "unit_price": "20.00", "quantity": 1},
                ],
            })),
            accepted: StatusCode::CREATED,
        },
        ("post", "/api/v1/returns") => Example::Walk {
            path: path.to_string(),
            request: body(json!({
                "id": "R-NEW", "order": fixture.order, "reason": "damaged", "at": at,
                "items": [{"sku": "book", "quantity": 1}, {"sku": "lamp", "quantity": 1}],
            })),
            accepted: StatusCode::CREATED,
        },
        ("post", "/interactions") => Example::Elsewhere(
            "Discord's endpoint: refused by its signature before its body is read \
             (http_interactions)",
        ),
        _ => panic!(
            "{method} {path} takes a body or query parameters, and the table has no valid \
             request for it: add one to `example`"
        ),
    }
}

async fn send(s: &Server, method: &str, path: &str, request: &Request) -> (StatusCode, Value) {
    let url = format!("{}{path}", s.base);
    let mut builder = match method {
        "get" => s.client.get(url),
        "post" => s.client.post(url),
        other => panic!("the walk doesn't send {other}"),
    };
    builder = builder.bearer_auth(TOKEN).query(&request.query);
    for (name, value) in &request.headers {
        builder = builder.header(name.as_str(), HeaderValue::from_bytes(value).unwrap());
    }
    if let Some(body) = &request.body {
        builder = builder.json(body);
    }
    let response = builder.send().await.unwrap();
    let status = response.status();
    (status, response.json().await.unwrap_or(Value::Null))
}

/// The 4xx statuses a route documents with the error body.
fn refusal_statuses(document: &Value, operation: &Value) -> Vec<StatusCode> {
    let error = &document["components"]["responses"]["Error"];
    operation["responses"]
        .as_object()
        .unwrap()
        .iter()
        .filter(|(status, response)| {
            status.starts_with('4') && std::ptr::eq(resolve(document, response), error)
        })
        .map(|(status, _)| StatusCode::from_bytes(status.as_bytes()).unwrap())
        .collect()
}

#[tokio::test]
async fn every_invalid_field_of_every_route_is_refused_naming_its_json_path() {
    let document: Value = serde_json::from_str(creditbot::http::api::OPENAPI).unwrap();
    // The member of the error body that names the field, as the document describes it.
    let error_schema = resolve(
        &document,
        &document["components"]["responses"]["Error"]["content"]["application/json"]["schema"],
    );
    assert!(
        error_schema
            .pointer("/properties/error/properties/field")
            .is_some(),
        "the error body documents error.field"
    );

    let s = server().await;
    s.account("ACC-1").await;
    let (status, answer, _) = s
        .post(
            "/api/v1/orders",
            &json!({"id": "O-1", "account": "ACC-1", "method": "Visa", "items": [
                {"sku": "book", "kind": "digital", "unit_price": "4.00", "quantity": 2},
                {"sku": "lamp", "kind": "physical", "unit_price": "20.00"},
            ]}),
            None,
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{answer}");
    let fixture = Fixture {
        account: "ACC-1",
        order: "O-1",
        at: Utc::now().to_rfc3339_opts(SecondsFormat::Micros, true),
    };

    let mut summary = Vec::new();
    let mut total = 0;
    // Every case is sent, and every wrong answer listed at the end.
    let mut failures = Vec::new();
    for (path, operations) in document["paths"].as_object().unwrap() {
        for (method, operation) in operations.as_object().unwrap() {
            let parameters: Vec<&Value> = operation["parameters"]
                .as_array()
                .map(|all| {
                    all.iter()
                        .filter(|p| resolve(&document, p)["in"] != "path")
                        .collect()
                })
                .unwrap_or_default();
            let body_schema = operation
                .pointer("/requestBody/content/application~1json/schema")
                .map(|schema| resolve(&document, schema));
            if body_schema.is_none() && parameters.is_empty() {
                continue;
            }
            let route = format!("{} {path}", method.to_uppercase());
            let (concrete, valid, accepted) = match example(method, path, &fixture) {
                Example::Walk {
                    path,
                    request,
                    accepted,
                } => (path, request, accepted),
                Example::Elsewhere(why) => {
                    summary.push(format!("{route}: not walked ({why})"));
                    continue;
                }
            };
            assert_eq!(
                body_schema.is_some(),
                valid.body.is_some(),
                "{route}: the document and the table disagree on whether it takes a body"
            );
            let mut walk = Walk {
                document: &document,
                valid: &valid,
                cases: Vec::new(),
            };
            if let Some(schema) = body_schema {
                walk.body(schema, Vec::new(), valid.body.as_ref().unwrap());
            }
            for parameter in &parameters {
                walk.parameter(parameter);
            }
            let documented = refusal_statuses(&document, operation);
            assert!(
                documented.contains(&StatusCode::BAD_REQUEST),
                "{route} documents 400 for its refusals"
            );
            let cases = walk.cases;
            assert!(!cases.is_empty(), "{route}: no case");

            // Every invalid copy is refused before the valid request is sent (the ids are
            // new), and again after it (the ids are taken, so a refusal that fell back on a
            // conflict or a replay would show).
            for pass in ["before", "after"] {
                if pass == "after" {
                    let before = s.ledger.content_checksum().unwrap();
                    let (status, answer) = send(&s, method, &concrete, &valid).await;
                    if status != accepted {
                        failures.push(format!("{route}: the valid request: {status} {answer}"));
                    }
                    if method == "post" && s.ledger.content_checksum().unwrap() == before {
                        failures.push(format!("{route}: the valid request wrote nothing"));
                    }
                }
                for case in &cases {
                    let label = format!(
                        "{route} ({pass} the valid one): {} {}",
                        case.field, case.what
                    );
                    let before = s.ledger.content_checksum().unwrap();
                    let (status, answer) = send(&s, method, &concrete, &case.request).await;
                    let message = answer.pointer("/error/message").and_then(Value::as_str);
                    // Once the ids are taken, a refusal may be the conflict the route
                    // documents (an account's other name is 409), but it still names the field.
                    let status_ok = match pass {
                        "before" => status == StatusCode::BAD_REQUEST,
                        _ => documented.contains(&status),
                    };
                    if !status_ok
                        || answer.pointer("/error/field") != Some(&json!(case.field))
                        || message.is_none_or(str::is_empty)
                    {
                        failures.push(format!("{label}: answered {status} {answer}"));
                    }
                    if s.ledger.content_checksum().unwrap() != before {
                        failures.push(format!("{label}: changed the database"));
                    }
                }
            }
            total += cases.len();
            let fields: std::collections::BTreeSet<&str> =
                cases.iter().map(|c| c.field.as_str()).collect();
            summary.push(format!(
                "{route}: {} invalid requests over {} fields, each sent twice (before and after \
                 the valid one)",
                cases.len(),
                fields.len()
            ));
        }
    }
    assert!(
        failures.is_empty(),
        "{} of {total} refusals were wrong:\n{}",
        failures.len(),
        failures.join("\n")
    );
    let walked = summary.iter().filter(|l| !l.contains("not walked")).count();
    assert!(walked >= 5, "{summary:#?}");
    for line in &summary {
        println!("openapi refusals: {line}");
    }
    println!(
        "openapi refusals: {walked} routes, {total} invalid requests, each refused (400 while \
         its ids were new) naming its exact field and changing nothing"
    );
}
