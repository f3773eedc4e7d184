//! Stopping, through the real binary: `run` (serenity, against the in-repo fake Discord) and
//! `serve` (axum) exit within 10 seconds of SIGTERM or SIGINT whatever they are doing —
//! connecting, reconnecting to a gateway that refuses them, in the middle of a request — and
//! a second signal ends them at once.
//!
//! The 10 s are the promise, asserted as a bound; nothing else here is timed. Signals
//! are sent with the system's `kill` command (no libc dependency for the tests).

use crate::fake_discord::{FakeDiscord, Options, bot};
use crate::process::{Creditbot, WAIT};
use std::io::Write;
use std::path::Path;

/// `run` against a fake Discord whose REST answers but whose gateway refuses every
/// connection, so the bot keeps trying to connect.
async fn refused_bot() -> (FakeDiscord, bot::Seeded, Creditbot) {
    let fake = FakeDiscord::start(Options {
        refuse_gateway: true,
        ..Options::default()
    })
    .await;
    let seeded = bot::seed(&fake);
    let creditbot = Creditbot::start(&seeded.config, "run");
    (fake, seeded, creditbot)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn run_stops_on_sigterm_while_it_keeps_reconnecting_to_a_refusing_gateway() {
    let (fake, _seeded, mut creditbot) = refused_bot().await;
    // Refused twice: the bot is in serenity's reconnect loop, with no shard to shut down.
    fake.wait_until("two refused gateway connections", WAIT, |v| {
        (v.gateway.refused_connections >= 2).then_some(())
    })
    .await;
    let status = tokio::task::block_in_place(|| creditbot.stop("TERM"));
    assert!(status.success(), "{status:?}; logs:\n{}", creditbot.logs());
    assert!(creditbot.logs().contains("shutting down"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn run_stops_on_sigint_while_connecting() {
    let (_fake, _seeded, mut creditbot) = refused_bot().await;
    tokio::task::block_in_place(|| {
        creditbot.wait_log("connecting to the Discord gateway");
        let status = creditbot.stop("INT");
        assert!(status.success(), "{status:?}; logs:\n{}", creditbot.logs());
    });
}

/// `serve` on a free port of 127.0.0.1, its database in `dir`.
fn serving(dir: &Path) -> (Creditbot, std::net::SocketAddr) {
    let address = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap();
    let config = dir.join("bot.toml");
    std::fs::write(
        &config,
        format!(
            "[database]\npath = \"{}\"\n\n[http]\nlisten = \"{address}\"\n",
            dir.join("serve.db").display()
        ),
    )
    .unwrap();
    let creditbot = Creditbot::start(&config, "serve");
    creditbot.wait_log("serving HTTP");
    (creditbot, address)
}

/// A request whose body is still coming: the server is in the middle of it.
fn request_in_hand(address: std::net::SocketAddr) -> std::net::TcpStream {
    let mut stream = std::net::TcpStream::connect(address).unwrap();
    stream
        .write_all(
            b"POST /api/v1/grants HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 100\r\n\r\n{\"acc",
        )
        .unwrap();
    stream
}

#[test]
fn serve_stops_on_sigterm_in_the_middle_of_a_request() {
    let dir = tempfile::tempdir().unwrap();
    let (mut creditbot, address) = serving(dir.path());
    let _held = request_in_hand(address);
    let status = creditbot.stop("TERM");
    assert!(status.success(), "{status:?}; logs:\n{}", creditbot.logs());
}

#[test]
fn a_second_signal_stops_serve_at_once() {
    let dir = tempfile::tempdir().unwrap();
    let (mut creditbot, address) = serving(dir.path());
    let _held = request_in_hand(address);
    creditbot.signal("TERM");
    // The first signal is waiting for the request in hand; the second doesn't.
    creditbot.wait_log("shutting down");
    let status = creditbot.stop("INT");
    assert_eq!(status.code(), Some(130), "logs:\n{}", creditbot.logs());
    assert!(creditbot.logs().contains("second signal: stopping at once"));
}
