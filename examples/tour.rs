//! A short tour of tickwheel on the global driver: a ticker loop stopped
//! through a channel, a one-shot timer, a callback, `select!` with a
//! timeout, and the stats that show nothing is left behind.
//!
//! Run: `cargo run --release --example tour`

use crossbeam_channel::{bounded, select};
use std::thread;
use std::time::{Duration, Instant};

fn main() {
    let start = Instant::now();
    let ms = |d: Duration| d.as_secs_f64() * 1e3;

    // 1. A worker with a ticker and a stop channel (Go's `for { select {
    //    case <-ticker.C: ...; case <-stop: return } }`). When the worker
    //    returns, the ticker is dropped and leaves the wheel: no Stop() to
    //    forget.
    let (stop_tx, stop_rx) = bounded::<()>(0);
    let worker = thread::spawn(move || {
        let ticker = tickwheel::tick(Duration::from_millis(10));
        let mut ticks = 0;
        loop {
            select! {
                recv(ticker.receiver()) -> tick => {
                    ticks += 1;
                    let tick = tick.expect("the global driver never shuts down");
                    println!("  tick {ticks} scheduled at +{:.3} ms", ms(tick - start));
                }
                recv(stop_rx) -> _ => return (ticks, ticker.dropped()),
            }
        }
    });

    // 2. A one-shot timer: the value is the scheduled deadline, never early.
    let timer = tickwheel::after(Duration::from_millis(55));
    let deadline = timer.recv().unwrap();
    println!(
        "timer: deadline +{:.3} ms, received {:.1} µs after it",
        ms(deadline - start),
        (Instant::now() - deadline).as_secs_f64() * 1e6
    );
    // While the worker runs, the report names the line of every live handle:
    // the worker's ticker, and the timer (fired, but its handle is alive).
    print!("{}", tickwheel::report());
    drop(timer);
    drop(stop_tx); // stop the worker
    let (ticks, dropped) = worker.join().unwrap();
    println!("worker stopped after {ticks} ticks ({dropped} dropped)");

    // 3. A callback (Go's time.AfterFunc) on the callback thread, and one
    //    that is stopped before it runs.
    let (done_tx, done_rx) = bounded(1);
    let cb = tickwheel::after_func(Duration::from_millis(5), move || {
        let name = thread::current().name().unwrap_or("?").to_owned();
        done_tx.send(name).unwrap();
    });
    let cancelled = tickwheel::after_func(Duration::from_secs(60), || unreachable!());
    println!("callback stopped before running: {}", cancelled.stop());
    println!("callback ran on thread {:?}", done_rx.recv().unwrap());
    println!("stopping it after it ran: {}", cb.stop());

    // 4. A timeout in a select! loop — Go's `time.After` in a loop leaked a
    //    timer per iteration until it fired; here each one is dropped at the
    //    end of its iteration.
    let (_never_tx, never) = bounded::<u32>(0);
    for _ in 0..1000 {
        let timeout = tickwheel::after(Duration::from_secs(3600));
        select! {
            recv(never) -> _ => unreachable!(),
            recv(timeout.receiver()) -> _ => unreachable!(),
            default => {}
        }
    }
    drop((cb, cancelled));

    // 5. The stats: nothing pending, no handle alive.
    let stats = tickwheel::stats();
    println!("stats: {stats}");
    assert_eq!(stats.pending, 0, "a timer outlived its owner");
    assert_eq!(stats.timers + stats.tickers + stats.callbacks, 0);
}
