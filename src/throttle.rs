//! Rate limits: how often one address or account may sign in, register, search and write.
//!
//! Each limit lets a burst through at once and then refills at a steady pace (the generic cell
//! rate algorithm: one instant per key, the time its allowance is used up to). Beyond a limit
//! the answer is 429 `rate_limited` with `Retry-After`. With `QUDAO_REDIS_URL` the cells live
//! in Redis (one script a request, by Redis's clock); else on PostgreSQL they live in the
//! database (`throttle_cells`, one statement a request). Either way every instance behind a
//! load balancer counts against the same allowance: a password guesser gains nothing by
//! spreading tries across them. A single SQLite instance keeps its cells in memory.
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
    /// Where the cells every instance shares live, if anywhere.
    shared: Option<Shared>,
}

/// Cells shared by every instance.
#[derive(Clone)]
enum Shared {
    /// `throttle_cells` in the PostgreSQL database.
    Postgres(DatabaseConnection),
    /// Keys in Redis.
    Redis(redis::aio::ConnectionManager),
}

impl std::fmt::Debug for Shared {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Shared::Postgres(_) => "PostgreSQL",
            Shared::Redis(_) => "Redis",
        })
    }
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
        let shared = (db.get_database_backend() == DbBackend::Postgres)
            .then(|| Shared::Postgres(db.clone()));
        Throttle {
            shared,
            ..Throttle::new(enabled)
        }
    }

    /// The throttle whose cells live in the Redis server at `url`, whatever the database;
    /// an error when the URL is not one or the server does not answer.
    pub async fn with_redis(enabled: bool, url: &str) -> anyhow::Result<Self> {
        use anyhow::Context;
        let client = redis::Client::open(url).context("QUDAO_REDIS_URL is not a Redis URL")?;
        let config = redis::aio::ConnectionManagerConfig::new()
            .set_connection_timeout(Some(REDIS_TIMEOUT))
            .set_response_timeout(Some(REDIS_TIMEOUT))
            // A request never waits on reconnecting: it is let through meanwhile.
            .set_number_of_retries(1);
        let manager = client
            .get_connection_manager_with_config(config)
            .await
            .context("Redis at QUDAO_REDIS_URL does not answer")?;
        Ok(Throttle {
            shared: Some(Shared::Redis(manager)),
            ..Throttle::new(enabled)
        })
    }

    /// Uses one of `key`'s allowance of `kind`, or says how long to wait.
    pub async fn take(&self, kind: Kind, key: &str) -> Result<(), Limited> {
        match &self.shared {
            Some(Shared::Postgres(db)) if self.enabled => shared_take(db, kind, key).await,
            Some(Shared::Redis(r)) if self.enabled => redis_take(r.clone(), kind, key).await,
            _ => self.at(kind, key, Instant::now(), true),
        }
    }

    /// Gives `key` its whole allowance of `kind` back (a successful sign-in).
    pub async fn forgive(&self, kind: Kind, key: &str) {
        if !self.enabled {
            return;
        }
        match &self.shared {
            Some(Shared::Redis(r)) => {
                let forgiven: redis::RedisResult<i64> = redis::cmd("DEL")
                    .arg(redis_key(kind, key))
                    .query_async(&mut r.clone())
                    .await;
                if let Err(e) = forgiven {
                    tracing::warn!(error = %e, "giving a rate limit back failed");
                }
            }
            Some(Shared::Postgres(db)) => {
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
    waited(wait_us)
}

/// Longest wait for Redis to connect or answer; beyond it the request is let through.
const REDIS_TIMEOUT: Duration = Duration::from_secs(1);

/// [`shared_take`] in Redis: one script, atomic on the server, moves the cell on by Redis's
/// own clock (`TIME`, the same for every instance); a cell expires when its allowance is
/// whole again, so nothing needs sweeping.
static GCRA: std::sync::LazyLock<redis::Script> = std::sync::LazyLock::new(|| {
    redis::Script::new(
        r"
        local t = redis.call('TIME')
        local now = tonumber(t[1]) * 1000000 + tonumber(t[2])
        local step = tonumber(ARGV[1])
        local window = tonumber(ARGV[2])
        local used = now
        local kept = redis.call('GET', KEYS[1])
        if kept then used = math.max(tonumber(kept), now) end
        local next = used + step
        if next > now + window then return next - (now + window) end
        redis.call('SET', KEYS[1], string.format('%.0f', next),
                   'PX', math.ceil((next - now) / 1000))
        return 0
        ",
    )
});

/// The Redis key of a cell: the key itself only as its fingerprint.
fn redis_key(kind: Kind, key: &str) -> String {
    format!("qudao:throttle:{}:{:016x}", kind.code(), fingerprint(key))
}

async fn redis_take(
    mut redis: redis::aio::ConnectionManager,
    kind: Kind,
    key: &str,
) -> Result<(), Limited> {
    let (burst, window) = kind.allowance();
    let wait_us: i64 = match GCRA
        .key(redis_key(kind, key))
        .arg(micros(window / burst))
        .arg(micros(window))
        .invoke_async(&mut redis)
        .await
    {
        Ok(w) => w,
        Err(e) => {
            tracing::warn!(error = %e, "the rate limits in Redis could not be read; letting through");
            0
        }
    };
    waited(wait_us)
}

/// What a shared cell answered: a wait in microseconds, or none.
fn waited(wait_us: i64) -> Result<(), Limited> {
    match u64::try_from(wait_us) {
        Ok(us) if us > 0 => Err(Limited {
            retry_after: Duration::from_micros(us),
        }),
        _ => Ok(()),
    }
}

/// A duration in whole microseconds, as the shared cells count time.
fn micros(d: Duration) -> i64 {
    i64::try_from(d.as_micros()).unwrap_or(i64::MAX)
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

    #[tokio::test]
    async fn a_redis_that_cannot_be_used_is_said_so_at_start() {
        for (url, says) in [
            ("not a url", "QUDAO_REDIS_URL is not a Redis URL"),
            (
                "redis://127.0.0.1:9",
                "Redis at QUDAO_REDIS_URL does not answer",
            ),
        ] {
            let err = Throttle::with_redis(true, url).await.unwrap_err();
            assert_eq!(err.to_string(), says, "{url}");
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
