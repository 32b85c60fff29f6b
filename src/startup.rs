//! Building the application: database, reference data, demo data, router, listener.

use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;
use axum::Router;
use sea_orm::{DbBackend, TransactionTrait};
use tokio::net::TcpListener;

use crate::config::Settings;
use crate::http::state::AppState;
use crate::http::{self, pages};
use crate::search::relay::{Relay, RelayConfig};
use crate::{db, demo};

/// A built application, bound to its port and ready to serve.
pub struct Application {
    listener: TcpListener,
    router: Router,
    state: AppState,
    relay: Option<Background>,
    notify: Option<Background>,
    follow: Background,
    /// On PostgreSQL: hears which users got notices from any instance.
    hear: Option<Background>,
    project: Option<Background>,
}

/// A background worker: how to stop it, and the task to wait for.
type Background = (
    tokio::sync::watch::Sender<bool>,
    tokio::task::JoinHandle<()>,
);

impl Application {
    /// Connects, migrates, loads reference data (and demo data into an empty database
    /// when enabled), and binds the listener.
    pub async fn build(settings: Settings) -> anyhow::Result<Self> {
        let state = prepare(settings).await?;
        let listener = TcpListener::bind(&state.settings.listen)
            .await
            .with_context(|| format!("listening on {}", state.settings.listen))?;
        let router = http::router(state.clone());
        let follow = {
            let (stop, stopped) = tokio::sync::watch::channel(false);
            let search = state.search.clone();
            (stop, tokio::spawn(search.follow(state.db.clone(), stopped)))
        };
        let relay = state.settings.search_relay.then(|| {
            let (stop, stopped) = tokio::sync::watch::channel(false);
            let relay = Relay::new(
                state.db.clone(),
                state.search.clone(),
                RelayConfig::default(),
            );
            (stop, tokio::spawn(relay.run(stopped)))
        });
        let notify = if state.settings.notify_worker {
            let worker = crate::notify::Worker::with_mailer(
                state.db.clone(),
                &state.settings,
                state.mailer.clone(),
            )
            .context("starting the notification worker")?
            .ringing(state.bell.clone());
            let (stop, stopped) = tokio::sync::watch::channel(false);
            Some((stop, tokio::spawn(worker.run(stopped))))
        } else {
            None
        };
        let project = state.settings.stats_projector.then(|| {
            let (stop, stopped) = tokio::sync::watch::channel(false);
            let projector = crate::stats::projector::Projector::new(state.db.clone());
            (stop, tokio::spawn(projector.run(stopped)))
        });
        let on_postgres = state.db.get_database_backend() == DbBackend::Postgres;
        let hear = on_postgres.then(|| {
            let (stop, stopped) = tokio::sync::watch::channel(false);
            let url = state.settings.database_url.clone();
            let bell = state.bell.clone();
            (
                stop,
                tokio::spawn(crate::notify::bell::hear(url, bell, stopped)),
            )
        });
        Ok(Application {
            listener,
            router,
            state,
            relay,
            notify,
            follow,
            hear,
            project,
        })
    }

    /// The port actually bound (useful with port 0).
    pub fn port(&self) -> u16 {
        self.listener.local_addr().map(|a| a.port()).unwrap_or(0)
    }

    /// The base URL people can open.
    pub fn url(&self) -> String {
        let addr = self.listener.local_addr().expect("bound listener");
        let host = if addr.ip().is_unspecified() {
            "127.0.0.1".to_string()
        } else {
            addr.ip().to_string()
        };
        format!("http://{host}:{}", addr.port())
    }

    /// The application state (database, settings).
    pub fn state(&self) -> &AppState {
        &self.state
    }

    /// Serves until SIGTERM or ctrl-c, letting requests in flight finish.
    pub async fn run_until_stopped(self) -> std::io::Result<()> {
        self.run_until(shutdown_signal()).await
    }

    /// Serves until `signal` completes.
    pub async fn run_until(
        self,
        signal: impl Future<Output = ()> + Send + 'static,
    ) -> std::io::Result<()> {
        let (stop_tx, stop_rx) = tokio::sync::watch::channel(false);
        let sweeper = tokio::spawn(order_sweeper(self.state.clone(), stop_rx));
        let stopping = self.state.stopping.clone();
        let signal = async move {
            signal.await;
            // Streams end first, with a last event, so the drain does not wait for them.
            stopping.send_replace(true);
        };
        let served = http::server::serve(self.listener, self.router, signal).await;
        // Workers finish what they hold within the rest of the stop's time; a row they leave
        // leased is taken up again by another instance, or by this one at its next start.
        let deadline = tokio::time::Instant::now() + WORKERS_STOP;
        stop_tx.send(true).ok();
        let workers = [
            self.relay,
            self.notify,
            Some(self.follow),
            self.hear,
            self.project,
        ];
        let mut handles = vec![sweeper];
        for (stop, handle) in workers.into_iter().flatten() {
            stop.send(true).ok();
            handles.push(handle);
        }
        for handle in handles {
            if tokio::time::timeout_at(deadline, handle).await.is_err() {
                tracing::warn!("a worker was still busy when the server stopped");
            }
        }
        self.state.db.clone().close().await.ok();
        served
    }
}

/// How long the workers have, after the last answer, to finish what they hold.
const WORKERS_STOP: std::time::Duration = std::time::Duration::from_millis(400);

/// Connects and brings the database to a usable state.
pub async fn prepare(mut settings: Settings) -> anyhow::Result<AppState> {
    settings.secret = Some(settings.secret_key()?);
    let conn = db::connect(&settings).await?;
    let turn = db::startup_turn(&conn)
        .await
        .context("waiting for other instances to finish starting")?;
    db::migrate(&conn).await?;
    crate::catalog::regions::load_reference(&conn)
        .await
        .context("loading regions")?;
    crate::catalog::categories::load_reference(&conn)
        .await
        .context("loading the taxonomy")?;
    let txn = conn.begin().await?;
    let filled = crate::stats::aggregates::rebuild_if_missing(&txn)
        .await
        .context("filling the statistics' month aggregates")?;
    txn.commit().await?;
    if filled {
        tracing::info!("filled the statistics' month aggregates from the facts");
    }
    if settings.demo && demo::is_empty(&conn).await? {
        demo::seed(&conn, &settings)
            .await
            .context("loading demo data")?;
        tracing::info!("loaded the demo dataset");
    }
    let engine = crate::search::Engine::from_settings(&settings).context("opening search")?;
    let fresh = engine.is_fresh();
    let search = crate::search::SearchService::new(engine, &conn).await?;
    if fresh {
        // A new, empty embedded index (first run, or its directory was removed).
        let n = search
            .rebuild(&conn)
            .await
            .context("building the search index")?;
        tracing::info!(listings = n, "built the search index");
    }
    if let Some(turn) = turn {
        turn.commit().await?;
    }
    let mailer = crate::notify::mailer::Mailer::from_settings(&settings)?;
    let throttle = match &settings.redis_url {
        Some(url) => crate::throttle::Throttle::with_redis(settings.rate_limits, url).await?,
        None => crate::throttle::Throttle::for_database(settings.rate_limits, &conn),
    };
    Ok(AppState {
        mailer,
        metrics: Default::default(),
        outage: Default::default(),
        listing_counts: Default::default(),
        featured_counties: Arc::new(crate::kept::Kept::new(pages::FEATURED_FRESH)),
        throttle: Arc::new(throttle),
        stopping: Arc::new(tokio::sync::watch::channel(false).0),
        bell: Default::default(),
        db: conn,
        settings: Arc::new(settings),
        pages: Arc::new(pages::Pages::new()?),
        search,
    })
}

/// Moves overdue orders on (shipped → delivered → completed) once a minute.
async fn order_sweeper(state: AppState, mut stop: tokio::sync::watch::Receiver<bool>) {
    let rules = crate::orders::lifecycle::AutoAdvance {
        deliver_after: chrono::Duration::days(state.settings.deliver_after_days),
        complete_after: chrono::Duration::days(state.settings.complete_after_days),
    };
    // Signs the unsubscribe links of digests; filled in at start-up.
    let secret = state.settings.secret.clone().unwrap_or_default();
    let public_url = state.settings.public_url();
    let mut tick = tokio::time::interval(Duration::from_secs(60));
    let mut minutes = 0u64;
    loop {
        tokio::select! {
            _ = tick.tick() => {
                // At start and then hourly.
                if minutes.is_multiple_of(60)
                    && let Err(e) = crate::db::optimize(&state.db).await
                {
                    tracing::warn!(error = ?e, "refreshing the query planner's statistics failed");
                }
                if minutes.is_multiple_of(10)
                    && let Err(e) = crate::throttle::sweep(&state.db).await
                {
                    tracing::warn!(error = ?e, "sweeping spent rate-limit cells failed");
                }
                minutes += 1;
                match crate::orders::lifecycle::auto_advance(&state.db, chrono::Utc::now(), rules).await {
                    Ok(0) => {}
                    Ok(n) => tracing::info!(orders = n, "moved overdue orders on"),
                    Err(e) => tracing::warn!(error = ?e, "order sweeper failed; will retry"),
                }
                // The instances that send notifications also write the weekly summary and the daily
                // digests (each once).
                if state.settings.notify_worker {
                    match crate::notify::summary::enqueue_if_due(&state.db, chrono::Utc::now()).await {
                        Ok(true) => tracing::info!("wrote last week's summary for officials"),
                        Ok(false) => {}
                        Err(e) => tracing::warn!(error = ?e, "weekly summary failed; will retry"),
                    }
                    match crate::notify::digest::send_due(&state.db, chrono::Utc::now(), &public_url, &secret).await {
                        Ok(0) => {}
                        Ok(n) => tracing::info!(digests = n, "wrote daily digests"),
                        Err(e) => tracing::warn!(error = ?e, "daily digests failed; will retry"),
                    }
                    // At start and then hourly: the officials' early warnings (raised once each, so running again
                    // changes nothing until something does).
                    if (minutes - 1).is_multiple_of(60) {
                        match crate::stats::warnings::sweep(&state.db, chrono::Utc::now()).await {
                            Ok(s) if s.raised + s.cleared > 0 => tracing::info!(raised = s.raised, cleared = s.cleared, "swept early warnings"),
                            Ok(_) => {}
                            Err(e) => tracing::warn!(error = ?e, "early-warning sweep failed; will retry"),
                        }
                    }
                }
                // Certificates' notices ending and validity running out, every minute so an
                // expired certificate loses its effect as its day ends.
                match crate::catalog::certificates::sweep(&state.db, chrono::Utc::now()).await {
                    Ok(s) if s.effective + s.expired + s.warned > 0 => tracing::info!(effective = s.effective, expired = s.expired, warned = s.warned, "swept certificates"),
                    Ok(_) => {}
                    Err(e) => tracing::warn!(error = ?e, "certificate sweep failed; will retry"),
                }
                // Recurring orders' periods, each placed or skipped once whichever instance
                // gets to it first.
                match crate::orders::recurring::run_due(&state.db, chrono::Utc::now()).await {
                    Ok(0) => {}
                    Ok(n) => tracing::info!(periods = n, "ran recurring orders"),
                    Err(e) => tracing::warn!(error = ?e, "recurring orders failed; will retry"),
                }
                let rules = crate::matching::service::Rules::of(&state.settings);
                match crate::matching::service::sweep(&state.db, chrono::Utc::now(), &rules).await {
                    Ok(0) => {}
                    Ok(n) => tracing::info!(proposals = n, "lapsed overdue proposals"),
                    Err(e) => tracing::warn!(error = ?e, "proposal sweeper failed; will retry"),
                }
            }
            _ = stop.changed() => break,
        }
    }
}

async fn shutdown_signal() {
    let ctrl_c = async {
        tokio::signal::ctrl_c().await.ok();
    };
    #[cfg(unix)]
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    tokio::select! {
        _ = ctrl_c => {},
        _ = terminate => {},
    }
    tracing::info!("shutting down");
}
