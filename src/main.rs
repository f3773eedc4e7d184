//! The command line: parse arguments (clap), load the config, open the ledger, run a
//! subcommand or a transport. Everything it runs lives in the library.

use chrono::{DateTime, NaiveDate, NaiveDateTime, Utc};
use clap::{Parser, Subcommand};
use std::io::IsTerminal;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::Arc;

use creditbot::assistant::{Admins, Assistant, Style};
use creditbot::config::{Config, DatabaseLocation};
use creditbot::console::{self, Session};
use creditbot::faq::{self, Faq};
use creditbot::ledger::{ExpiredLotPolicy, Ledger, LedgerSettings};
use creditbot::{db, demo, export, import, reminders};
// What the long-running transports share; a build with neither (`--no-default-features`)
// runs only the console and one-shot commands.
#[cfg(any(feature = "discord", feature = "http"))]
use creditbot::{
    shutdown,
    sweeper::{SWEEP_EVERY, sweep_periodically},
};

#[derive(Parser)]
#[command(
    name = "creditbot",
    version,
    about = "Answers members' questions about their digital credits"
)]
struct Cli {
    /// The config file (default ./bot.toml; none is needed for the console).
    #[arg(long, global = true, value_name = "PATH")]
    config: Option<PathBuf>,
    /// The database: a SQLite file (a path or sqlite:PATH) or postgres://user:password@host/db.
    /// Beats CREDITBOT_DATABASE_URL and bot.toml's [database] url and path.
    // Read as a path, not parsed by clap: clap's refusals repeat the value, password and all.
    #[arg(long, global = true, value_name = "PATH|URL")]
    db: Option<PathBuf>,
    #[command(subcommand)]
    command: Option<Command>,
}

#[derive(Subcommand)]
enum Command {
    /// The Discord bot when a token is configured, otherwise the console (the default).
    Run,
    /// Talk to the assistant locally: commands as on Discord (/balance), or questions.
    Console {
        /// Who you are (a member id); the demo member by default.
        #[arg(long = "as", value_name = "MEMBER", default_value = demo::DEMO_MEMBER)]
        member: String,
        /// Be an admin for this session.
        #[arg(long)]
        admin: bool,
        /// Pretend it is this time (2026-12-01 or 2026-12-01T10:00:00Z).
        #[arg(long, value_name = "DATETIME", value_parser = parse_now)]
        now: Option<DateTime<Utc>>,
    },
    /// Serve HTTP: Discord's interactions endpoint and the store API ([http] in bot.toml).
    Serve,
    /// Write expiry entries for every grant that has expired (`run` and `serve` do it hourly).
    Sweep {
        /// Sweep as of this time (default now). A later time expires credit for good: use it
        /// on test copies only.
        #[arg(long, value_name = "DATETIME", value_parser = parse_now)]
        now: Option<DateTime<Utc>>,
    },
    /// Expiry reminders due now: print them, or send them when a Discord token is configured.
    Remind {
        /// Plan as of this time (default now).
        #[arg(long, value_name = "DATETIME", value_parser = parse_now)]
        now: Option<DateTime<Utc>>,
        /// Only print what would be sent; record and send nothing.
        #[arg(long)]
        dry_run: bool,
    },
    /// Create or upgrade the database, then exit.
    Migrate,
    /// Question understanding: classify questions or evaluate the matcher.
    Faq {
        #[command(subcommand)]
        action: FaqAction,
    },
    /// Import accounts, grants, orders and returns from a JSON Lines file (idempotent).
    Import {
        /// A JSON Lines file, or - to read standard input.
        file: PathBuf,
        /// The time to record, when a line has no "at" (default now).
        #[arg(long, value_name = "DATETIME", value_parser = parse_now)]
        now: Option<DateTime<Utc>>,
    },
    /// Print one account's data (by member or account id) as JSON.
    Export {
        #[arg(value_name = "MEMBER|ACCOUNT")]
        who: String,
        /// The moment the balance is taken at (default now).
        #[arg(long, value_name = "DATETIME", value_parser = parse_now)]
        now: Option<DateTime<Utc>>,
    },
    /// Copy the live database to PATH (a new file): a consistent snapshot, even while the
    /// bot writes, integrity-checked before it is put in place.
    Backup { path: PathBuf },
    /// Copy a whole ledger between databases (SQLite and PostgreSQL, either way), ids and
    /// all, into an empty one; checks the journal and money totals on both sides after.
    /// Run again, it changes nothing. `--db` plays no part.
    Copy {
        /// The database to copy: a SQLite file (a path or sqlite:PATH) or postgres://….
        // Paths, not parsed by clap: clap's refusals repeat the value, password and all.
        #[arg(long, value_name = "PATH|URL")]
        from: PathBuf,
        /// The database to copy into: new or empty (a SQLite file is created).
        #[arg(long, value_name = "PATH|URL")]
        to: PathBuf,
    },
    /// Seed a demo account (member alice, account ACC-1042) with grants, orders and a return.
    Demo {
        #[arg(long, value_name = "DATETIME", value_parser = parse_now)]
        now: Option<DateTime<Utc>>,
    },
}

#[derive(Subcommand)]
enum FaqAction {
    /// Read questions from stdin, one per line; print `<intent>\t<score>` for each.
    Classify,
    /// Evaluate against a TSV of `intent<TAB>question` lines.
    Eval { file: PathBuf },
}

fn parse_now(text: &str) -> Result<DateTime<Utc>, String> {
    if let Ok(at) = DateTime::parse_from_rfc3339(text) {
        return Ok(at.with_timezone(&Utc));
    }
    if let Ok(at) = NaiveDateTime::parse_from_str(text, "%Y-%m-%d %H:%M") {
        return Ok(at.and_utc());
    }
    NaiveDate::parse_from_str(text, "%Y-%m-%d")
        .map(|d| d.and_hms_opt(12, 0, 0).expect("noon exists").and_utc())
        .map_err(|_| format!("\"{text}\" isn't a time; write 2026-12-01 or 2026-12-01T10:00:00Z"))
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let command = cli.command.unwrap_or(Command::Run);
    init_logging(matches!(command, Command::Run | Command::Serve));
    match execute(cli.config, cli.db, command) {
        Ok(code) => code,
        Err(message) => {
            eprintln!("creditbot: {message}");
            ExitCode::FAILURE
        }
    }
}

/// Logs go to stderr; `RUST_LOG` filters them (default: info for the bot, warnings otherwise,
/// so console and command-line output stay clean).
fn init_logging(serving: bool) {
    let default = if serving { "info" } else { "warn" };
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new(default));
    tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_ansi(std::io::stderr().is_terminal())
        .init();
}

type Outcome = Result<ExitCode, String>;

impl Command {
    /// Whether the command may create the database when there is none at its path: the
    /// commands that set one up or feed it. Reading commands refuse a missing database, so a
    /// mistyped `--db` leaves no empty file behind; so does `console --db PATH` (a console on
    /// the default path starts on a new demo database, as `run` does).
    fn may_create_database(&self, explicit_db: bool) -> bool {
        match self {
            Command::Run
            | Command::Serve
            | Command::Migrate
            | Command::Demo { .. }
            | Command::Import { .. } => true,
            Command::Console { .. } => !explicit_db,
            Command::Sweep { .. }
            | Command::Remind { .. }
            | Command::Export { .. }
            | Command::Backup { .. }
            | Command::Copy { .. }
            | Command::Faq { .. } => false,
        }
    }
}

fn execute(config_path: Option<PathBuf>, db: Option<PathBuf>, command: Command) -> Outcome {
    // Commands that need neither config nor database.
    if let Command::Faq { action } = &command {
        let result = match action {
            FaqAction::Classify => {
                creditbot::faq::run_classify(std::io::stdin().lock(), std::io::stdout().lock())
            }
            FaqAction::Eval { file } => creditbot::faq::run_eval(file, std::io::stdout().lock()),
        };
        return result
            .map(|()| ExitCode::SUCCESS)
            .map_err(|e| e.to_string());
    }
    let config = match &config_path {
        Some(path) => Config::load(path).and_then(|_| Config::load_or_default(path)),
        None => Config::load_or_default(Path::new("bot.toml")),
    }
    .map_err(|e| e.to_string())?;
    let config_file = config_path.unwrap_or_else(|| PathBuf::from("bot.toml"));
    if let Command::Copy { from, to } = &command {
        return copy(&config, &config_file, from, to);
    }
    let explicit_db = db.is_some();
    // `--db` beats the config's location (itself the environment's or the file's).
    let location = match db {
        Some(value) => DatabaseLocation::from_argument(value).map_err(|e| format!("--db: {e}"))?,
        None => config.database.location().map_err(|e| e.to_string())?,
    };
    // Input that can't be read is refused before the database is touched.
    let import_input = match &command {
        Command::Import { file, .. } => Some(ImportInput::open(file)?),
        _ => None,
    };
    let sqlite_file = location.sqlite_path();
    if let Some(path) = sqlite_file {
        if !command.may_create_database(explicit_db) && !path.exists() {
            return Err(format!(
                "no database at {}; check the path (nothing was created)",
                path.display()
            ));
        }
    }
    if let Command::Backup { path } = &command {
        // The copy reads the file as it is: no migration, no currency check, no ledger.
        return match sqlite_file {
            Some(db_path) => backup(db_path, &config, path),
            None => Err(format!(
                "backup copies a SQLite file; {location} is PostgreSQL (use its own tools, such as pg_dump)"
            )),
        };
    }
    let created = sqlite_file.is_some_and(|path| !path.exists());
    let settings = config
        .ledger_settings(&config_file)
        .map_err(|e| e.to_string())?;
    let ledger = Arc::new(open_ledger(&location, &config, settings, &config_file)?);
    let now = Utc::now();
    match command {
        Command::Run => {
            if config.discord.token.is_set() {
                return run_discord(&config, ledger);
            }
            eprintln!(
                "No Discord token configured (set DISCORD_TOKEN, or [discord] token in bot.toml) — starting the local console on {location}."
            );
            if created {
                seed_demo(&ledger, now)?;
            }
            let assistant = assistant(&config, ledger, Some(demo::DEMO_MEMBER), false)?;
            console::run(&assistant, &Session::new(demo::DEMO_MEMBER, false, None))
                .map_err(|e| e.to_string())?;
        }
        Command::Console {
            member,
            admin,
            now: at,
        } => {
            if created {
                seed_demo(&ledger, at.unwrap_or(now))?;
            }
            let assistant = assistant(&config, ledger, Some(&member), admin)?;
            console::run(&assistant, &Session::new(member, admin, at))
                .map_err(|e| e.to_string())?;
        }
        Command::Serve => return serve(&config, ledger),
        Command::Sweep { now: at } => {
            let report = ledger
                .sweep_expired("sweep", at.unwrap_or(now))
                .map_err(|e| e.to_string())?;
            println!(
                "Expired {} grant(s), {} in all.",
                report.lots,
                ledger.currency().format(report.amount)
            );
        }
        Command::Remind { now: at, dry_run } => {
            return remind(&config, ledger, at.unwrap_or(now), dry_run);
        }
        Command::Migrate => {
            println!(
                "{location} is ready (schema version {}).",
                creditbot::db::MIGRATIONS.len()
            );
        }
        Command::Import { now: at, .. } => {
            let input = import_input.expect("opened above");
            let bar = input.progress_bar();
            let summary =
                import::import(
                    &ledger,
                    input.reader,
                    "import",
                    at.unwrap_or(now),
                    |p| match input.size {
                        Some(_) => bar.set_position(p.bytes),
                        None => bar.set_position(p.line as u64),
                    },
                );
            bar.finish_and_clear();
            print!("{summary}");
            if !summary.is_complete() {
                return Ok(ExitCode::FAILURE);
            }
        }
        Command::Export { who, now: at } => {
            let data =
                export::export(&ledger, &who, at.unwrap_or(now)).map_err(|e| e.to_string())?;
            println!(
                "{}",
                serde_json::to_string_pretty(&data).map_err(|e| e.to_string())?
            );
        }
        Command::Demo { now: at } => {
            demo::seed(&ledger, at.unwrap_or(now)).map_err(|e| e.to_string())?;
            println!(
                "Demo data ready in {location}: member {} is linked to account {}. Try: creditbot console",
                demo::DEMO_MEMBER,
                demo::DEMO_ACCOUNT
            );
        }
        Command::Faq { .. } | Command::Backup { .. } | Command::Copy { .. } => {
            unreachable!("answered above")
        }
    }
    Ok(ExitCode::SUCCESS)
}

/// Seeds the demo data into a database this run created (the console's first start).
fn seed_demo(ledger: &Ledger, now: DateTime<Utc>) -> Result<(), String> {
    demo::seed(ledger, now).map_err(|e| e.to_string())?;
    eprintln!(
        "Seeded demo data: you are {}, linked to account {}.",
        demo::DEMO_MEMBER,
        demo::DEMO_ACCOUNT
    );
    Ok(())
}

/// Opens the ledger where `location` says, checking the config's currency against the one the
/// database keeps first. The one place that knows which stores this build can open.
fn open_ledger(
    location: &DatabaseLocation,
    config: &Config,
    settings: LedgerSettings,
    config_file: &Path,
) -> Result<Ledger, String> {
    if let DatabaseLocation::Sqlite(path) = location {
        check_currency(path, config, config_file)?;
    }
    let ledger = open_store(location, config, settings)?;
    #[cfg(feature = "postgres")]
    if let creditbot::ledger::AnyStore::Postgres(store) = ledger.store() {
        store
            .keep_currency(&wanted_currency(config), &config_file.display().to_string())
            .map_err(|e| format!("{location}: {e}"))?;
    }
    Ok(ledger)
}

/// Opens (creating and migrating if needed) the ledger where `location` says, leaving the
/// currency it keeps as it is. The one place that knows which stores this build can open.
fn open_store(
    location: &DatabaseLocation,
    config: &Config,
    settings: LedgerSettings,
) -> Result<Ledger, String> {
    match location {
        DatabaseLocation::Sqlite(path) => {
            Ledger::open(path, &config.database, settings).map_err(|e| e.to_string())
        }
        #[cfg(feature = "postgres")]
        DatabaseLocation::Postgres(url) => {
            let options = creditbot::ledger::PgOptions {
                pool_size: config.database.pool_size,
                connect_timeout: std::time::Duration::from_millis(
                    config.database.connect_timeout_ms,
                ),
            };
            Ledger::open_postgres(url.expose(), &options, settings).map_err(|e| e.to_string())
        }
        #[cfg(not(feature = "postgres"))]
        DatabaseLocation::Postgres(url) => Err(format!(
            "this build has no PostgreSQL store (built without the `postgres` feature): {url}"
        )),
    }
}

/// `creditbot copy --from A --to B`: the whole ledger of A into B, new or empty (see
/// `ledger::store::copy`), checked on both sides before it says done. Neither side's
/// currency is checked against the config: the copy carries the source's.
fn copy(config: &Config, config_file: &Path, from: &Path, to: &Path) -> Outcome {
    let parse = |flag: &str, value: &Path| {
        DatabaseLocation::from_argument(value.to_path_buf()).map_err(|e| format!("{flag}: {e}"))
    };
    let (from, to) = (parse("--from", from)?, parse("--to", to)?);
    if from == to {
        return Err(format!(
            "--from and --to are both {from}; copy into another database"
        ));
    }
    if let Some(path) = from.sqlite_path() {
        if !path.is_file() {
            return Err(format!(
                "no database at {}; check --from (nothing was created)",
                path.display()
            ));
        }
    }
    let settings = || {
        config
            .ledger_settings(config_file)
            .map_err(|e| e.to_string())
    };
    let source = open_store(&from, config, settings()?).map_err(|e| format!("{from}: {e}"))?;
    let destination = open_store(&to, config, settings()?).map_err(|e| format!("{to}: {e}"))?;
    let outcome = creditbot::ledger::store::copy::copy(source.store(), destination.store())
        .map_err(|e| format!("copying {from} to {to}: {e}"))?;
    use creditbot::ledger::store::copy::{Outcome as Copy, Refusal, Totals};
    let figures = |totals: &Totals| {
        // In the currency the ledger keeps, which needn't be the config's.
        let currency = match &totals.currency {
            Some((code, decimals)) if *decimals <= creditbot::money::MAX_SCALE => {
                creditbot::money::Currency::new(code, *decimals, source.currency().max_grant())
            }
            _ => source.currency().clone(),
        };
        let money = |minor| currency.format(creditbot::money::Credits::from_minor(minor));
        format!(
            "{} accounts, {} grants, {} journal entries (credits granted {}, spent {}, remaining {})",
            totals.accounts,
            totals.grants,
            totals.journal_entries,
            money(totals.granted),
            money(totals.spent()),
            money(totals.remaining)
        )
    };
    match outcome {
        Copy::Copied(totals) => {
            println!(
                "Copied {} from {from} to {to}; both sides agree.",
                figures(&totals)
            );
            Ok(ExitCode::SUCCESS)
        }
        Copy::AlreadyThere(totals) => {
            println!(
                "{to} already holds this ledger ({}); nothing changed.",
                figures(&totals)
            );
            Ok(ExitCode::SUCCESS)
        }
        Copy::Refused(Refusal::DifferentLedger) => Err(format!(
            "{to} already holds a different ledger; copy into an empty database (nothing was changed)"
        )),
        Copy::Refused(Refusal::DifferentCurrency(ours, theirs)) => Err(format!(
            "{to} keeps its amounts in {theirs}, {from} in {ours}; copy into an empty database (nothing was changed)"
        )),
        Copy::Mismatch(figure) => Err(format!(
            "copied {from} to {to}, but reading both back they disagree on {figure}; don't use {to}"
        )),
    }
}

/// The currency the config asks for, as a database keeps it.
fn wanted_currency(config: &Config) -> db::StoreCurrency {
    db::StoreCurrency {
        code: config.credits.currency.trim().to_string(),
        decimals: config.credits.decimals,
    }
}

/// Refuses a config whose currency differs from the one the database keeps (recording it in
/// a database that keeps none yet), before the ledger reads a single amount.
fn check_currency(db_path: &Path, config: &Config, config_file: &Path) -> Result<(), String> {
    let conn = db::open(db_path, &config.database)
        .map_err(|e| format!("can't open {}: {e}", db_path.display()))?;
    db::keep_currency(
        &conn,
        &wanted_currency(config),
        &config_file.display().to_string(),
    )
    .map_err(|e| format!("{}: {e}", db_path.display()))
}

/// `creditbot backup PATH`: a consistent copy, put at PATH only once it is whole and checked.
fn backup(db_path: &Path, config: &Config, target: &Path) -> Outcome {
    let bar = if std::io::stderr().is_terminal() {
        let bar = indicatif::ProgressBar::new(0);
        if let Ok(style) = indicatif::ProgressStyle::with_template(
            "{bar:40} {bytes}/{total_bytes} copied ({eta} left)",
        ) {
            bar.set_style(style);
        }
        bar
    } else {
        indicatif::ProgressBar::hidden()
    };
    let shown = bar.clone();
    let copied = db::backup(db_path, &config.database, target, move |p| {
        shown.set_length(p.total);
        shown.set_position(p.written.min(p.total));
    })
    .map_err(|e| e.to_string())?;
    bar.finish_and_clear();
    println!(
        "Backed up {} to {} ({} bytes, integrity checked).",
        db_path.display(),
        target.display(),
        copied
    );
    Ok(ExitCode::SUCCESS)
}

/// What `creditbot import` reads: a regular file, or standard input for `-`.
struct ImportInput {
    reader: Box<dyn std::io::BufRead>,
    /// The file's size, for a progress bar over bytes; `None` for standard input.
    size: Option<u64>,
}

impl ImportInput {
    /// Opens `path`, refusing at once anything but a regular file: a directory would read as
    /// nothing, a FIFO would block until a writer came, and `/dev/stdin` or `<(…)` is
    /// standard input by another name, which is spelled `-`.
    fn open(path: &Path) -> Result<ImportInput, String> {
        if path == Path::new("-") {
            return Ok(ImportInput {
                reader: Box::new(std::io::stdin().lock()),
                size: None,
            });
        }
        let can_t = |e: std::io::Error| format!("can't read {}: {e}", path.display());
        let metadata = std::fs::metadata(path).map_err(can_t)?;
        if metadata.is_dir() {
            return Err(format!(
                "{} is a directory; give a JSON Lines file, or - to read standard input",
                path.display()
            ));
        }
        if !metadata.is_file() {
            return Err(format!(
                "{} isn't a regular file (it is a pipe, device or socket); give a file, or - to read standard input",
                path.display()
            ));
        }
        let file = std::fs::File::open(path).map_err(can_t)?;
        Ok(ImportInput {
            reader: Box::new(std::io::BufReader::new(file)),
            size: Some(metadata.len()),
        })
    }

    /// On a terminal: a bar over the file's bytes (so it is exact however long the lines),
    /// or a count of lines read from standard input. Hidden otherwise, and for small files.
    fn progress_bar(&self) -> indicatif::ProgressBar {
        if !std::io::stderr().is_terminal() {
            return indicatif::ProgressBar::hidden();
        }
        let (bar, template) = match self.size {
            Some(size) if size < 1 << 20 => return indicatif::ProgressBar::hidden(),
            Some(size) => (
                indicatif::ProgressBar::new(size),
                "{bar:40} {bytes}/{total_bytes} read ({eta} left)",
            ),
            None => (
                indicatif::ProgressBar::new_spinner(),
                "{spinner} {pos} lines read",
            ),
        };
        if let Ok(style) = indicatif::ProgressStyle::with_template(template) {
            bar.set_style(style);
        }
        bar
    }
}

/// The assistant with the config's admins; `console_admin` adds the console user to them.
fn assistant(
    config: &Config,
    ledger: Arc<Ledger>,
    console_user: Option<&str>,
    console_admin: bool,
) -> Result<Assistant, String> {
    let policies = faq::Policies {
        reissue_days: match config.returns.expired_lot_policy {
            ExpiredLotPolicy::Reissue => Some(config.returns.reissue_days),
            ExpiredLotPolicy::Expire => None,
        },
    };
    let faq = match &config.faq.catalog_path {
        Some(path) => Faq::load_from_path(path, &policies),
        None => Faq::builtin_with(&policies),
    }
    .map_err(|e| e.to_string())?;
    let mut admins = Admins {
        user_ids: config
            .discord
            .admin_user_ids
            .iter()
            .map(u64::to_string)
            .collect(),
        role_ids: config
            .discord
            .admin_role_ids
            .iter()
            .map(u64::to_string)
            .collect(),
    };
    if let (true, Some(user)) = (console_admin, console_user) {
        admins.user_ids.push(user.to_string());
    }
    // Checked when the config was loaded; this only converts it.
    let confirm = config
        .confirm_settings(std::path::Path::new("bot.toml"))
        .map_err(|e| e.to_string())?;
    Ok(Assistant::new(ledger, Arc::new(faq), admins)
        .with_confirm(confirm)
        .with_reminders(reminders::Settings::from(&config.reminders)))
}

/// The reminder runner of a long-running transport, when reminders are on.
#[cfg(any(feature = "discord", feature = "http"))]
fn reminder_runner(
    config: &Config,
    ledger: Arc<Ledger>,
    deliver: Arc<dyn reminders::Deliver>,
) -> Option<reminders::Runner> {
    let settings = reminders::Settings::from(&config.reminders);
    if !settings.enabled {
        tracing::info!("expiry reminders are off ([reminders] enabled = false)");
        return None;
    }
    Some(reminders::Runner {
        ledger,
        settings,
        deliver,
        pause: Arc::new(reminders::Sleep),
        counters: Some(reminders::Counters::process().clone()),
    })
}

/// `creditbot remind`: prints the reminders due at `now`; sends them (recording each, so none
/// is sent twice) when a token is configured and this isn't a dry run.
fn remind(config: &Config, ledger: Arc<Ledger>, now: DateTime<Utc>, dry_run: bool) -> Outcome {
    let settings = reminders::Settings::from(&config.reminders);
    let currency = ledger.currency().clone();
    let plan = reminders::plan_run(&ledger, &settings, now).map_err(|e| e.to_string())?;
    for message in &plan.messages {
        println!(
            "To {} (account {}):\n{}\n",
            message.member_id,
            message.account_id,
            reminders::text::message(&message.grants, &currency, Style::Plain, now)
        );
    }
    for (member, reason) in &plan.skipped {
        println!("Skipped {member}: {}", reason.as_str());
    }
    let due = plan.messages.len();
    let sending = !dry_run && settings.enabled && config.discord.token.is_set();
    if !sending {
        let why = if dry_run {
            "dry run"
        } else if !settings.enabled {
            "[reminders] enabled = false"
        } else {
            "no Discord token configured"
        };
        println!(
            "{} due; nothing sent ({why}).",
            creditbot::words::count(due as u32, "reminder message")
        );
        return Ok(ExitCode::SUCCESS);
    }
    let runtime = tokio::runtime::Runtime::new().map_err(|e| e.to_string())?;
    let runner = reminders::Runner {
        ledger,
        settings,
        deliver: rest_dms(config)?,
        pause: Arc::new(reminders::Sleep),
        counters: None,
    };
    let report = runtime
        .block_on(runner.run(now))
        .map_err(|e| e.to_string())?;
    println!(
        "Sent {}, skipped {}, failed {}.",
        report.sent, report.skipped, report.failed
    );
    for (member, reason) in &report.failures {
        println!("  failed {member}: {reason}");
    }
    Ok(if report.failed > 0 {
        ExitCode::FAILURE
    } else {
        ExitCode::SUCCESS
    })
}

/// `creditbot serve`: the HTTP server on a tokio runtime, with the hourly sweep and, when a
/// token is configured, reminders sent over Discord's REST API.
#[cfg(feature = "http")]
fn serve(config: &Config, ledger: Arc<Ledger>) -> Outcome {
    let runtime = tokio::runtime::Runtime::new().map_err(|e| e.to_string())?;
    runtime.spawn(sweep_periodically(Arc::clone(&ledger), SWEEP_EVERY));
    if config.discord.token.is_set() {
        if let Some(runner) = reminder_runner(config, Arc::clone(&ledger), rest_dms(config)?) {
            runtime.spawn(runner.run_periodically());
        }
    }
    let assistant = Arc::new(assistant(config, ledger, None, false)?);
    let result = runtime.block_on(creditbot::http::serve(config, assistant));
    runtime.shutdown_timeout(shutdown::RUNTIME_GRACE);
    result.map_err(|e| e.to_string())?;
    Ok(ExitCode::SUCCESS)
}

#[cfg(not(feature = "http"))]
fn serve(_config: &Config, _ledger: Arc<Ledger>) -> Outcome {
    Err(WITHOUT_HTTP.into())
}

#[cfg(not(feature = "http"))]
const WITHOUT_HTTP: &str = "this build has no HTTP support (built without the `http` feature)";

/// Direct messages over Discord's REST API, with the configured token.
#[cfg(feature = "http")]
fn rest_dms(config: &Config) -> Result<Arc<dyn reminders::Deliver>, String> {
    Ok(Arc::new(creditbot::dm::RestDms::new(
        &config.discord.api_base,
        config.discord.token.expose(),
    )))
}

#[cfg(not(feature = "http"))]
fn rest_dms(_config: &Config) -> Result<Arc<dyn reminders::Deliver>, String> {
    Err(format!(
        "{WITHOUT_HTTP}, so it can't send direct messages; `creditbot remind --dry-run` shows what is due"
    ))
}

/// The Discord bot on a tokio runtime, until SIGINT or SIGTERM. The ledger is dropped (and
/// SQLite closed) when the bot has finished the interactions in hand.
#[cfg(feature = "discord")]
fn run_discord(config: &Config, ledger: Arc<Ledger>) -> Outcome {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .map_err(|e| format!("can't start the async runtime: {e}"))?;
    runtime.spawn(sweep_periodically(Arc::clone(&ledger), SWEEP_EVERY));
    let deliver = Arc::new(creditbot::discord::SerenityDms::new(
        &config.discord.api_base,
        config.discord.token.expose(),
    ));
    if let Some(runner) = reminder_runner(config, Arc::clone(&ledger), deliver) {
        runtime.spawn(runner.run_periodically());
    }
    let assistant = Arc::new(assistant(config, ledger, None, false)?);
    let result = runtime.block_on(creditbot::discord::run(config, assistant));
    runtime.shutdown_timeout(shutdown::RUNTIME_GRACE);
    result.map_err(|e| e.to_string())?;
    Ok(ExitCode::SUCCESS)
}

#[cfg(not(feature = "discord"))]
fn run_discord(_config: &Config, _ledger: Arc<Ledger>) -> Outcome {
    Err("this build has no Discord support (built without the `discord` feature)".into())
}
