//! A background thread that runs a task on a schedule until it is stopped: retention,
//! roll-ups and alert evaluation run this way.

use std::sync::{Arc, Condvar, Mutex};
use std::thread::JoinHandle;
use std::time::Duration;

/// A thread running a task periodically; [`Periodic::stop`] ends it.
pub struct Periodic {
    name: &'static str,
    stop: Arc<(Mutex<bool>, Condvar)>,
    thread: JoinHandle<()>,
}

impl Periodic {
    /// Runs `task` on a thread named `name`: first after `first_run_after`, then every
    /// `interval`, until [`Periodic::stop`].
    pub fn start(
        name: &'static str,
        first_run_after: Duration,
        interval: Duration,
        mut task: impl FnMut() + Send + 'static,
    ) -> std::io::Result<Periodic> {
        Self::start_paced(name, first_run_after, move || {
            task();
            interval
        })
    }

    /// Runs `task` on a thread named `name`: first after `first_run_after`, then after the
    /// wait each run returns, until [`Periodic::stop`].
    pub fn start_paced(
        name: &'static str,
        first_run_after: Duration,
        mut task: impl FnMut() -> Duration + Send + 'static,
    ) -> std::io::Result<Periodic> {
        let stop = Arc::new((Mutex::new(false), Condvar::new()));
        let thread = std::thread::Builder::new().name(name.into()).spawn({
            let stop = Arc::clone(&stop);
            move || {
                let mut wait = first_run_after;
                while !stopped_within(&stop, wait) {
                    wait = task();
                }
            }
        })?;
        Ok(Periodic { name, stop, thread })
    }

    /// Stops the thread, after the run in progress if there is one.
    pub fn stop(self) {
        let (stopped, wake) = &*self.stop;
        if let Ok(mut stopped) = stopped.lock() {
            *stopped = true;
        }
        wake.notify_all();
        if self.thread.join().is_err() {
            tracing::error!(thread = self.name, "a background thread panicked");
        }
    }
}

/// Waits up to `wait`; true when asked to stop meanwhile.
fn stopped_within(stop: &(Mutex<bool>, Condvar), wait: Duration) -> bool {
    let (stopped, wake) = stop;
    let Ok(guard) = stopped.lock() else {
        return true;
    };
    match wake.wait_timeout_while(guard, wait, |stopped| !*stopped) {
        Ok((guard, _)) => *guard,
        Err(_) => true,
    }
}
