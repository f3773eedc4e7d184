//! The layers of `src/lib.rs`, enforced: a module imports only modules below it, and the
//! core (the ledger and the FAQ) names no transport or network crate. The compiler can't see
//! this (every module of one crate may name every other), so this test reads the source.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

/// Each top-level module and its layer, lowest first. A module may import a module of a
/// strictly lower layer, never one of its own layer or above. Keep in step with `src/lib.rs`.
const LAYERS: &[(&str, u32)] = &[
    ("words", 0),
    ("lines", 0),
    ("error", 1),
    ("money", 2),
    ("config", 3),
    ("db", 4),
    ("ledger", 5),
    ("grammar", 6),
    ("faq", 6),
    ("wire", 7),
    ("demo", 7),
    ("import", 8),
    ("export", 8),
    ("reminders", 8),
    ("dm", 9),
    ("assistant", 10),
    ("discord_api", 11),
    ("offload", 12),
    ("sweeper", 12),
    ("shutdown", 12),
    ("console", 13),
    ("discord", 13),
    ("http", 13),
];

/// Crates that talk to a network or drive async I/O; the core must not name them.
const NETWORK_CRATES: &[&str] = &["serenity", "axum", "hyper", "reqwest", "tokio"];

fn sources(dir: &Path, out: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).expect("read src") {
        let path = entry.expect("a directory entry").path();
        if path.is_dir() {
            sources(&path, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
}

fn src() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("src")
}

/// The top-level module a source file belongs to: `src/ledger/store.rs` → `ledger`.
fn module_of(path: &Path) -> String {
    let relative = path.strip_prefix(src()).expect("under src");
    let first = relative.components().next().expect("a component");
    let name = first.as_os_str().to_string_lossy();
    name.trim_end_matches(".rs").to_string()
}

/// The source without comments (`//` to the end of the line), so a doc line may name a
/// module it explains. A `//` inside a string literal cuts the line short, which can only
/// hide an import, never invent one.
fn code_of(text: &str) -> String {
    text.lines()
        .map(|line| line.split("//").next().unwrap_or(""))
        .collect::<Vec<_>>()
        .join("\n")
}

fn identifier_at(text: &str) -> String {
    text.chars()
        .take_while(|c| c.is_ascii_alphanumeric() || *c == '_')
        .collect()
}

/// Every top-level module named after `crate::`, including each one inside
/// `crate::{a, b::c}`.
fn crate_imports(code: &str) -> Vec<String> {
    let mut found = Vec::new();
    for (at, _) in code.match_indices("crate::") {
        // `creditbot::…` in doc tests and `$crate::` in macros are not this crate's paths.
        let before = code[..at].chars().next_back();
        if before.is_some_and(|c| c.is_ascii_alphanumeric() || c == '_' || c == '$') {
            continue;
        }
        let rest = &code[at + "crate::".len()..];
        if let Some(group) = rest.strip_prefix('{') {
            let mut depth = 0;
            let mut at_item_start = true;
            for (i, c) in group.char_indices() {
                match c {
                    '{' => depth += 1,
                    '}' if depth == 0 => break,
                    '}' => depth -= 1,
                    ',' if depth == 0 => at_item_start = true,
                    c if c.is_whitespace() => {}
                    _ if at_item_start && depth == 0 => {
                        found.push(identifier_at(&group[i..]));
                        at_item_start = false;
                    }
                    _ => {}
                }
            }
        } else {
            found.push(identifier_at(rest));
        }
    }
    found.retain(|name| !name.is_empty() && name != "self");
    found
}

#[test]
fn no_module_imports_one_of_its_own_layer_or_above() {
    let layers: BTreeMap<&str, u32> = LAYERS.iter().copied().collect();
    let mut files = Vec::new();
    sources(&src(), &mut files);
    let mut upward = Vec::new();
    for file in files {
        let module = module_of(&file);
        if module == "main" || module == "lib" {
            continue;
        }
        let Some(&own) = layers.get(module.as_str()) else {
            panic!("src/{module} is not in LAYERS: give it a layer (and a line in src/lib.rs)");
        };
        let code = code_of(&std::fs::read_to_string(&file).expect("read a source file"));
        for imported in crate_imports(&code) {
            if imported == module {
                continue;
            }
            let Some(&theirs) = layers.get(imported.as_str()) else {
                panic!(
                    "{} names crate::{imported}, which is not in LAYERS",
                    file.display()
                );
            };
            if theirs >= own {
                upward.push(format!(
                    "{} ({module}, layer {own}) imports crate::{imported} (layer {theirs})",
                    file.display()
                ));
            }
        }
    }
    assert!(
        upward.is_empty(),
        "imports that point up or sideways:\n{}",
        upward.join("\n")
    );
}

#[test]
fn the_ledger_and_the_faq_name_no_network_crate() {
    let mut files = Vec::new();
    for core in ["ledger", "faq"] {
        files.push(src().join(format!("{core}.rs")));
        sources(&src().join(core), &mut files);
    }
    let mut found = Vec::new();
    for file in &files {
        let text = std::fs::read_to_string(file).expect("read a source file");
        for (number, line) in text.lines().enumerate() {
            let words = line.split(|c: char| !(c.is_ascii_alphanumeric() || c == '_'));
            for word in words {
                if NETWORK_CRATES.contains(&word) {
                    found.push(format!(
                        "{}:{}: {}",
                        file.display(),
                        number + 1,
                        line.trim()
                    ));
                }
            }
        }
    }
    assert!(
        found.is_empty(),
        "the core names a network crate:\n{}",
        found.join("\n")
    );
}

#[test]
fn the_import_reader_sees_grouped_and_nested_paths() {
    let code = "use crate::{money::Credits, ledger::{Lot, store}, self};\nlet x = crate::faq::y();\nmy_crate::nope();";
    assert_eq!(crate_imports(code), ["money", "ledger", "faq"]);
    assert_eq!(code_of("use a; // crate::http"), "use a; ");
}

/// The `UserError` variants whose sentence names a chat command (`/admin link`, `/order`).
fn refusals_naming_a_chat_command() -> Vec<String> {
    let source = std::fs::read_to_string(src().join("error.rs")).expect("read src/error.rs");
    // `#[error("…")]` (possibly over several lines), doc lines, then the variant's name.
    let variant = regex::Regex::new(
        r#"#\[error\(\s*"((?:[^"\\]|\\.)*)"[^\]]*\]\s*(?:///[^\n]*\n\s*)*([A-Z]\w*)"#,
    )
    .unwrap();
    let command = regex::Regex::new(r"(^|[\s(:])/[a-z]").unwrap();
    variant
        .captures_iter(&source)
        .filter(|c| command.is_match(&c[1]))
        .map(|c| c[2].to_string())
        .collect()
}

#[test]
fn no_refusal_raised_outside_chat_names_a_chat_command() {
    let named = refusals_naming_a_chat_command();
    // The reader must see the variants it guards: chat's own refusals name commands.
    assert!(named.contains(&"UnknownOption".to_string()), "{named:?}");
    let mut outside_chat = Vec::new();
    for core in ["ledger", "http"] {
        outside_chat.push(src().join(format!("{core}.rs")));
        sources(&src().join(core), &mut outside_chat);
    }
    for door in [
        "wire", "import", "export", "demo", "db", "money", "grammar", "config",
    ] {
        outside_chat.push(src().join(format!("{door}.rs")));
    }
    let mut found = Vec::new();
    for file in &outside_chat {
        let code = code_of(&std::fs::read_to_string(file).expect("read a source file"));
        for name in &named {
            if code.contains(&format!("UserError::{name}")) {
                found.push(format!("{} raises {name}", file.display()));
            }
        }
    }
    assert!(
        found.is_empty(),
        "refusals that name a chat command, raised where no chat command can be run:\n{}",
        found.join("\n")
    );
}

/// What a named field of a refusal may hold, by its name. A refusal carries data: what the
/// member typed or named, ids, numbers, values already formatted as a figure or a date, and
/// pieces of the command table. Never a sentence: the words are the `Display` of the variant
/// (and chat's hints), so the same refusal reads the same everywhere and every door can word
/// it its own way. A new field must be added here, saying which kind of data it is.
const REFUSAL_FIELDS: &[(&str, &[&str])] = &[
    // Typed by the member, or an id or name they gave.
    ("item", &["String"]),
    ("order", &["String"]),
    ("member", &["String"]),
    ("account", &["String"]),
    ("typed", &["String"]),
    ("existing", &["String"]),
    ("value", &["String"]),
    ("word", &["String"]),
    ("path", &["String"]),
    // A command as the member would type it ("/history", "/admin grant member:@a amount:5").
    ("command", &["String"]),
    ("regrant", &["String"]),
    ("option", &["String", "&'static str"]),
    ("suggestion", &["Option<String>"]),
    ("grant", &["i64"]),
    // Figures and dates, formatted in the asker's style but not words.
    ("max", &["String", "usize", "i64"]),
    ("lost", &["String"]),
    ("expired_on", &["String"]),
    // Pieces of the command table, by reference: never written where the refusal is raised.
    ("action", &["&'static str"]),
    ("example", &["&'static str"]),
    ("examples", &["Vec<&'static str>"]),
    ("subcommands", &["Vec<&'static str>"]),
    // Structured data.
    ("field", &["Field"]),
    ("items", &["Vec<ItemName>"]),
    ("found", &["u32"]),
    ("scale", &["u32"]),
    ("length", &["usize"]),
    ("line", &["usize"]),
    ("min", &["i64"]),
    ("bought", &["i64"]),
    ("returned", &["i64"]),
    ("asked", &["i64"]),
    ("minutes", &["i64"]),
    ("days", &["u32"]),
    ("page", &["u32"]),
    ("pages", &["u32"]),
];

/// The named fields of `UserError`'s variants, as (variant, field, type).
fn refusal_fields(source: &str) -> Vec<(String, String, String)> {
    let start = source
        .find("pub enum UserError {")
        .expect("UserError in error.rs");
    let body = &source[start..];
    let body = &body[..body.find("\n}\n").expect("the end of UserError")];
    // Attributes (`#[error("…")]`, possibly over several lines) and doc lines say nothing
    // about the data.
    let attributes =
        regex::Regex::new(r#"(?s)#\[error\((?:"(?:[^"\\]|\\.)*"|[^"])*?\)\]"#).unwrap();
    let body = attributes.replace_all(body, "");
    let body = code_of(&body);
    let variant = regex::Regex::new(r"(?s)([A-Z]\w*)\s*\{([^{}]*)\}").unwrap();
    let field = regex::Regex::new(r"(\w+)\s*:\s*([^,]+)").unwrap();
    let mut out = Vec::new();
    for v in variant.captures_iter(&body[body.find('{').unwrap() + 1..]) {
        for f in field.captures_iter(&v[2]) {
            out.push((v[1].to_string(), f[1].to_string(), f[2].trim().to_string()));
        }
    }
    out
}

#[test]
fn no_refusal_carries_a_sentence() {
    let source = std::fs::read_to_string(src().join("error.rs")).expect("read src/error.rs");
    let fields = refusal_fields(&source);
    // The reader must see the variants it guards.
    assert!(
        fields.contains(&("ReturnTooMany".into(), "asked".into(), "i64".into())),
        "{fields:?}"
    );
    assert!(fields.len() > 40, "{fields:?}");
    let allowed: BTreeMap<&str, &[&str]> = REFUSAL_FIELDS.iter().copied().collect();
    let mut prose = Vec::new();
    for (variant, name, kind) in &fields {
        if !allowed
            .get(name.as_str())
            .is_some_and(|kinds| kinds.contains(&kind.as_str()))
        {
            prose.push(format!("UserError::{variant} {{ {name}: {kind} }}"));
        }
    }
    assert!(
        prose.is_empty(),
        "refusal fields that aren't known data (put the words in the variant's #[error], \
         or add the field to REFUSAL_FIELDS saying which kind of data it is):\n{}",
        prose.join("\n")
    );
    // The check can fail: a field carrying a hint is refused.
    let probe = source.replace("    ChoiceExpired,", "    ChoiceExpired { hint: String },");
    let probed = refusal_fields(&probe);
    assert!(probed.contains(&("ChoiceExpired".into(), "hint".into(), "String".into())));
    assert!(!allowed.contains_key("hint"));
}

/// What marks a line as SQL or as the SQLite driver (in code, not comments).
const SQL_MARKERS: &[&str] = &[
    "rusqlite",
    "SELECT ",
    "INSERT INTO",
    "INSERT OR ",
    "UPDATE ",
    "DELETE FROM",
    "PRAGMA ",
    "prepare_cached",
    "query_row",
    "last_insert_rowid",
];

/// The ledger's stores, each a file and a folder of its own under `src/ledger/`, and the
/// driver crate only it may name.
const STORES: &[(&str, &str)] = &[("sqlite", "rusqlite"), ("postgres", "postgres")];

/// The store `file` belongs to, if any.
fn store_of(file: &Path) -> Option<&'static str> {
    let ledger = src().join("ledger");
    STORES.iter().map(|(store, _)| *store).find(|store| {
        file == ledger.join(format!("{store}.rs")) || file.starts_with(ledger.join(store))
    })
}

/// Whether `line` names the crate `name` by a path (`postgres::Client`, not
/// `self::postgres::PgStore` or `feature = "postgres"`).
fn names_crate(line: &str, name: &str) -> bool {
    line.match_indices(&format!("{name}::")).any(|(at, _)| {
        !line[..at]
            .chars()
            .next_back()
            .is_some_and(|c| c.is_ascii_alphanumeric() || c == '_' || c == ':')
    })
}

/// The ledger's storage seam: its rules and operations (`ledger::ops`), the store interface
/// (`ledger::store`) and the policies (`ledger::rules`) are written once, above the stores;
/// only the stores (`src/ledger/sqlite.rs` + `src/ledger/sqlite/`, and the same for
/// `postgres`) have SQL or name a database driver, each its own.
#[test]
fn only_the_stores_have_sql_in_the_ledger() {
    let ledger = src().join("ledger");
    let mut files = vec![src().join("ledger.rs")];
    sources(&ledger, &mut files);
    let mut found = Vec::new();
    let mut in_store: BTreeMap<&str, usize> = BTreeMap::new();
    for file in &files {
        let code = code_of(&std::fs::read_to_string(file).expect("read a source file"));
        let store = store_of(file);
        for (number, line) in code.lines().enumerate() {
            // Another store's driver is as out of place as SQL outside the stores.
            let foreign_driver = STORES
                .iter()
                .any(|(other, driver)| Some(*other) != store && names_crate(line, driver));
            for marker in SQL_MARKERS {
                if !line.contains(marker) && !foreign_driver {
                    continue;
                }
                if let (Some(store), false) = (store, foreign_driver) {
                    *in_store.entry(store).or_default() += 1;
                } else {
                    found.push(format!(
                        "{}:{}: {}",
                        file.display(),
                        number + 1,
                        line.trim()
                    ));
                }
            }
        }
    }
    // The reader must see the SQL it guards: each store has plenty.
    for (store, _) in STORES {
        let lines = in_store.get(store).copied().unwrap_or(0);
        assert!(
            lines > 50,
            "only {lines} SQL lines under src/ledger/{store}"
        );
    }
    found.dedup();
    assert!(
        found.is_empty(),
        "SQL, or a store's driver, outside that store (src/ledger/<store>):\n{}",
        found.join("\n")
    );
}

#[test]
fn a_crate_is_named_by_its_paths_not_by_a_module_or_feature_of_that_name() {
    assert!(names_crate("use postgres::Client;", "postgres"));
    assert!(names_crate(
        "impl From<postgres::Error> for Error {",
        "postgres"
    ));
    assert!(names_crate(
        "let c = rusqlite::Connection::open(p);",
        "rusqlite"
    ));
    assert!(!names_crate(
        "pub use self::postgres::{PgOptions, PgStore};",
        "postgres"
    ));
    assert!(!names_crate(
        "use crate::ledger::postgres::MIGRATIONS;",
        "postgres"
    ));
    assert!(!names_crate("#[cfg(feature = \"postgres\")]", "postgres"));
    assert!(!names_crate("use tokio_postgres::Error;", "postgres"));
}
