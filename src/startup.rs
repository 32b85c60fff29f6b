//! Building the application: database, reference data, demo data, router, listener.

use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;
use axum::Router;
use axum::extract::DefaultBodyLimit;
use axum::http::{HeaderName, HeaderValue};
use axum::routing::get;
use sea_orm::TransactionTrait;
use tokio::net::TcpListener;
use tower_http::compression::CompressionLayer;
use tower_http::request_id::{MakeRequestUuid, PropagateRequestIdLayer, SetRequestIdLayer};
use tower_http::set_header::SetResponseHeaderLayer;
use tower_http::trace::{DefaultOnResponse, TraceLayer};

use crate::config::Settings;
use crate::search::relay::{Relay, RelayConfig};
use crate::state::AppState;
use crate::{api, db, demo, web};

/// Largest request body accepted (photos will get their own limit).
pub const BODY_LIMIT: usize = 1024 * 1024;

/// A built application, bound to its port and ready to serve.
pub struct Application {
    listener: TcpListener,
    router: Router,
    state: AppState,
    relay: Option<Background>,
    notify: Option<Background>,
    follow: Background,
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
        let router = router(state.clone());
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
            .context("starting the notification worker")?;
            let (stop, stopped) = tokio::sync::watch::channel(false);
            Some((stop, tokio::spawn(worker.run(stopped))))
        } else {
            None
        };
        Ok(Application {
            listener,
            router,
            state,
            relay,
            notify,
            follow,
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
        let served = serve(self.listener, self.router, signal).await;
        stop_tx.send(true).ok();
        sweeper.await.ok();
        let workers = [self.relay, self.notify, Some(self.follow)];
        for (stop, handle) in workers.into_iter().flatten() {
            stop.send(true).ok();
            handle.await.ok();
        }
        self.state.db.clone().close().await.ok();
        served
    }
}

/// Time a client has to send a request's head (line and headers) once it starts one, and the
/// longest a kept-alive connection may sit idle: slow or silent clients cannot hold connections.
pub const HEADER_READ_TIMEOUT: Duration = Duration::from_secs(10);

/// Longest wait, after the stop signal, for answers still being written.
const DRAIN_TIMEOUT: Duration = Duration::from_secs(20);

/// Accepts connections until `signal`, answering each with `router` (which sees the peer's
/// address as [`axum::extract::ConnectInfo`]), then lets the requests in flight finish.
async fn serve(
    listener: TcpListener,
    router: Router,
    signal: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    use hyper_util::rt::{TokioExecutor, TokioIo, TokioTimer};
    use tower::ServiceExt;

    let mut builder = hyper_util::server::conn::auto::Builder::new(TokioExecutor::new());
    builder
        .http1()
        .timer(TokioTimer::new())
        .header_read_timeout(HEADER_READ_TIMEOUT);
    builder
        .http2()
        .timer(TokioTimer::new())
        .keep_alive_interval(HEADER_READ_TIMEOUT)
        .keep_alive_timeout(HEADER_READ_TIMEOUT);
    let graceful = hyper_util::server::graceful::GracefulShutdown::new();
    let mut signal = std::pin::pin!(signal);
    loop {
        let (stream, peer) = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok(accepted) => accepted,
                Err(e) => {
                    // Out of file descriptors and the like: wait a moment rather than spin.
                    tracing::warn!(error = %e, "accepting a connection failed");
                    tokio::time::sleep(Duration::from_millis(50)).await;
                    continue;
                }
            },
            _ = &mut signal => break,
        };
        stream.set_nodelay(true).ok();
        let service = router.clone().map_request(
            move |mut request: axum::http::Request<hyper::body::Incoming>| {
                request
                    .extensions_mut()
                    .insert(axum::extract::ConnectInfo(peer));
                request
            },
        );
        let connection = builder
            .serve_connection_with_upgrades(
                TokioIo::new(stream),
                hyper_util::service::TowerToHyperService::new(service),
            )
            .into_owned();
        let connection = graceful.watch(connection);
        tokio::spawn(async move {
            if let Err(e) = connection.await {
                tracing::debug!(error = %e, "connection ended with an error");
            }
        });
    }
    drop(listener);
    if tokio::time::timeout(DRAIN_TIMEOUT, graceful.shutdown())
        .await
        .is_err()
    {
        tracing::warn!("some connections were still open when the server stopped");
    }
    Ok(())
}

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
        demo::seed(&conn, &settings.demo_password)
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
    Ok(AppState {
        mailer,
        metrics: Default::default(),
        outage: Default::default(),
        listing_counts: Default::default(),
        featured_counties: Arc::new(crate::kept::Kept::new(web::FEATURED_FRESH)),
        throttle: Arc::new(crate::throttle::Throttle::new(settings.rate_limits)),
        db: conn,
        settings: Arc::new(settings),
        pages: Arc::new(web::Pages::new()?),
        search,
    })
}

/// Pages load scripts, styles and images from this site only, never inline, and no other
/// site may frame them.
const CONTENT_SECURITY_POLICY: &str = "default-src 'self'; script-src 'self'; \
     style-src 'self'; img-src 'self' data:; object-src 'none'; base-uri 'self'; \
     form-action 'self'; frame-ancestors 'none'";

/// The whole HTTP surface with its middleware.
pub fn router(state: AppState) -> Router {
    let (api_router, _doc) = api::router();
    Router::new()
        .merge(api_router)
        .merge(web::router())
        .route("/healthz", get(api::healthz))
        .route("/readyz", get(api::readyz))
        .route("/metrics", get(crate::metrics::metrics))
        .fallback(web::fallback)
        .layer(DefaultBodyLimit::max(BODY_LIMIT))
        // Pages, styles and JSON travel compressed when the client accepts it (brotli or gzip);
        // images and event streams do not.
        .layer(CompressionLayer::new())
        .layer(axum::middleware::from_fn(request_timeout))
        .layer(SetResponseHeaderLayer::if_not_present(
            HeaderName::from_static("content-security-policy"),
            HeaderValue::from_static(CONTENT_SECURITY_POLICY),
        ))
        .layer(SetResponseHeaderLayer::if_not_present(
            HeaderName::from_static("x-content-type-options"),
            HeaderValue::from_static("nosniff"),
        ))
        .layer(SetResponseHeaderLayer::if_not_present(
            HeaderName::from_static("x-frame-options"),
            HeaderValue::from_static("DENY"),
        ))
        .layer(SetResponseHeaderLayer::if_not_present(
            HeaderName::from_static("referrer-policy"),
            HeaderValue::from_static("same-origin"),
        ))
        // One line per answered request, in a span carrying its request id.
        .layer(
            TraceLayer::new_for_http()
                .make_span_with(request_span)
                .on_response(DefaultOnResponse::new().level(tracing::Level::INFO)),
        )
        .layer(axum::middleware::from_fn_with_state(
            state.clone(),
            crate::throttle::guard,
        ))
        .layer(axum::middleware::from_fn_with_state(
            state.clone(),
            outage_guard,
        ))
        .layer(axum::middleware::from_fn_with_state(
            state.clone(),
            crate::metrics::track,
        ))
        // Outermost: every request has an `x-request-id` (the caller's, or a new UUID), and
        // its answer carries the same.
        .layer(PropagateRequestIdLayer::x_request_id())
        .layer(SetRequestIdLayer::x_request_id(MakeRequestUuid))
        .with_state(state)
}

/// Longest time a request may take, from its head to the end of its answer's head.
pub const REQUEST_TIMEOUT: Duration = Duration::from_secs(30);
/// The same for a photo upload: 10 MiB over a slow mobile link takes a while.
pub const UPLOAD_TIMEOUT: Duration = Duration::from_secs(180);

/// Answers 408 when a request takes longer than it may (uploads get longer).
async fn request_timeout(
    request: axum::extract::Request,
    next: axum::middleware::Next,
) -> axum::response::Response {
    use axum::response::IntoResponse;
    let path = request.uri().path();
    let upload = request.method() == axum::http::Method::POST
        && (path.starts_with("/api/v1/listings/") || path.starts_with("/producer/listings/"))
        && path.ends_with("/photos");
    let limit = if upload {
        UPLOAD_TIMEOUT
    } else {
        REQUEST_TIMEOUT
    };
    match tokio::time::timeout(limit, next.run(request)).await {
        Ok(response) => response,
        Err(_) => crate::error::AppError::Timeout(limit.as_secs()).into_response(),
    }
}

/// While the database is known to be down, answers requests that need it with an immediate
/// 503 (probes, metrics and static files still go through); notices when an answer says the
/// database could not be reached.
async fn outage_guard(
    axum::extract::State(state): axum::extract::State<AppState>,
    request: axum::extract::Request,
    next: axum::middleware::Next,
) -> axum::response::Response {
    use axum::response::IntoResponse;
    let path = request.uri().path();
    let needs_database =
        !matches!(path, "/healthz" | "/readyz" | "/metrics") && !path.starts_with("/static/");
    if needs_database && state.outage.is_down() {
        return crate::error::AppError::database_unavailable().into_response();
    }
    let response = next.run(request).await;
    if response
        .extensions()
        .get::<crate::error::DatabaseDown>()
        .is_some()
    {
        state.outage.begin(&state.db);
    }
    response
}

/// The span of one request: method, path and request id, so that every log line written
/// while answering it (JSON logs included) can be traced back to it.
fn request_span(request: &axum::http::Request<axum::body::Body>) -> tracing::Span {
    let id = request
        .headers()
        .get("x-request-id")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default();
    tracing::info_span!(
        "request",
        method = %request.method(),
        path = %request.uri().path(),
        request_id = %id,
    )
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
                if minutes % 60 == 0
                    && let Err(e) = crate::db::optimize(&state.db).await
                {
                    tracing::warn!(error = ?e, "refreshing the query planner's statistics failed");
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
                }
                let rules = crate::matching::service::Rules::of(&state);
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
