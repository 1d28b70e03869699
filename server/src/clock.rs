//! Where the server reads the time: the system clock, or a fixed/manual one for tests and the
//! conformance runner (the core has no clock; every call takes `now`).

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{SystemTime, UNIX_EPOCH};

/// The clock of an [`AppState`](crate::AppState): whole seconds since the Unix epoch.
#[derive(Clone, Debug, Default)]
pub enum Clock {
    /// The system clock.
    #[default]
    System,
    /// Always this instant (conformance vectors carry their own `now`).
    Fixed(u64),
    /// A clock the owner of the `Arc` moves by hand (tests: cooldowns and freshness without
    /// sleeping).
    Manual(Arc<AtomicU64>),
}

impl Clock {
    /// A manual clock starting at `start`, and the handle that moves it.
    pub fn manual(start: u64) -> (Clock, Arc<AtomicU64>) {
        let handle = Arc::new(AtomicU64::new(start));
        (Clock::Manual(Arc::clone(&handle)), handle)
    }

    /// The current time, whole seconds since the Unix epoch (0 if the system clock is before
    /// it).
    pub fn now(&self) -> u64 {
        match self {
            Clock::System => SystemTime::now()
                .duration_since(UNIX_EPOCH)
                .map_or(0, |d| d.as_secs()),
            Clock::Fixed(now) => *now,
            Clock::Manual(handle) => handle.load(Ordering::Relaxed),
        }
    }
}
