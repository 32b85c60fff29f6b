//! Waking open notification streams: a stream waits on its user's bell and reads the database
//! only when a notice for that user has been written, so an idle stream costs no query.
//!
//! The worker that writes notices rings the bells. On SQLite it rings its own process's bell
//! after the commit. On PostgreSQL it announces the users with `pg_notify` inside the
//! transaction that writes the notices (so only a committed notice is announced), and every
//! instance hears the announcement on its own listening connection and rings its bell: a
//! notice written by one instance wakes the stream held open by another. A listener that lost
//! its connection rings everyone once it is back, so nothing said meanwhile is missed.

use std::collections::HashMap;
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};

use sea_orm::{ConnectionTrait, DbBackend, DbErr, Statement};
use tokio::sync::watch;

/// The PostgreSQL channel on which the users with new notices are announced.
pub const CHANNEL: &str = "qudao_notices";

/// How many users one announcement names at most (a payload must stay under 8 000 bytes).
const USERS_PER_ANNOUNCEMENT: usize = 400;

/// One bell per user with an open stream.
#[derive(Debug, Default)]
pub struct Bell {
    rooms: Mutex<HashMap<i64, watch::Sender<()>>>,
    listens: AtomicU64,
}

impl Bell {
    /// What `user`'s stream waits on: it changes whenever `user` may have a new notice.
    pub fn listen(&self, user: i64) -> watch::Receiver<()> {
        let mut rooms = self.lock();
        // Now and then the bells nobody listens to any more are taken down.
        if self.listens.fetch_add(1, Ordering::Relaxed) % 1024 == 1023 {
            rooms.retain(|_, bell| bell.receiver_count() > 0);
        }
        rooms
            .entry(user)
            .or_insert_with(|| watch::channel(()).0)
            .subscribe()
    }

    /// Wakes the streams of `users`.
    pub fn ring(&self, users: impl IntoIterator<Item = i64>) {
        let mut rooms = self.lock();
        for user in users {
            if let Some(bell) = rooms.get(&user) {
                if bell.receiver_count() == 0 {
                    rooms.remove(&user);
                } else {
                    bell.send_replace(());
                }
            }
        }
    }

    /// Wakes every open stream (after announcements may have been missed).
    pub fn ring_everyone(&self) {
        let mut rooms = self.lock();
        rooms.retain(|_, bell| bell.receiver_count() > 0);
        for bell in rooms.values() {
            bell.send_replace(());
        }
    }

    /// How many users have a stream open.
    pub fn listening(&self) -> usize {
        self.lock()
            .values()
            .filter(|bell| bell.receiver_count() > 0)
            .count()
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<i64, watch::Sender<()>>> {
        self.rooms.lock().unwrap_or_else(|e| e.into_inner())
    }
}

/// Announces, inside the transaction `txn` that writes their notices, that `users` have new
/// ones: on PostgreSQL every instance hears it when the transaction commits. Nothing on
/// SQLite, where the writer rings its own bell.
pub async fn announce(txn: &impl ConnectionTrait, users: &[i64]) -> Result<(), DbErr> {
    if txn.get_database_backend() != DbBackend::Postgres {
        return Ok(());
    }
    for some in users.chunks(USERS_PER_ANNOUNCEMENT) {
        let payload = some
            .iter()
            .map(i64::to_string)
            .collect::<Vec<_>>()
            .join(",");
        txn.execute_raw(Statement::from_sql_and_values(
            DbBackend::Postgres,
            "SELECT pg_notify($1, $2)",
            [CHANNEL.into(), payload.into()],
        ))
        .await?;
    }
    Ok(())
}

/// The users an announcement names; what is not a number is left out.
fn named(payload: &str) -> impl Iterator<Item = i64> + '_ {
    payload.split(',').filter_map(|u| u.trim().parse().ok())
}

/// Listens for announcements on PostgreSQL at `url` and rings `bell` for each, until `stop`.
pub async fn hear(url: String, bell: std::sync::Arc<Bell>, mut stop: watch::Receiver<bool>) {
    use sea_orm::sqlx::postgres::PgListener;
    let mut retry = std::time::Duration::from_millis(200);
    while !*stop.borrow() {
        let connected = async {
            let mut listener = PgListener::connect(&url).await?;
            listener.listen(CHANNEL).await?;
            Ok::<_, sea_orm::sqlx::Error>(listener)
        };
        let mut listener = tokio::select! {
            _ = stop.changed() => return,
            connected = connected => match connected {
                Ok(l) => l,
                Err(e) => {
                    tracing::warn!(error = %e, "listening for new notices failed; trying again");
                    tokio::select! {
                        _ = stop.changed() => return,
                        _ = tokio::time::sleep(retry) => {}
                    }
                    retry = (retry * 2).min(std::time::Duration::from_secs(10));
                    continue;
                }
            },
        };
        retry = std::time::Duration::from_millis(200);
        // Whatever was announced while nobody listened: every stream looks once.
        bell.ring_everyone();
        loop {
            let heard = tokio::select! {
                _ = stop.changed() => return,
                heard = listener.try_recv() => heard,
            };
            match heard {
                Ok(Some(n)) => bell.ring(named(n.payload())),
                // The connection dropped and is back: announcements may have been missed.
                Ok(None) => bell.ring_everyone(),
                Err(e) => {
                    tracing::warn!(error = %e, "the notice listener stopped; connecting again");
                    break;
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_ring_wakes_only_the_users_named() {
        let bell = Bell::default();
        let mut amei = bell.listen(1);
        let lobsang = bell.listen(2);
        bell.ring([1, 3]);
        assert!(amei.has_changed().unwrap());
        assert!(!lobsang.has_changed().unwrap());
        amei.borrow_and_update();
        bell.ring_everyone();
        assert!(amei.has_changed().unwrap());
        assert!(lobsang.has_changed().unwrap());
        assert_eq!(bell.listening(), 2);
        drop(amei);
        bell.ring([1]);
        assert_eq!(bell.listening(), 1);
    }

    #[test]
    fn an_announcement_names_its_users() {
        assert_eq!(named("4,17, 230").collect::<Vec<_>>(), vec![4, 17, 230]);
        assert_eq!(named("4,x,").collect::<Vec<_>>(), vec![4]);
    }
}
