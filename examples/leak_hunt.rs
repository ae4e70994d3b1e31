//! Finding a timer leak by the line that created it.
//!
//! A request handler keeps a heartbeat ticker per request in a growing `Vec`
//! (the leak, as in Go's forgotten `Ticker.Stop()` — except that here the
//! ticker only lives as long as the `Vec` holds it), next to a handler that
//! does it right. The report groups live handles by creation site, so the
//! guilty line stands out; a site threshold flags it as it happens.
//!
//! Run: `cargo run --example leak_hunt`

use std::time::Duration;
use tickwheel::{Driver, Ticker, Timer};

/// Correct: the timeout lives only as long as the request.
fn handle_request_correctly(h: &tickwheel::Handle) {
    let timeout: Timer = h.timer(Duration::from_secs(30));
    // ... do the work, select! on timeout.receiver() ...
    drop(timeout); // (it would be dropped at the end of scope anyway)
}

/// The leak: every request adds a heartbeat that nobody ever removes.
fn handle_request_leaky(h: &tickwheel::Handle, heartbeats: &mut Vec<Ticker>) {
    let heartbeat = h.ticker(Duration::from_secs(5));
    heartbeats.push(heartbeat);
}

fn main() -> std::io::Result<()> {
    let driver = Driver::builder()
        .thread_name("leak-hunt")
        .on_site_threshold(10_000, |site| {
            eprintln!(
                "ALERT: more than 10000 live {:?}s created at {}",
                site.kind, site.location
            )
        })
        .build()?;
    let h = driver.handle();

    let mut heartbeats = Vec::new();
    let _config_reload = h.ticker(Duration::from_secs(60)); // one long-lived ticker: fine
    for _ in 0..40_000 {
        handle_request_correctly(&h);
        handle_request_leaky(&h, &mut heartbeats);
    }

    // The alert is delivered on the driver's callback thread; give it a moment.
    std::thread::sleep(Duration::from_millis(50));
    println!("{}", h.report());

    let sites = h.live_sites();
    assert_eq!(sites[0].count, 40_000);
    assert!(sites[0].location.line() > 0);

    // The fix: stop keeping them. Dropping the Vec removes every entry.
    drop(heartbeats);
    println!("after dropping the Vec: {}", h.stats());
    assert_eq!(h.stats().tickers, 1);
    Ok(())
}
