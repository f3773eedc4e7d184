//! A seeded, deterministic simulation of the assistant and the ledger together (issue 11,
//! item 9), shared by `tests/it/simulation.rs` and `benches/simulation.rs`.
//!
//! One world: 120 members, 5 admins (one of them by role only), 150 shop accounts, one SQLite
//! file. Events (see `events`): members' slash commands and plain-word questions through
//! `Assistant::handle`, as the transports send them, in DMs, channels and the console; admins'
//! commands; the shop's feed of grants, orders and returns through `wire`'s `GrantIn`/`OrderIn`/
//! `ReturnIn::to_request` and the ledger, as the store API and `import` do, some backdated;
//! immediate retries and late replays of earlier writes; the clock jumping minutes to weeks;
//! expiry sweeps; and restarts (the ledger and assistant dropped, the file opened again).
//!
//! After every event (see `checks`): money is conserved (each touched lot's remaining equals
//! its journal; the journal's totals equal what the lots hold; everything from scratch after
//! 2,000 events, then after every 2,000 or every eighth of the events so far, whichever is
//! more, and at the end), no lot or balance is negative and each touched account's balance
//! equals its live lots, no reply to a member names another account, another account's order
//! or grant, or another member, an answer about someone else's order reads exactly like one
//! about an order that doesn't exist, a member's `/balance` shows the ledger's figure, no
//! reply is an internal error, a refused feed request changes nothing and an accepted one
//! something, and every replay changes nothing (`PRAGMA data_version`, and `content_checksum`
//! on a sample) and answers its first result (a feed request always; a command when retried
//! at once, except those listed in `RETRY_MAY_ANSWER_DIFFERENTLY`, each with why).
//!
//! `first_difference` compares two runs of one seed, with sweeps at random moments and with
//! one sweep at the end: the feed's outcomes and the final balances must agree.
//!
//! Everything the events depend on comes from the seed (`rng`), so a failing seed replays
//! exactly; the one thing the ledger draws itself, a link code, is masked in the run's digest.
//! A failure panics with the seed, the event number and the command that replays it.

pub mod checks;
pub mod events;
pub mod rng;

use std::collections::{BTreeMap, HashMap, VecDeque};
use std::path::PathBuf;
use std::sync::{Arc, OnceLock};

use chrono::{DateTime, TimeZone, Utc};
use regex::Regex;
use sha2::{Digest, Sha256};

use creditbot::assistant::{Admins, Assistant, Input, Place, Reply, Request, Who};
use creditbot::config::DatabaseConfig;
use creditbot::error::Error;
use creditbot::faq::Faq;
use creditbot::ledger::{AccountId, Act, Ledger, LedgerSettings};
use creditbot::money::Credits;
use creditbot::wire::{GrantIn, ItemIn, OrderIn, ReturnIn, ReturnItemIn, feed_grant_key};

use checks::Checker;
use events::{
    ACCOUNTS, ADMINS, Asker, Event, FeedGrant, FeedOrder, FeedReturn, NEVER_AN_ORDER, Plan,
    account_id, admin_id, member_id,
};
use rng::Rng;

/// The seed when `CREDITBOT_SIM_SEED` doesn't give one.
pub const DEFAULT_SEED: u64 = 20_261_201;
/// The actor of the shop's feed, as the store API names itself.
const FEED_ACTOR: &str = "store-api";
/// The role that makes admin 0 an admin (the others are admins by user id).
const ADMIN_ROLE: &str = "role-staff";
/// Writes remembered for late replays (memory stays bounded however long the run).
const REPLAYABLE: usize = 4_096;
/// Commands that write, whose retries and replays must change nothing.
const WRITE_COMMANDS: &[&str] = &[
    "admin grant",
    "admin revoke",
    "admin expiry",
    "admin link",
    "admin unlink",
    "admin code",
    "admin return",
    "link",
    "unlink",
];
/// Commands whose immediate retry may answer differently, with why. Empty: every retry must
/// answer exactly as the first time. `CREDITBOT_SIM_STRICT=1` ignores this list.
const RETRY_MAY_ANSWER_DIFFERENTLY: &[(&str, &str)] = &[
    (
        "admin code",
        "by design: only the code's hash is stored, so a retry is refused instead of shown the code",
    ),
    (
        "admin revoke",
        "BUG (issue 11 item 7): the amount taken back is read outside the write; a retry says $0.00",
    ),
    (
        "admin expiry",
        "BUG (issue 11 item 7): the old date is read outside the write; a retry says (was <new date>)",
    ),
    (
        "unlink",
        "BUG (issue 11 item 7): the link is checked before the keyed write; a retry reads \"isn't linked\"",
    ),
    (
        "admin link",
        "BUG (issue 11 item 7): whether the account is new is read before the write; a retry drops \"(a new account)\"",
    ),
];

/// When the expiry sweep runs.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Sweeps {
    /// Whenever the plan draws a sweep, as the hourly sweeper would.
    AtRandomMoments,
    /// Never during the run; once at the end. The same events are drawn either way.
    OnlyAtTheEnd,
}

#[derive(Clone, Debug)]
pub struct Config {
    pub seed: u64,
    pub events: u64,
    pub sweeps: Sweeps,
    /// Check the invariants after every event (off only to time the bare simulation).
    pub checks: bool,
    /// Keep every feed request's outcome, for comparing two runs.
    pub record_feed: bool,
}

impl Config {
    pub fn new(seed: u64, events: u64) -> Self {
        Config {
            seed,
            events,
            sweeps: Sweeps::AtRandomMoments,
            checks: true,
            record_feed: false,
        }
    }
}

/// `CREDITBOT_SIM_SEED`, or the default seed.
pub fn seed_from_env() -> u64 {
    env_number("CREDITBOT_SIM_SEED").unwrap_or(DEFAULT_SEED)
}

/// `CREDITBOT_SIM_EVENTS`, or `default`.
pub fn events_from_env(default: u64) -> u64 {
    env_number("CREDITBOT_SIM_EVENTS").unwrap_or(default)
}

fn env_number(name: &str) -> Option<u64> {
    let text = std::env::var(name).ok()?;
    let digits: String = text.chars().filter(|c| *c != '_').collect();
    Some(
        digits
            .parse()
            .unwrap_or_else(|_| panic!("{name}={text} is not a number")),
    )
}

/// One feed request and what became of it, comparable between runs (no lot ids, which
/// depend on how many refund lots were issued before).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FeedRecord {
    pub event: u64,
    pub clock: DateTime<Utc>,
    pub request: String,
    pub outcome: String,
}

#[derive(Clone, Debug, Default)]
pub struct Stats {
    pub member_asks: u64,
    pub admin_asks: u64,
    pub feed_accepted: u64,
    pub feed_refused: u64,
    pub retries: u64,
    pub late_replays: u64,
    /// Retries that answered differently, by command (allowed only by the list above).
    pub retries_answered_differently: BTreeMap<String, u64>,
    pub checksums: u64,
    pub clock_jumps: u64,
    pub sweeps: u64,
    pub restarts: u64,
    pub full_checks: u64,
    pub foreign_order_probes: u64,
    pub balance_figures_checked: u64,
    pub links_redeemed: u64,
}

pub struct Report {
    /// SHA-256 over every event's outcome (link codes masked): equal for equal runs.
    pub digest: String,
    pub feed: Vec<FeedRecord>,
    /// Every account's balance at the end, after a last sweep.
    pub final_balances: Vec<(String, Credits)>,
    pub stats: Stats,
    pub end: DateTime<Utc>,
}

/// Runs the simulation; panics (naming the seed and event) when an invariant fails.
pub fn run(config: &Config) -> Report {
    let mut sim = Sim::new(config.clone());
    sim.setup();
    for n in 0..config.events {
        let after_write = sim.last_write.is_some();
        let event = sim
            .plan
            .next(&mut sim.rng, &sim.checker, sim.now, after_write);
        sim.apply(n, &event);
    }
    sim.finish()
}

/// The FAQ, trained once per process (each restart reuses it, as each test does).
fn faq() -> Arc<Faq> {
    static FAQ: OnceLock<Arc<Faq>> = OnceLock::new();
    FAQ.get_or_init(|| Arc::new(Faq::builtin().expect("the builtin FAQ")))
        .clone()
}

/// What a running process holds; dropped whole at a restart.
struct Running {
    ledger: Arc<Ledger>,
    assistant: Assistant,
}

impl Running {
    fn open(path: &std::path::Path) -> Running {
        let ledger = Arc::new(
            Ledger::open(path, &DatabaseConfig::default(), LedgerSettings::default())
                .expect("open the ledger"),
        );
        let admins = Admins {
            user_ids: (1..ADMINS).map(admin_id).collect(),
            role_ids: vec![ADMIN_ROLE.into()],
        };
        let assistant = Assistant::new(ledger.clone(), faq(), admins);
        Running { ledger, assistant }
    }
}

/// A write that can be sent again, with its first answer.
#[derive(Clone, Debug)]
enum Write {
    Ask(Request, Reply),
    Grant(FeedGrant, String),
    Order(FeedOrder, String),
    Return(FeedReturn, String),
}

/// A feed request's result: exact (for replays) and comparable between runs.
struct FeedOutcome {
    exact: String,
    comparable: String,
}

struct Sim {
    config: Config,
    rng: Rng,
    plan: Plan,
    checker: Checker,
    _dir: tempfile::TempDir,
    path: PathBuf,
    running: Option<Running>,
    now: DateTime<Utc>,
    writes: VecDeque<Write>,
    /// The previous event's write, for an immediate retry.
    last_write: Option<Write>,
    next_full_check: u64,
    replays_checked: u64,
    digest: Sha256,
    feed: Vec<FeedRecord>,
    stats: Stats,
    /// The latest events, shown when something fails.
    recent: VecDeque<String>,
    strict: bool,
    /// The account of each link code an admin made.
    code_accounts: HashMap<String, String>,
    codes: Regex,
    order_ids: Regex,
}

impl Sim {
    fn new(config: Config) -> Sim {
        let dir = tempfile::tempdir().expect("a temporary directory");
        let path = dir.path().join("sim.db");
        let running = Running::open(&path);
        let checker = Checker::open(&path);
        Sim {
            rng: Rng::new(config.seed),
            config,
            plan: Plan::default(),
            checker,
            _dir: dir,
            path,
            running: Some(running),
            now: Utc.with_ymd_and_hms(2026, 12, 1, 9, 0, 0).unwrap(),
            writes: VecDeque::new(),
            last_write: None,
            next_full_check: 2_000,
            replays_checked: 0,
            digest: Sha256::new(),
            feed: Vec::new(),
            stats: Stats::default(),
            recent: VecDeque::new(),
            strict: std::env::var_os("CREDITBOT_SIM_STRICT").is_some(),
            code_accounts: HashMap::new(),
            codes: Regex::new(r"\b[A-HJ-NP-Z2-9]{4}-[A-HJ-NP-Z2-9]{4}\b").unwrap(),
            order_ids: Regex::new(r"ORD-\d{7}").unwrap(),
        }
    }

    fn running(&self) -> &Running {
        self.running.as_ref().expect("a running process")
    }

    fn ledger(&self) -> &Ledger {
        &self.running().ledger
    }

    /// Opens most accounts as the store API would and links most members through admins.
    fn setup(&mut self) {
        for n in 0..ACCOUNTS {
            if self.rng.percent(90) {
                let id = account_id(n);
                let act = Act::new(FEED_ACTOR, self.now, format!("api:account:{id}"));
                self.ledger()
                    .open_account(&act, &AccountId::new(id.as_str()), &format!("Customer {n}"))
                    .expect("open an account");
            }
        }
        for (n, event) in self.plan.setup_links(&mut self.rng).iter().enumerate() {
            if let Event::Ask {
                asker,
                place,
                input,
            } = event
            {
                let request = self.request(format!("setup-{n}"), *asker, *place, input.clone());
                let reply = self.running().assistant.handle(&request);
                assert!(
                    reply.to_plain_text().starts_with("Linked "),
                    "setup: {}",
                    reply.to_plain_text()
                );
            }
        }
        self.checker.database_changed();
        let now = self.now;
        let result = self
            .checker
            .after_change(&self.running.as_ref().unwrap().ledger, now, &[])
            .and_then(|()| self.checker.full_check());
        if let Err(message) = result {
            panic!("setup, seed {}: {message}", self.config.seed);
        }
    }

    fn request(&self, id: String, asker: Asker, place: Place, input: Input) -> Request {
        let (user_id, role_ids) = match asker {
            Asker::Member(n) => (member_id(n), Vec::new()),
            // Admin 0 is an admin through a role only; the others by user id.
            Asker::Admin(0) => (admin_id(0), vec![ADMIN_ROLE.to_string()]),
            Asker::Admin(n) => (admin_id(n), Vec::new()),
        };
        Request {
            id,
            who: Who {
                display_name: format!("user {user_id}"),
                user_id,
                role_ids,
            },
            place,
            now: self.now,
            input,
        }
    }

    /// Panics with everything needed to replay the failure.
    fn fail(&self, n: u64, event: &Event, message: &str) -> ! {
        let recent: Vec<&str> = self.recent.iter().map(String::as_str).collect();
        panic!(
            "simulation failed: {message}\n  seed {seed}, event {n} of {events}, sweeps {sweeps:?}, clock {now}\n  event: {event:?}\n  replay: CREDITBOT_SIM_SEED={seed} CREDITBOT_SIM_EVENTS={upto} cargo test --test it simulation::\n  the events before it, oldest first:\n    {recent}",
            seed = self.config.seed,
            events = self.config.events,
            sweeps = self.config.sweeps,
            now = self.now,
            upto = n + 1,
            recent = recent.join("\n    "),
        )
    }

    fn note(&mut self, n: u64, event: &Event, outcome: &str) {
        let masked = self.codes.replace_all(outcome, "<code>");
        self.digest.update(format!("{n}|{masked}\n").as_bytes());
        self.recent.push_back(format!("{n}: {event:?}"));
        if self.recent.len() > 8 {
            self.recent.pop_front();
        }
    }

    fn apply(&mut self, n: u64, event: &Event) {
        let previous_write = self.last_write.take();
        let mut addressed: Vec<String> = Vec::new();
        let outcome = match event {
            Event::Ask {
                asker,
                place,
                input,
            } => {
                let request = self.request(format!("ix-{n}"), *asker, *place, input.clone());
                let (reply, accounts) = self.ask(n, event, &request);
                addressed.extend(accounts);
                serde_json::to_string(&reply).unwrap()
            }
            Event::Grant(grant) => {
                addressed.push(grant.account.clone());
                let result = self.feed_grant(grant);
                self.fed(n, event, format!("{grant:?}"), result, |exact| {
                    Write::Grant(grant.clone(), exact)
                })
            }
            Event::Order(order) => {
                addressed.push(order.account.clone());
                let result = self.feed_order(order);
                self.fed(n, event, format!("{order:?}"), result, |exact| {
                    Write::Order(order.clone(), exact)
                })
            }
            Event::Return(ret) => {
                let result = self.feed_return(ret);
                self.fed(n, event, format!("{ret:?}"), result, |exact| {
                    Write::Return(ret.clone(), exact)
                })
            }
            Event::Retry => {
                let write = previous_write
                    .unwrap_or_else(|| self.fail(n, event, "a retry with no write before it"));
                self.stats.retries += 1;
                self.replay(n, event, &write, true)
            }
            Event::LateReplay(pick) => match self.writes.len() {
                0 => "nothing to replay yet".to_string(),
                len => {
                    let write = self.writes[pick % len].clone();
                    self.stats.late_replays += 1;
                    self.replay(n, event, &write, false)
                }
            },
            Event::Clock(jump) => {
                self.now += *jump;
                self.stats.clock_jumps += 1;
                format!("clock {}", self.now)
            }
            Event::Sweep => match self.config.sweeps {
                Sweeps::AtRandomMoments => {
                    self.stats.sweeps += 1;
                    let report = self
                        .ledger()
                        .sweep_expired("sweeper", self.now)
                        .unwrap_or_else(|e| self.fail(n, event, &format!("sweep: {e}")));
                    format!("swept {report:?}")
                }
                Sweeps::OnlyAtTheEnd => "no sweep in this run".to_string(),
            },
            Event::Restart => {
                self.running = None;
                self.running = Some(Running::open(&self.path));
                self.stats.restarts += 1;
                "restarted".to_string()
            }
        };
        self.note(n, event, &outcome);
        if self.config.checks {
            self.check_step(n, event, &addressed);
        } else {
            self.checker.database_changed();
        }
    }

    /// The invariants after a step: money and balances for whatever changed, and everything
    /// from scratch every so often.
    fn check_step(&mut self, n: u64, event: &Event, addressed: &[String]) {
        if self.checker.database_changed() {
            let now = self.now;
            let ledger = self.running.as_ref().unwrap().ledger.clone();
            if let Err(message) = self.checker.after_change(&ledger, now, addressed) {
                self.fail(n, event, &message);
            }
        }
        if n + 1 >= self.next_full_check {
            self.full_check(n, event);
            self.next_full_check = n + 1 + (n / 8).max(2_000);
        }
    }

    fn full_check(&mut self, n: u64, event: &Event) {
        self.stats.full_checks += 1;
        if let Err(message) = self.checker.full_check() {
            self.fail(n, event, &format!("full check: {message}"));
        }
    }

    /// A member's or admin's request: the reply, checked, and the accounts it concerned.
    fn ask(&mut self, n: u64, event: &Event, request: &Request) -> (Reply, Vec<String>) {
        let member = matches!(
            event,
            Event::Ask {
                asker: Asker::Member(_),
                ..
            }
        );
        let before = self.checker.account_of_member(&request.who.user_id);
        let reply = self.running().assistant.handle(request);
        let changed = self.checker.peek_changed();
        let after = self.checker.account_of_member(&request.who.user_id);
        let text = serde_json::to_string(&reply).unwrap();
        if text.contains("something went wrong on my side") {
            self.fail(n, event, &format!("internal error: {text}"));
        }
        let own: Vec<String> = before.iter().chain(after.iter()).cloned().collect();
        if member {
            self.stats.member_asks += 1;
            self.check_member_reply(n, event, request, &reply, &own);
        } else {
            self.stats.admin_asks += 1;
        }
        if let Input::Command { path, .. } = &request.input {
            if path == "admin code"
                && let Some(code) = self.codes.find(&reply.text)
                && let Some(account) = self.checker.account_ids(&reply.text).first()
            {
                let code = code.as_str().to_string();
                self.code_accounts.insert(code.clone(), account.clone());
                self.plan.hand_out_code(&mut self.rng, &self.checker, code);
            }
            if path == "link" && reply.text.starts_with("Linked!") {
                self.stats.links_redeemed += 1;
            }
            if changed && WRITE_COMMANDS.contains(&path.as_str()) {
                self.remember(Write::Ask(request.clone(), reply.clone()));
            }
        }
        (reply, own)
    }

    /// What a member reads: nobody else's ids, the ledger's own balance, and about someone
    /// else's order exactly what an order that doesn't exist reads.
    fn check_member_reply(
        &mut self,
        n: u64,
        event: &Event,
        request: &Request,
        reply: &Reply,
        own: &[String],
    ) {
        let asked = match &request.input {
            Input::Command { options, .. } => options
                .iter()
                .map(|(_, value)| value.as_str())
                .collect::<Vec<_>>()
                .join(" "),
            Input::Text(text) => text.clone(),
            Input::Choice(id) => id.clone(),
        };
        // Whoever holds a link code may read which account it is for.
        let mut visible = own.to_vec();
        if let Input::Command { path, options } = &request.input
            && path == "link"
        {
            let code = options.iter().find(|(name, _)| name == "code");
            visible.extend(
                code.and_then(|(_, code)| self.code_accounts.get(code))
                    .cloned(),
            );
        }
        let text = serde_json::to_string(reply).unwrap();
        let foreign = self.checker.foreign_ids(
            &text,
            &asked,
            &request.who.user_id,
            &visible,
            !reply.private,
        );
        if !foreign.is_empty() {
            self.fail(
                n,
                event,
                &format!(
                    "a reply to member {} (accounts {own:?}) names {foreign:?}:\n{}",
                    request.who.user_id,
                    reply.to_plain_text()
                ),
            );
        }
        if let (Input::Command { path, .. }, Some(account)) = (&request.input, own.first())
            && path == "balance"
        {
            let balance = self
                .ledger()
                .balance(&AccountId::new(account.as_str()), self.now)
                .unwrap_or_else(|e| self.fail(n, event, &format!("balance: {e}")));
            let figure = format!(
                "Available  {}",
                self.ledger().currency().format(balance.available)
            );
            if !reply.to_plain_text().contains(&figure) {
                self.fail(
                    n,
                    event,
                    &format!(
                        "/balance should show {figure:?}:\n{}",
                        reply.to_plain_text()
                    ),
                );
            }
            self.stats.balance_figures_checked += 1;
        }
        let named: Vec<String> = self
            .order_ids
            .find_iter(&asked)
            .map(|m| m.as_str().to_string())
            .collect();
        for order in &named {
            let theirs = self
                .checker
                .owner_of_order(order)
                .is_some_and(|owner| !own.contains(&owner));
            if theirs {
                self.probe_foreign_order(n, event, request, reply, order);
            }
        }
    }

    /// Asks the same again about an order that doesn't exist: with the id put back, the two
    /// answers must be the same, so the first told nothing about the other member's order.
    fn probe_foreign_order(
        &mut self,
        n: u64,
        event: &Event,
        request: &Request,
        reply: &Reply,
        order: &str,
    ) {
        self.stats.foreign_order_probes += 1;
        let input = match &request.input {
            Input::Command { path, options } => Input::Command {
                path: path.clone(),
                options: options
                    .iter()
                    .map(|(k, v)| (k.clone(), v.replace(order, NEVER_AN_ORDER)))
                    .collect(),
            },
            Input::Text(text) => Input::Text(text.replace(order, NEVER_AN_ORDER)),
            Input::Choice(id) => Input::Choice(id.clone()),
        };
        let probe = Request {
            id: format!("{}-probe", request.id),
            input,
            ..request.clone()
        };
        let unknown = self.running().assistant.handle(&probe);
        let unknown = serde_json::to_string(&unknown)
            .unwrap()
            .replace(NEVER_AN_ORDER, order);
        let seen = serde_json::to_string(reply).unwrap();
        if unknown != seen {
            self.fail(
                n,
                event,
                &format!(
                    "about another account's order {order}, member {} read:\n{seen}\nbut about an order that doesn't exist:\n{unknown}",
                    request.who.user_id
                ),
            );
        }
    }

    fn remember(&mut self, write: Write) {
        self.last_write = Some(write.clone());
        self.writes.push_back(write);
        if self.writes.len() > REPLAYABLE {
            self.writes.pop_front();
        }
    }

    /// Books a feed request's result: a refusal must have changed nothing, an acceptance
    /// something; accepted ones can be replayed.
    fn fed(
        &mut self,
        n: u64,
        event: &Event,
        request: String,
        result: Result<FeedOutcome, Error>,
        write: impl FnOnce(String) -> Write,
    ) -> String {
        let changed = self.checker.peek_changed();
        let (exact, comparable) = match result {
            Ok(outcome) => {
                if !changed {
                    self.fail(n, event, "an accepted feed request changed nothing");
                }
                self.stats.feed_accepted += 1;
                self.remember(write(outcome.exact.clone()));
                (outcome.exact, outcome.comparable)
            }
            Err(Error::User(refusal)) => {
                if changed {
                    self.fail(
                        n,
                        event,
                        &format!("a refused feed request ({refusal}) changed the database"),
                    );
                }
                self.stats.feed_refused += 1;
                let text = format!("refused: {refusal}");
                (text.clone(), text)
            }
            Err(error) => self.fail(n, event, &format!("internal error: {error}")),
        };
        if self.config.record_feed {
            self.feed.push(FeedRecord {
                event: n,
                clock: self.now,
                request,
                outcome: comparable,
            });
        }
        exact
    }

    fn feed_grant(&self, grant: &FeedGrant) -> Result<FeedOutcome, Error> {
        let input = GrantIn {
            key: Some(grant.key.clone()),
            account: grant.account.clone(),
            amount: grant.amount.clone(),
            source: grant.source.clone(),
            reason: String::new(),
            expires: grant.expires.clone(),
            at: grant.at,
        };
        let ledger = self.ledger();
        let (request, at) = input
            .to_request(ledger.currency(), self.now)
            .map_err(|e| Error::User(e.error))?;
        let act = Act::new(FEED_ACTOR, at, feed_grant_key(&grant.key));
        let lot = ledger.grant(&act, &request)?;
        Ok(FeedOutcome {
            comparable: format!(
                "granted {:?} to {} expiring {:?}",
                lot.amount, lot.account_id, lot.expires_at
            ),
            exact: format!("{lot:?}"),
        })
    }

    fn feed_order(&self, order: &FeedOrder) -> Result<FeedOutcome, Error> {
        let input = OrderIn {
            id: order.id.clone(),
            account: order.account.clone(),
            items: order
                .items
                .iter()
                .map(|item| ItemIn {
                    sku: item.sku.to_string(),
                    title: item.title.to_string(),
                    kind: item.kind,
                    unit_price: item.unit_price.clone(),
                    quantity: item.quantity,
                })
                .collect(),
            credits: order.credits.clone(),
            method: order.method.clone(),
            at: order.at,
        };
        let ledger = self.ledger();
        let (request, at) = input
            .to_request(ledger.currency(), self.now)
            .map_err(|e| Error::User(e.error))?;
        let receipt = ledger.record_order(FEED_ACTOR, at, &request)?;
        let spent: Vec<(usize, Credits)> = receipt
            .allocations
            .iter()
            .map(|a| (a.line, a.amount))
            .collect();
        Ok(FeedOutcome {
            comparable: format!(
                "order of {:?}: credits {:?}, other {:?}, by line {spent:?}",
                receipt.total, receipt.credits_applied, receipt.other_amount
            ),
            exact: format!("{receipt:?}"),
        })
    }

    fn feed_return(&self, ret: &FeedReturn) -> Result<FeedOutcome, Error> {
        let input = ReturnIn {
            id: ret.id.clone(),
            order: ret.order.clone(),
            items: ret.items.as_ref().map(|items| {
                items
                    .iter()
                    .map(|(sku, quantity)| ReturnItemIn {
                        sku: sku.clone(),
                        quantity: *quantity,
                    })
                    .collect()
            }),
            reason: String::new(),
            at: ret.at,
        };
        let (request, at) = input
            .to_request(self.now)
            .map_err(|e| Error::User(e.error))?;
        let receipt = self.ledger().record_return(FEED_ACTOR, at, &request)?;
        Ok(FeedOutcome {
            comparable: format!(
                "return: restored {:?}, reissued {:?}, expired at once {:?}, revoked at once {:?}, other {:?}",
                receipt.credits_restored,
                receipt
                    .reissued
                    .as_ref()
                    .map(|lot| (lot.amount, lot.expires_at)),
                receipt.expired_at_once,
                receipt.revoked_at_once,
                receipt.other_refunded
            ),
            exact: format!("{receipt:?}"),
        })
    }

    /// Sends an earlier write again: nothing may change. A feed request answers exactly its
    /// first result; a retried command (`at_once`) answers exactly as the first time.
    fn replay(&mut self, n: u64, event: &Event, write: &Write, at_once: bool) -> String {
        self.replays_checked += 1;
        let checksum = self.config.checks
            && (self.replays_checked.is_power_of_two() || self.replays_checked % 1_024 == 0);
        let before = checksum.then(|| self.ledger().content_checksum().unwrap());
        let (answer, first, command) = match write {
            Write::Ask(request, first) => {
                let again = Request {
                    now: self.now,
                    ..request.clone()
                };
                let reply = self.running().assistant.handle(&again);
                let path = match &request.input {
                    Input::Command { path, .. } => path.clone(),
                    _ => String::new(),
                };
                (
                    serde_json::to_string(&reply).unwrap(),
                    serde_json::to_string(first).unwrap(),
                    Some(path),
                )
            }
            Write::Grant(grant, first) => {
                (self.replayed(self.feed_grant(grant)), first.clone(), None)
            }
            Write::Order(order, first) => {
                (self.replayed(self.feed_order(order)), first.clone(), None)
            }
            Write::Return(ret, first) => {
                (self.replayed(self.feed_return(ret)), first.clone(), None)
            }
        };
        if answer.contains("something went wrong on my side") {
            self.fail(n, event, &format!("internal error on a replay: {answer}"));
        }
        if self.checker.database_changed() {
            self.fail(
                n,
                event,
                &format!("a replay changed the database: {write:?}\nanswer: {answer}"),
            );
        }
        if let Some(before) = before {
            self.stats.checksums += 1;
            if self.ledger().content_checksum().unwrap() != before {
                self.fail(n, event, "a replay changed the content checksum");
            }
        }
        match command {
            // A feed request replayed with its key answers its first result, however late.
            None if answer != first => self.fail(
                n,
                event,
                &format!(
                    "a replayed feed request answered\n{answer}\nnot its first result\n{first}"
                ),
            ),
            Some(path) if at_once && answer != first => {
                let allowed =
                    !self.strict && RETRY_MAY_ANSWER_DIFFERENTLY.iter().any(|(p, _)| *p == path);
                if !allowed {
                    self.fail(
                        n,
                        event,
                        &format!(
                            "a retried /{path} answered\n{answer}\nnot as the first time\n{first}"
                        ),
                    );
                }
                *self
                    .stats
                    .retries_answered_differently
                    .entry(path)
                    .or_default() += 1;
            }
            _ => {}
        }
        answer
    }

    fn replayed(&self, result: Result<FeedOutcome, Error>) -> String {
        match result {
            Ok(outcome) => outcome.exact,
            Err(error) => format!("refused: {error}"),
        }
    }

    /// A last sweep, a full check and SQLite's own integrity check; the final balances.
    fn finish(mut self) -> Report {
        let n = self.config.events;
        let event = Event::Sweep;
        self.stats.sweeps += 1;
        let now = self.now;
        let report = self
            .ledger()
            .sweep_expired("sweeper", now)
            .unwrap_or_else(|e| self.fail(n, &event, &format!("final sweep: {e}")));
        self.note(n, &event, &format!("final sweep {report:?}"));
        self.checker.database_changed();
        let ledger = self.running().ledger.clone();
        if self.config.checks {
            if let Err(message) = self.checker.after_change(&ledger, now, &[]) {
                self.fail(n, &event, &message);
            }
            self.full_check(n, &event);
            if let Err(e) = ledger.integrity_check() {
                self.fail(n, &event, &format!("integrity check: {e}"));
            }
        }
        let final_balances = (0..ACCOUNTS)
            .map(account_id)
            .filter_map(|id| {
                let balance = ledger.balance(&AccountId::new(id.as_str()), now).ok()?;
                Some((id, balance.available))
            })
            .collect();
        Report {
            digest: hex::encode(self.digest.finalize_reset()),
            feed: std::mem::take(&mut self.feed),
            final_balances,
            stats: self.stats.clone(),
            end: now,
        }
    }
}

/// Where two runs of the same events part: the first feed request whose outcome differs, or
/// else the accounts whose final balances differ. `None` when they agree.
pub fn first_difference(a: &Report, b: &Report) -> Option<String> {
    for (x, y) in a.feed.iter().zip(&b.feed) {
        if x.request != y.request {
            return Some(format!(
                "the runs drew different events from event {} on (their worlds had already parted):\n  {}\n  {}",
                x.event.min(y.event),
                x.request,
                y.request
            ));
        }
        if x.outcome != y.outcome {
            return Some(format!(
                "first diverging event: {} (clock {})\n  request: {}\n  with sweeps:    {}\n  without sweeps: {}",
                x.event, x.clock, x.request, x.outcome, y.outcome
            ));
        }
    }
    if a.feed.len() != b.feed.len() {
        return Some(format!(
            "{} feed requests in one run, {} in the other",
            a.feed.len(),
            b.feed.len()
        ));
    }
    let balances: Vec<String> = a
        .final_balances
        .iter()
        .zip(&b.final_balances)
        .filter(|(x, y)| x != y)
        .map(|(x, y)| format!("{}: {:?} vs {:?}", x.0, x.1, y.1))
        .collect();
    (!balances.is_empty() || a.final_balances.len() != b.final_balances.len()).then(|| {
        format!(
            "every feed request came out the same, but final balances differ at {}: {}",
            a.end,
            balances.join("; ")
        )
    })
}
