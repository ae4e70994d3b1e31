//! The seed article's cure for leaking timer goroutines, in threads: a
//! worker loop that `select!`s on a ticker and on a cancellation token's
//! `done()`, stopped by a deadline. In Go:
//!
//! ```go
//! ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
//! defer cancel()                          // forgetting it leaks the timer
//! ticker := time.NewTicker(20 * time.Millisecond)
//! defer ticker.Stop()                     // forgetting it leaks the ticker
//! for {
//!     select {
//!     case <-ticker.C:  fmt.Println("task executed")
//!     case <-ctx.Done(): return
//!     }
//! }
//! ```
//!
//! Here neither `defer` exists to be forgotten: the ticker and the token's
//! timer leave the wheel when their handles are dropped. The program ends
//! by printing the global driver's stats and checking that nothing is left
//! pending.
//!
//! Run with `cargo run --example worker_with_deadline`.

use crossbeam_channel::select;
use std::thread;
use std::time::{Duration, Instant};
use tickwheel::CancelToken;

/// The seed's worker: a periodic task until the token is cancelled. The
/// ticker is dropped on return: there is no `Stop()` to forget.
fn worker(name: &'static str, token: CancelToken, period: Duration) -> u32 {
    let ticker = tickwheel::tick(period);
    let mut runs = 0;
    loop {
        select! {
            recv(ticker.receiver()) -> _ => {
                runs += 1;
                println!("{name}: task executed ({runs})");
            }
            recv(token.done()) -> _ => {
                // The reason is set before done() disconnects.
                let reason = token.reason().expect("done() fired, so the token is cancelled");
                println!("{name}: stopping ({reason}) after {runs} runs");
                return runs;
            }
        }
    }
}

fn main() {
    let start = Instant::now();
    // The whole job has 200 ms.
    let job = CancelToken::with_timeout(Duration::from_millis(200));
    println!("job: {job:?}");

    // Two workers share the job's deadline; the second also has a budget of
    // its own (the earlier of the two applies).
    let a = {
        let token = job.child();
        thread::spawn(move || worker("sync", token, Duration::from_millis(20)))
    };
    let b = {
        let token = job.child_with_timeout(Duration::from_millis(100));
        thread::spawn(move || worker("health", token, Duration::from_millis(30)))
    };
    let (runs_a, runs_b) = (a.join().unwrap(), b.join().unwrap());
    let elapsed = start.elapsed();
    println!("both workers stopped after {elapsed:?} ({runs_a} + {runs_b} runs)");
    assert!(
        elapsed >= Duration::from_millis(200),
        "a deadline is never early"
    );
    assert_eq!(
        job.children(),
        0,
        "the workers' tokens unregistered themselves"
    );
    drop(job);

    let stats = tickwheel::stats();
    println!("stats: {stats}");
    assert_eq!(stats.pending, 0, "no live timer is left behind");
    assert_eq!(stats.tickers, 0);
}
