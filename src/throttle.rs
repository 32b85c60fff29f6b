//! Rate limits: how often one address or account may sign in, register, search and write.
//!
//! Each limit lets a burst through at once and then refills at a steady pace (the generic cell
//! rate algorithm: one instant per key, the time its allowance is used up to). Beyond a limit
//! the answer is 429 `rate_limited` with `Retry-After`. On PostgreSQL the cells live in the
//! database (`throttle_cells`, one statement a request), so every instance behind a load
//! balancer counts against the same allowance: a password guesser gains nothing by spreading
//! tries across them. A single SQLite instance keeps its cells in memory.
//!
//! Many villagers share one address (a cooperative's office, a carrier's NAT), so the
//! per-address limits are generous; the tight one is failed sign-ins per account.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use sea_orm::{ConnectionTrait, DatabaseConnection, DbBackend, Statement};

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
    /// The number stored for this kind in `throttle_cells`.
    fn code(self) -> i16 {
        match self {
            Kind::SignInAddress => 1,
            Kind::SignInAccount => 2,
            Kind::Register => 3,
            Kind::Search => 4,
            Kind::Write => 5,
        }
    }

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
    /// The PostgreSQL database whose `throttle_cells` every instance shares, if any.
    shared: Option<DatabaseConnection>,
}

impl Throttle {
    /// A throttle that limits (`enabled`) in this process's memory, or lets everything through.
    pub fn new(enabled: bool) -> Self {
        Throttle {
            enabled,
            used_until: Mutex::new(HashMap::new()),
            shared: None,
        }
    }

    /// The throttle for `db`: its cells in the database on PostgreSQL, where several instances
    /// may share it, in memory on SQLite.
    pub fn for_database(enabled: bool, db: &DatabaseConnection) -> Self {
        let shared = (db.get_database_backend() == DbBackend::Postgres).then(|| db.clone());
        Throttle {
            shared,
            ..Throttle::new(enabled)
        }
    }

    /// Uses one of `key`'s allowance of `kind`, or says how long to wait.
    pub async fn take(&self, kind: Kind, key: &str) -> Result<(), Limited> {
        match &self.shared {
            Some(db) if self.enabled => shared_take(db, kind, key).await,
            _ => self.at(kind, key, Instant::now(), true),
        }
    }

    /// Gives `key` its whole allowance of `kind` back (a successful sign-in).
    pub async fn forgive(&self, kind: Kind, key: &str) {
        if !self.enabled {
            return;
        }
        match &self.shared {
            Some(db) => {
                let forgiven = db
                    .execute_raw(Statement::from_sql_and_values(
                        DbBackend::Postgres,
                        "DELETE FROM throttle_cells WHERE kind = $1 AND key = $2",
                        [kind.code().into(), (fingerprint(key) as i64).into()],
                    ))
                    .await;
                if let Err(e) = forgiven {
                    tracing::warn!(error = %e, "giving a rate limit back failed");
                }
            }
            None => {
                self.lock().remove(&(kind, fingerprint(key)));
            }
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

/// Uses one of `key`'s allowance of `kind` in the shared cells: one statement that moves the
/// cell on only while it stays within the window, by the database's clock (the same for every
/// instance). Should the database not answer, the request is let through: the limits slow
/// guessing, they do not guard the data.
async fn shared_take(db: &DatabaseConnection, kind: Kind, key: &str) -> Result<(), Limited> {
    let (burst, window) = kind.allowance();
    let step = window / burst;
    let micros = |d: Duration| i64::try_from(d.as_micros()).unwrap_or(i64::MAX);
    let (step_us, window_us) = (micros(step), micros(window));
    let statement = Statement::from_sql_and_values(
        DbBackend::Postgres,
        "WITH cell AS (
           INSERT INTO throttle_cells AS c (kind, key, used_until)
           VALUES ($1, $2, now() + $3 * interval '1 microsecond')
           ON CONFLICT (kind, key) DO UPDATE
             SET used_until = GREATEST(c.used_until, now()) + $3 * interval '1 microsecond'
             WHERE GREATEST(c.used_until, now()) + $3 * interval '1 microsecond'
                   <= now() + $4 * interval '1 microsecond'
           RETURNING 0::bigint AS wait_us)
         SELECT wait_us FROM cell
         UNION ALL
         SELECT (EXTRACT(EPOCH FROM GREATEST(used_until, now()) - now()) * 1000000)::bigint
                + $3 - $4
         FROM throttle_cells WHERE kind = $1 AND key = $2 AND NOT EXISTS (SELECT 1 FROM cell)",
        [
            kind.code().into(),
            (fingerprint(key) as i64).into(),
            step_us.into(),
            window_us.into(),
        ],
    );
    let wait_us = match db.query_one_raw(statement).await {
        Ok(row) => row
            .and_then(|r| r.try_get_by_index::<i64>(0).ok())
            .unwrap_or(0),
        Err(e) => {
            tracing::warn!(error = %e, "the shared rate limits could not be read; letting through");
            0
        }
    };
    if wait_us > 0 {
        Err(Limited {
            retry_after: Duration::from_micros(wait_us as u64),
        })
    } else {
        Ok(())
    }
}

/// Deletes the shared cells whose allowance is whole again; nothing on SQLite.
pub async fn sweep(db: &DatabaseConnection) -> Result<(), sea_orm::DbErr> {
    if db.get_database_backend() == DbBackend::Postgres {
        db.execute_unprepared("DELETE FROM throttle_cells WHERE used_until < now()")
            .await?;
    }
    Ok(())
}

/// Keys are kept as hashes: credentials and usernames never sit in the table.
/// The first eight bytes of the key's SHA-256: the same in every instance and every build.
fn fingerprint(key: &str) -> u64 {
    use sha2::Digest;
    let digest = sha2::Sha256::digest(key.as_bytes());
    u64::from_be_bytes(digest[..8].try_into().expect("eight bytes"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_burst_passes_then_the_pace_is_kept() {
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
        t.forgive(Kind::SignInAccount, "amei").await;
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
            assert_eq!(
                t.at(Kind::SignInAccount, "amei", Instant::now(), true),
                Ok(())
            );
        }
    }
}
