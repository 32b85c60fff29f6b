//! Rate limits: how often one address or account may sign in, register, search and write.
//!
//! Each limit lets a burst through at once and then refills at a steady pace (the generic cell
//! rate algorithm: one instant per key, the time its allowance is used up to). Beyond a limit
//! the answer is 429 `rate_limited` with `Retry-After`. Limits live in each instance's memory:
//! behind a load balancer of `n` instances a client gets at most `n` times the allowance, which
//! is what they are for (slowing guessing and floods), not a count anyone relies on.
//!
//! Many villagers share one address (a cooperative's office, a carrier's NAT), so the
//! per-address limits are generous; the tight one is failed sign-ins per account.

use std::collections::HashMap;
use std::hash::{Hash, Hasher};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use crate::error::AppError;

/// What is being limited; each has its own allowance.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Kind {
    /// Sign-in attempts from one address, successful or not.
    SignInAddress,
    /// Failed sign-ins to one username (known or not, so the limit says nothing of who exists).
    SignInAccount,
    /// New accounts from one address.
    Register,
    /// Searches from one address.
    Search,
    /// Writes (POST, PUT, PATCH, DELETE) by one account, or from one address when signed out.
    Write,
}

impl Kind {
    /// How many at once, and the time in which that many are allowed again.
    pub const fn allowance(self) -> (u32, Duration) {
        match self {
            Kind::SignInAddress => (30, Duration::from_secs(10 * 60)),
            Kind::SignInAccount => (5, Duration::from_secs(15 * 60)),
            Kind::Register => (20, Duration::from_secs(60 * 60)),
            Kind::Search => (600, Duration::from_secs(60)),
            Kind::Write => (300, Duration::from_secs(60)),
        }
    }
}

/// Beyond the limit: how long until the next attempt is allowed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limited {
    pub retry_after: Duration,
}

impl Limited {
    /// Whole seconds to wait, rounded up (at least 1), for `Retry-After`.
    pub fn retry_after_secs(&self) -> u64 {
        self.retry_after.as_secs() + u64::from(self.retry_after.subsec_nanos() > 0)
    }
}

impl From<Limited> for AppError {
    fn from(l: Limited) -> Self {
        AppError::RateLimited(l.retry_after_secs())
    }
}

/// Keys kept before the spent ones are swept out.
const SWEEP_AT: usize = 50_000;

/// The allowances used, per kind and key.
#[derive(Debug)]
pub struct Throttle {
    enabled: bool,
    used_until: Mutex<HashMap<(Kind, u64), Instant>>,
}

impl Throttle {
    /// A throttle that limits (`enabled`) or lets everything through.
    pub fn new(enabled: bool) -> Self {
        Throttle {
            enabled,
            used_until: Mutex::new(HashMap::new()),
        }
    }

    /// Uses one of `key`'s allowance of `kind`, or says how long to wait.
    pub fn take(&self, kind: Kind, key: &str) -> Result<(), Limited> {
        self.at(kind, key, Instant::now(), true)
    }

    /// Whether `key` has allowance of `kind` left, without using it.
    pub fn check(&self, kind: Kind, key: &str) -> Result<(), Limited> {
        self.at(kind, key, Instant::now(), false)
    }

    /// Gives `key` its whole allowance of `kind` back (a successful sign-in).
    pub fn forgive(&self, kind: Kind, key: &str) {
        if self.enabled {
            self.lock().remove(&(kind, fingerprint(key)));
        }
    }

    fn at(&self, kind: Kind, key: &str, now: Instant, spend: bool) -> Result<(), Limited> {
        if !self.enabled {
            return Ok(());
        }
        let (burst, window) = kind.allowance();
        let step = window / burst;
        let mut used = self.lock();
        let slot = (kind, fingerprint(key));
        let from = used.get(&slot).copied().filter(|t| *t > now).unwrap_or(now);
        let until = from + step;
        if until > now + window {
            return Err(Limited {
                retry_after: until - (now + window),
            });
        }
        if spend {
            if used.len() >= SWEEP_AT {
                used.retain(|_, t| *t > now);
            }
            used.insert(slot, until);
        }
        Ok(())
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<(Kind, u64), Instant>> {
        self.used_until.lock().unwrap_or_else(|e| e.into_inner())
    }
}

/// Keys are kept as hashes: credentials and usernames never sit in the table.
fn fingerprint(key: &str) -> u64 {
    let mut h = std::collections::hash_map::DefaultHasher::new();
    key.hash(&mut h);
    h.finish()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_burst_passes_then_the_pace_is_kept() {
        let t = Throttle::new(true);
        let start = Instant::now();
        let (burst, window) = Kind::SignInAccount.allowance();
        for _ in 0..burst {
            assert_eq!(t.at(Kind::SignInAccount, "amei", start, true), Ok(()));
        }
        let refused = t.at(Kind::SignInAccount, "amei", start, true).unwrap_err();
        let step = window / burst;
        assert_eq!(refused.retry_after, step);
        assert_eq!(refused.retry_after_secs(), step.as_secs());
        // Other keys and other kinds are untouched.
        assert_eq!(t.at(Kind::SignInAccount, "lobsang", start, true), Ok(()));
        assert_eq!(t.at(Kind::Register, "amei", start, true), Ok(()));
        // One step later exactly one more is allowed.
        assert_eq!(
            t.at(Kind::SignInAccount, "amei", start + step, true),
            Ok(())
        );
        assert!(
            t.at(Kind::SignInAccount, "amei", start + step, true)
                .is_err()
        );
        // A check does not use the allowance; forgiving restores all of it.
        assert!(
            t.at(Kind::SignInAccount, "amei", start + step, false)
                .is_err()
        );
        t.forgive(Kind::SignInAccount, "amei");
        for _ in 0..burst {
            assert_eq!(
                t.at(Kind::SignInAccount, "amei", start + step, true),
                Ok(())
            );
        }
    }

    #[test]
    fn switched_off_it_lets_everything_through() {
        let t = Throttle::new(false);
        for _ in 0..1000 {
            assert_eq!(t.take(Kind::SignInAccount, "amei"), Ok(()));
        }
    }
}
