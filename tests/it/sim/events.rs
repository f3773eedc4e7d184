//! What happens in the simulated world, one event at a time, and the plan that draws the
//! events from the seeded PRNG.
//!
//! Events are drawn one by one, each after the previous one was applied, so a choice may look
//! at the world (which account a member is linked to now, their latest orders, the highest
//! grant number): two runs of one seed then draw the same events for as long as their worlds
//! agree, which is what the sweep comparison needs. Nothing here reads lots' remaining
//! amounts or the journal, which are what a sweep changes.

use std::collections::VecDeque;

use chrono::{DateTime, Duration, Utc};
use creditbot::assistant::{Input, Place};
use creditbot::ledger::ItemKind;

use super::checks::Checker;
use super::rng::Rng;

pub const MEMBERS: usize = 120;
pub const ADMINS: usize = 5;
pub const ACCOUNTS: usize = 150;
/// Returns and questions pick among this many of the latest orders (memory stays bounded
/// however long the run).
const ORDER_WINDOW: usize = 20_000;
/// An order id that is never fed: the answer about another member's order must read exactly
/// like the answer about this one.
pub const NEVER_AN_ORDER: &str = "ORD-0000000";

/// A member's Discord id: 18 digits starting with 4 (admins' start with 5), so a member id in
/// a reply can't be mistaken for any other number.
pub fn member_id(n: usize) -> String {
    format!("{}", 400_000_000_000_000_001u64 + n as u64)
}

pub fn admin_id(n: usize) -> String {
    format!("{}", 500_000_000_000_000_001u64 + n as u64)
}

pub fn account_id(n: usize) -> String {
    format!("ACC-{:05}", 70_001 + n)
}

fn order_id(n: u64) -> String {
    format!("ORD-{:07}", 1_000_001 + n)
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Asker {
    Member(usize),
    Admin(usize),
}

/// A grant as the shop feeds it (`wire::GrantIn`'s fields).
#[derive(Clone, Debug)]
pub struct FeedGrant {
    pub key: String,
    pub account: String,
    pub amount: String,
    pub source: Option<String>,
    pub expires: Option<String>,
    pub at: Option<DateTime<Utc>>,
}

#[derive(Clone, Debug)]
pub struct FeedItem {
    pub sku: &'static str,
    pub title: &'static str,
    pub kind: ItemKind,
    pub unit_price: String,
    pub quantity: i64,
}

/// An order as the shop feeds it (`wire::OrderIn`'s fields).
#[derive(Clone, Debug)]
pub struct FeedOrder {
    pub id: String,
    pub account: String,
    pub items: Vec<FeedItem>,
    pub credits: Option<String>,
    pub method: Option<String>,
    pub at: Option<DateTime<Utc>>,
}

/// A return as the shop feeds it (`wire::ReturnIn`'s fields).
#[derive(Clone, Debug)]
pub struct FeedReturn {
    pub id: String,
    pub order: String,
    pub items: Option<Vec<(String, i64)>>,
    pub at: Option<DateTime<Utc>>,
}

#[derive(Clone, Debug)]
pub enum Event {
    /// A member or an admin asks the assistant, as a transport would.
    Ask {
        asker: Asker,
        place: Place,
        input: Input,
    },
    Grant(FeedGrant),
    Order(FeedOrder),
    Return(FeedReturn),
    /// The write of the event just before, sent again at once (a transport's retry).
    Retry,
    /// An earlier accepted write sent again, later: the number is drawn here and taken
    /// modulo the number of writes remembered.
    LateReplay(usize),
    Clock(Duration),
    Sweep,
    /// The process stops and starts: the ledger and assistant are dropped and the database
    /// file is opened again.
    Restart,
}

/// Items the shop sells: digital ones credits may pay for, physical ones they may not.
const CATALOG: &[(&str, &str, ItemKind)] = &[
    ("hobbit-ebook", "The Hobbit (ebook)", ItemKind::Digital),
    ("blue-album", "Kind of Blue (album)", ItemKind::Digital),
    ("heat-film", "Heat (film, HD)", ItemKind::Digital),
    ("notes-app", "Notes Pro (app)", ItemKind::Digital),
    ("desk-lamp", "Desk lamp", ItemKind::Physical),
    ("logo-mug", "Logo mug", ItemKind::Physical),
];

const SOURCES: &[&str] = &["gift", "promotion", "goodwill", "refund", "admin"];

const TOPICS: &[&str] = &[
    "about", "balance", "earn", "buy", "expiry", "transfer", "refund", "cash", "physical",
    "combine", "order", "history", "source", "link", "help", "thanks", "weather",
];

/// What members ask in their own words. `{own}` is one of the asker's orders, `{other}` another
/// account's, `{amount}` an amount, `{date}` a date ahead, `{member}` another member's id.
const QUESTIONS: &[&str] = &[
    "how much credit do i have",
    "whats my bal",
    "chek balance",
    "when do my credits expire",
    "will my {amount} expire before christmas?",
    "does any of my credit expire by {date}?",
    "can i give my credits to my brother",
    "can i send {amount} of credits to <@{member}>?",
    "I returned an ebook, where did the credit go?",
    "what happens to my credits if i return something",
    "was credit used on order {own}?",
    "was credit used on order {other}?",
    "did my credits pay for order #{own}",
    "order {other}",
    "were credits used on my orders",
    "my credits disappeared?? i had like 40 yesterday now its less",
    "who gave me the {amount} gift",
    "where did these credits come from",
    "can i use my credit on a lamp?",
    "can i pay with credits and a card together",
    "can i cash out my credits",
    "where can i buy more credits",
    "how do i link my discord to my shop account",
    "can i transfer credits and do they expire",
    "how much do i have and when does it expire?",
    "thanks!!",
    "hi",
    "what's the weather like in lisbon",
    "/balance",
    "/order {own}",
    "/history 2",
    "/expiry 60",
    "2",
];

/// The plan's memory: counters for fresh ids, the latest orders fed, link codes handed out.
pub struct Plan {
    orders_fed: u64,
    returns_fed: u64,
    grants_fed: u64,
    admin_returns: u64,
    /// (order id, account index, its SKUs), newest last.
    orders: VecDeque<(String, usize, Vec<&'static str>)>,
    /// A code an admin made, handed to this member to redeem.
    codes: Vec<Option<String>>,
    /// Codes already handed out once (redeeming one again must fail).
    spent_codes: VecDeque<String>,
}

impl Default for Plan {
    fn default() -> Self {
        Plan {
            orders_fed: 0,
            returns_fed: 0,
            grants_fed: 0,
            admin_returns: 0,
            orders: VecDeque::new(),
            codes: vec![None; MEMBERS],
            spent_codes: VecDeque::new(),
        }
    }
}

/// Relative weights of the kinds of event (a retry is drawn before these, after a write).
const MEMBER_COMMAND: u64 = 300;
const MEMBER_WORDS: u64 = 200;
const MEMBER_TRIES_ADMIN: u64 = 20;
const ADMIN_COMMAND: u64 = 130;
const FEED_GRANT: u64 = 90;
const FEED_ORDER: u64 = 90;
const FEED_RETURN: u64 = 40;
const LATE_REPLAY: u64 = 30;
const CLOCK: u64 = 30;
const SWEEP: u64 = 15;
const RESTART: u64 = 1;
/// Percent of accepted writes retried at once.
const RETRY_PERCENT: u64 = 15;

impl Plan {
    /// A link code an admin made: a member gets it, to redeem with `/link` later; mostly one
    /// who isn't linked (the one the admin made it for), sometimes anyone.
    pub fn hand_out_code(&mut self, rng: &mut Rng, world: &Checker, code: String) {
        let mut member = rng.index(MEMBERS);
        for _ in 0..8 {
            if world.account_of_member(&member_id(member)).is_none() {
                break;
            }
            member = rng.index(MEMBERS);
        }
        if let Some(old) = self.codes[member].replace(code) {
            self.remember_spent(old);
        }
    }

    fn remember_spent(&mut self, code: String) {
        self.spent_codes.push_back(code);
        if self.spent_codes.len() > 100 {
            self.spent_codes.pop_front();
        }
    }

    /// The next event. `after_write`: the previous event wrote something a retry could repeat.
    pub fn next(
        &mut self,
        rng: &mut Rng,
        world: &Checker,
        now: DateTime<Utc>,
        after_write: bool,
    ) -> Event {
        if after_write && rng.percent(RETRY_PERCENT) {
            return Event::Retry;
        }
        let weights = [
            MEMBER_COMMAND,
            MEMBER_WORDS,
            MEMBER_TRIES_ADMIN,
            ADMIN_COMMAND,
            FEED_GRANT,
            FEED_ORDER,
            FEED_RETURN,
            LATE_REPLAY,
            CLOCK,
            SWEEP,
            RESTART,
        ];
        match rng.weighted(&weights) {
            0 => self.member_command(rng, world, now),
            1 => self.member_words(rng, world, now),
            2 => {
                let (path, options) = self.admin_command(rng, world);
                Event::Ask {
                    asker: Asker::Member(rng.index(MEMBERS)),
                    place: place(rng),
                    input: command(path, options),
                }
            }
            3 => {
                let (path, options) = self.admin_command(rng, world);
                Event::Ask {
                    asker: Asker::Admin(rng.index(ADMINS)),
                    place: place(rng),
                    input: command(path, options),
                }
            }
            4 => Event::Grant(self.feed_grant(rng, now)),
            5 => Event::Order(self.feed_order(rng, now)),
            6 => match self.feed_return(rng, now) {
                Some(ret) => Event::Return(ret),
                None => Event::Order(self.feed_order(rng, now)),
            },
            7 => Event::LateReplay(rng.index(usize::MAX)),
            8 => Event::Clock(clock_jump(rng)),
            9 => Event::Sweep,
            _ => Event::Restart,
        }
    }

    /// Links most members to their own account at the start, as admins would.
    pub fn setup_links(&self, rng: &mut Rng) -> Vec<Event> {
        let mut links = Vec::new();
        for member in 0..MEMBERS {
            if rng.percent(75) {
                links.push(Event::Ask {
                    asker: Asker::Admin(rng.index(ADMINS)),
                    place: Place::DirectMessage,
                    input: command(
                        "admin link",
                        vec![
                            ("member", format!("<@{}>", member_id(member))),
                            ("account", account_id(member)),
                            // Some accounts aren't open yet: the admin says to create them.
                            ("create", "true".into()),
                        ],
                    ),
                });
            }
        }
        links
    }

    fn member_command(&mut self, rng: &mut Rng, world: &Checker, now: DateTime<Utc>) -> Event {
        let member = rng.index(MEMBERS);
        let (path, options): (&str, Vec<(&str, String)>) =
            match rng.weighted(&[30, 10, 10, 20, 4, 6, 5, 6, 2, 3]) {
                0 => ("balance", vec![]),
                1 => (
                    "expiry",
                    if rng.percent(50) {
                        vec![("days", rng.range(1, 400).to_string())]
                    } else {
                        vec![]
                    },
                ),
                2 => (
                    "history",
                    if rng.percent(40) {
                        vec![("page", rng.range(1, 4).to_string())]
                    } else {
                        vec![]
                    },
                ),
                3 => ("order", vec![("id", self.some_order(rng, world, member))]),
                4 => (
                    "transfer",
                    vec![
                        ("to", format!("<@{}>", member_id(rng.index(MEMBERS)))),
                        ("amount", amount(rng)),
                    ],
                ),
                5 => ("faq", vec![("topic", rng.pick(TOPICS).to_string())]),
                6 => {
                    let question = self.question(rng, world, member, now);
                    ("ask", vec![("question", question)])
                }
                7 => ("link", vec![("code", self.code_to_try(rng, member))]),
                8 => ("unlink", vec![]),
                _ => ("help", vec![]),
            };
        Event::Ask {
            asker: Asker::Member(member),
            place: place(rng),
            input: command(path, options),
        }
    }

    fn member_words(&mut self, rng: &mut Rng, world: &Checker, now: DateTime<Utc>) -> Event {
        let member = rng.index(MEMBERS);
        let input = if rng.percent(5) {
            Input::Choice(format!("faq:{}", rng.pick(TOPICS)))
        } else {
            Input::Text(self.question(rng, world, member, now))
        };
        Event::Ask {
            asker: Asker::Member(member),
            place: place(rng),
            input,
        }
    }

    /// A question from the list with its blanks filled in.
    fn question(
        &mut self,
        rng: &mut Rng,
        world: &Checker,
        member: usize,
        now: DateTime<Utc>,
    ) -> String {
        let template = *rng.pick(QUESTIONS);
        let mut question = template.to_string();
        if question.contains("{own}") {
            question = question.replace("{own}", &self.own_order(rng, world, member));
        }
        if question.contains("{other}") {
            question = question.replace("{other}", &self.others_order(rng, world, member));
        }
        if question.contains("{amount}") {
            question = question.replace("{amount}", &format!("${}", rng.range(1, 60)));
        }
        if question.contains("{date}") {
            let date = now + Duration::days(rng.range(1, 120));
            question = question.replace("{date}", &date.format("%Y-%m-%d").to_string());
        }
        if question.contains("{member}") {
            question = question.replace("{member}", &member_id(rng.index(MEMBERS)));
        }
        question
    }

    /// One of the member's own orders (half the time), another account's, or none at all.
    fn some_order(&mut self, rng: &mut Rng, world: &Checker, member: usize) -> String {
        match rng.weighted(&[50, 35, 15]) {
            0 => self.own_order(rng, world, member),
            1 => self.others_order(rng, world, member),
            _ => order_id(self.orders_fed + 500_000 + rng.below(1_000)),
        }
    }

    fn own_order(&mut self, rng: &mut Rng, world: &Checker, member: usize) -> String {
        let mine = world
            .account_of_member(&member_id(member))
            .map(|account| world.orders_of(&account, 5))
            .unwrap_or_default();
        if mine.is_empty() {
            self.others_order(rng, world, member)
        } else {
            rng.pick(&mine).clone()
        }
    }

    fn others_order(&mut self, rng: &mut Rng, world: &Checker, member: usize) -> String {
        let mine = world.account_of_member(&member_id(member));
        for _ in 0..4 {
            if self.orders.is_empty() {
                break;
            }
            let (id, account, _) = &self.orders[rng.index(self.orders.len())];
            if mine.as_deref() != Some(account_id(*account).as_str()) {
                return id.clone();
            }
        }
        NEVER_AN_ORDER.to_string()
    }

    fn code_to_try(&mut self, rng: &mut Rng, member: usize) -> String {
        if let Some(code) = self.codes[member].take().filter(|_| rng.percent(85)) {
            self.remember_spent(code.clone());
            return code;
        }
        if !self.spent_codes.is_empty() && rng.percent(50) {
            return self.spent_codes[rng.index(self.spent_codes.len())].clone();
        }
        "ZZZZ-9999".to_string()
    }

    /// An admin command: mostly well formed, about random members, accounts, grants, orders.
    fn admin_command(
        &mut self,
        rng: &mut Rng,
        world: &Checker,
    ) -> (&'static str, Vec<(&'static str, String)>) {
        let member = format!("<@{}>", member_id(rng.index(MEMBERS)));
        let grant = format!("#{}", rng.range(1, world.max_lot_id().max(1) + 2));
        match rng.weighted(&[30, 8, 8, 10, 4, 8, 8, 4, 12, 2]) {
            0 => {
                let mut options = vec![("member", member), ("amount", amount(rng))];
                match rng.weighted(&[40, 15, 15, 10, 10, 10]) {
                    0 => {}
                    1 => options.push(("expires", "30".into())),
                    2 => options.push(("expires", "7".into())),
                    3 => options.push(("expires", "never".into())),
                    4 => options.push(("expires", format!("{}d", rng.range(1, 3)))),
                    _ => options.push(("expires", "2020-01-01".into())),
                }
                if rng.percent(50) {
                    options.push(("source", rng.pick(SOURCES).to_string()));
                }
                if rng.percent(50) {
                    options.push(("reason", "late delivery".into()));
                }
                ("admin grant", options)
            }
            1 => {
                let mut options = vec![("grant", grant), ("reason", "duplicate".into())];
                if rng.percent(30) {
                    options.push(("member", member));
                }
                ("admin revoke", options)
            }
            2 => {
                let date = match rng.weighted(&[40, 30, 30]) {
                    0 => rng.range(1, 90).to_string(),
                    1 => "never".into(),
                    _ => "2020-01-01".into(),
                };
                let mut options = vec![
                    ("grant", grant),
                    ("date", date),
                    ("reason", "kindness".into()),
                ];
                if rng.percent(30) {
                    options.push(("member", member));
                }
                ("admin expiry", options)
            }
            3 => {
                let mut options = vec![
                    ("member", member),
                    ("account", account_id(rng.index(ACCOUNTS))),
                ];
                // Without create:true a link to an account not yet open is refused.
                if rng.percent(50) {
                    options.push(("create", "true".into()));
                }
                ("admin link", options)
            }
            4 => ("admin unlink", vec![("member", member)]),
            5 => (
                "admin code",
                vec![("account", account_id(rng.index(ACCOUNTS)))],
            ),
            6 => ("admin account", vec![("member", member)]),
            7 => (
                "admin history",
                vec![("member", member), ("page", rng.range(1, 3).to_string())],
            ),
            8 => match self.orders.is_empty() {
                true => ("admin unanswered", vec![]),
                false => {
                    self.admin_returns += 1;
                    let (order, _, skus) = self.recent_order(rng);
                    let mut options = vec![
                        ("order", order),
                        ("return-id", format!("RET-A{:07}", self.admin_returns)),
                    ];
                    if rng.percent(50) {
                        options.push(("item", rng.pick(&skus).to_string()));
                        if rng.percent(30) {
                            options.push(("quantity", rng.range(1, 2).to_string()));
                        }
                    }
                    ("admin return", options)
                }
            },
            _ => ("admin unanswered", vec![]),
        }
    }

    /// A recently fed order (returns come mostly soon after the purchase).
    fn recent_order(&self, rng: &mut Rng) -> (String, usize, Vec<&'static str>) {
        let len = self.orders.len();
        let back = if rng.percent(80) { len.min(300) } else { len };
        self.orders[len - 1 - rng.index(back)].clone()
    }

    fn feed_grant(&mut self, rng: &mut Rng, now: DateTime<Utc>) -> FeedGrant {
        self.grants_fed += 1;
        FeedGrant {
            key: format!("G-{:07}", self.grants_fed),
            account: account_id(rng.index(ACCOUNTS)),
            amount: amount(rng),
            source: rng.percent(70).then(|| rng.pick(SOURCES).to_string()),
            expires: match rng.weighted(&[50, 15, 10, 10, 15]) {
                0 => None,
                1 => Some("30".into()),
                2 => Some("7".into()),
                3 => Some("never".into()),
                _ => Some("90".into()),
            },
            at: backdated(rng, now),
        }
    }

    fn feed_order(&mut self, rng: &mut Rng, now: DateTime<Utc>) -> FeedOrder {
        self.orders_fed += 1;
        let id = order_id(self.orders_fed);
        let account = rng.index(ACCOUNTS);
        let mut skus: Vec<usize> = Vec::new();
        for _ in 0..rng.range(1, 3) {
            let sku = rng.index(CATALOG.len());
            if !skus.contains(&sku) {
                skus.push(sku);
            }
        }
        let items: Vec<FeedItem> = skus
            .iter()
            .map(|&n| FeedItem {
                sku: CATALOG[n].0,
                title: CATALOG[n].1,
                kind: CATALOG[n].2,
                unit_price: format!("{}.{:02}", rng.range(0, 59), rng.range(0, 99)),
                quantity: rng.range(1, 3),
            })
            .collect();
        self.orders
            .push_back((id.clone(), account, items.iter().map(|i| i.sku).collect()));
        if self.orders.len() > ORDER_WINDOW {
            self.orders.pop_front();
        }
        FeedOrder {
            id,
            account: account_id(account),
            items,
            credits: match rng.weighted(&[60, 10, 30]) {
                0 => None,
                1 => Some("none".into()),
                _ => Some(amount(rng)),
            },
            method: match rng.weighted(&[85, 10, 5]) {
                0 => Some("Visa".into()),
                1 => Some("Mastercard".into()),
                _ => None,
            },
            at: backdated(rng, now),
        }
    }

    fn feed_return(&mut self, rng: &mut Rng, now: DateTime<Utc>) -> Option<FeedReturn> {
        if self.orders.is_empty() {
            return None;
        }
        self.returns_fed += 1;
        let (order, _, skus) = self.recent_order(rng);
        Some(FeedReturn {
            id: format!("RET-F{:07}", self.returns_fed),
            order,
            items: rng
                .percent(50)
                .then(|| vec![(rng.pick(&skus).to_string(), rng.range(1, 2))]),
            at: backdated(rng, now),
        })
    }
}

fn command(path: &str, options: Vec<(&str, String)>) -> Input {
    Input::Command {
        path: path.to_string(),
        options: options
            .into_iter()
            .map(|(name, value)| (name.to_string(), value))
            .collect(),
    }
}

fn place(rng: &mut Rng) -> Place {
    match rng.weighted(&[45, 35, 20]) {
        0 => Place::DirectMessage,
        1 => Place::Channel,
        _ => Place::Console,
    }
}

/// An amount as people type it: whole dollars or dollars and cents, up to $150.
fn amount(rng: &mut Rng) -> String {
    if rng.percent(40) {
        rng.range(1, 150).to_string()
    } else {
        format!("{}.{:02}", rng.range(0, 150), rng.range(1, 99))
    }
}

/// When a fed request says it happened: mostly now (no `at`), sometimes a little earlier
/// (the shop's feed runs late), rarely more than a month earlier.
fn backdated(rng: &mut Rng, now: DateTime<Utc>) -> Option<DateTime<Utc>> {
    match rng.weighted(&[65, 20, 10, 4, 1]) {
        0 => None,
        1 => Some(now - Duration::minutes(rng.range(1, 59))),
        2 => Some(now - Duration::hours(rng.range(1, 47))),
        3 => Some(now - Duration::days(rng.range(3, 10))),
        _ => Some(now - Duration::days(40)),
    }
}

/// Minutes mostly, hours often, days sometimes, weeks rarely.
fn clock_jump(rng: &mut Rng) -> Duration {
    match rng.weighted(&[64, 30, 5, 1]) {
        0 => Duration::minutes(rng.range(1, 59)),
        1 => Duration::hours(rng.range(1, 23)),
        2 => Duration::days(rng.range(1, 6)),
        _ => Duration::weeks(rng.range(1, 4)),
    }
}
