//! `/metrics` in Prometheus' text format: requests and their latency by route, the outbox
//! backlog per channel, search engine latency and database pool use.

use std::collections::BTreeMap;
use std::fmt::Write;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use axum::extract::{MatchedPath, Request, State};
use axum::http::{HeaderValue, Method, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use sea_orm::sea_query::{Expr, ExprTrait};
use sea_orm::{
    ColumnTrait, DatabaseConnection, DbErr, EntityTrait, QueryFilter, QuerySelect,
    prelude::DateTimeUtc,
};

use super::state::AppState;
use crate::metrics::Counts;
use crate::outbox::Channel;

/// What one route has answered, by method.
#[derive(Debug, Clone, Default)]
struct RouteStats {
    /// Responses by status.
    statuses: BTreeMap<u16, u64>,
    latency: Counts,
}

/// What this process has counted since it started, by (method, route template).
#[derive(Debug, Default)]
pub struct Metrics(Mutex<BTreeMap<(String, String), RouteStats>>);

impl Metrics {
    fn record(&self, method: String, route: String, status: u16, took: Duration) {
        let mut routes = self.0.lock().expect("metrics lock");
        let stats = routes.entry((method, route)).or_default();
        *stats.statuses.entry(status).or_default() += 1;
        stats.latency.observe(took);
    }
}

/// Writes the `# HELP` and `# TYPE` lines of a metric.
fn describe(out: &mut String, name: &str, kind: &str, help: &str) {
    let _ = writeln!(out, "# HELP {name} {help}\n# TYPE {name} {kind}");
}

/// Middleware: counts every response by its route's template (never the raw path, so the
/// series stay few) and records how long it took.
pub async fn track(State(state): State<AppState>, request: Request, next: Next) -> Response {
    // Strangers may send any method name: only the standard ones get series of their own.
    let standard = [
        Method::GET,
        Method::HEAD,
        Method::POST,
        Method::PUT,
        Method::PATCH,
        Method::DELETE,
        Method::OPTIONS,
    ];
    let method = if standard.contains(request.method()) {
        request.method().as_str()
    } else {
        "other"
    }
    .to_string();
    let route = request
        .extensions()
        .get::<MatchedPath>()
        .map_or_else(|| "unmatched".to_string(), |p| p.as_str().to_string());
    let started = Instant::now();
    let response = next.run(request).await;
    state
        .metrics
        .record(method, route, response.status().as_u16(), started.elapsed());
    response
}

/// One channel's work in the outbox.
#[derive(Debug, Default)]
struct Backlog {
    waiting: i64,
    dead: i64,
    oldest_age_seconds: i64,
}

/// A gauge of the outbox: name, help text, and its value for one channel.
type Gauge = (&'static str, &'static str, fn(&Backlog) -> i64);

/// Every channel's backlog, read from the undelivered rows only.
async fn backlog(db: &DatabaseConnection) -> Result<BTreeMap<&'static str, Backlog>, DbErr> {
    use crate::outbox::entity::{Column, Entity};
    let now = chrono::Utc::now();
    let mut out: BTreeMap<&'static str, Backlog> = Channel::ALL
        .iter()
        .map(|c| (c.as_str(), Backlog::default()))
        .collect();
    let waiting: Vec<(String, i64, Option<DateTimeUtc>)> = Entity::find()
        .select_only()
        .column(Column::Channel)
        .column_as(Expr::col(Column::Id).count(), "waiting")
        .column_as(Expr::col(Column::CreatedAt).min(), "oldest")
        .filter(Column::DeliveredAt.is_null())
        .filter(Column::DeadAt.is_null())
        .group_by(Column::Channel)
        .into_tuple()
        .all(db)
        .await?;
    for (channel, n, oldest) in waiting {
        if let Some(b) = out.get_mut(channel.as_str()) {
            b.waiting = n;
            b.oldest_age_seconds = oldest.map_or(0, |t| std::cmp::max((now - t).num_seconds(), 0));
        }
    }
    let dead: Vec<(String, i64)> = Entity::find()
        .select_only()
        .column(Column::Channel)
        .column_as(Expr::col(Column::Id).count(), "dead")
        .filter(Column::DeliveredAt.is_null())
        .filter(Column::DeadAt.is_not_null())
        .group_by(Column::Channel)
        .into_tuple()
        .all(db)
        .await?;
    for (channel, n) in dead {
        if let Some(b) = out.get_mut(channel.as_str()) {
            b.dead = n;
        }
    }
    Ok(out)
}

fn escape(label: &str) -> String {
    label
        .replace('\\', "\\\\")
        .replace('"', "\\\"")
        .replace('\n', "\\n")
}

/// `/metrics`: Prometheus' text exposition format.
pub async fn metrics(State(state): State<AppState>) -> impl IntoResponse {
    let mut out = String::new();
    let routes = state.metrics.0.lock().expect("metrics lock").clone();
    describe(
        &mut out,
        "qudao_http_responses_total",
        "counter",
        "Responses by method, route and status.",
    );
    for ((method, route), stats) in &routes {
        for (status, n) in &stats.statuses {
            let _ = writeln!(
                out,
                "qudao_http_responses_total{{method=\"{method}\",route=\"{}\",status=\"{status}\"}} {n}",
                escape(route)
            );
        }
    }
    describe(
        &mut out,
        "qudao_http_request_duration_seconds",
        "histogram",
        "Time to answer, by method and route.",
    );
    for ((method, route), stats) in &routes {
        let labels = format!("method=\"{method}\",route=\"{}\"", escape(route));
        stats
            .latency
            .write(&mut out, "qudao_http_request_duration_seconds", &labels);
    }

    describe(
        &mut out,
        "qudao_search_duration_seconds",
        "histogram",
        "Time the search engine took per query.",
    );
    let engine = format!(
        "engine=\"{}\"",
        crate::search::SearchEngine::name(state.search.engine())
    );
    state
        .search
        .latency()
        .snapshot()
        .write(&mut out, "qudao_search_duration_seconds", &engine);

    match backlog(&state.db).await {
        Ok(rows) => {
            let gauges: [Gauge; 3] = [
                (
                    "qudao_outbox_waiting",
                    "Outbox events neither delivered nor dead, per channel.",
                    |b| b.waiting,
                ),
                (
                    "qudao_outbox_oldest_waiting_age_seconds",
                    "Age of the oldest waiting outbox event, per channel.",
                    |b| b.oldest_age_seconds,
                ),
                (
                    "qudao_outbox_dead",
                    "Outbox events that used up their attempts, per channel.",
                    |b| b.dead,
                ),
            ];
            for (name, help, value) in gauges {
                describe(&mut out, name, "gauge", help);
                for (channel, b) in &rows {
                    let _ = writeln!(out, "{name}{{channel=\"{channel}\"}} {}", value(b));
                }
            }
        }
        Err(e) => tracing::warn!(error = %e, "metrics: reading the outbox backlog failed"),
    }

    describe(
        &mut out,
        "qudao_outbox_delivered_total",
        "counter",
        "Outbox events this process delivered, per channel.",
    );
    for channel in Channel::ALL {
        let _ = writeln!(
            out,
            "qudao_outbox_delivered_total{{channel=\"{}\"}} {}",
            channel.as_str(),
            crate::outbox::delivered(channel)
        );
    }

    database_use(&mut out, &state.db);
    describe(
        &mut out,
        "qudao_notification_streams",
        "gauge",
        "Users with a live notification stream open on this instance.",
    );
    let _ = writeln!(out, "qudao_notification_streams {}", state.bell.listening());

    (
        [(
            header::CONTENT_TYPE,
            HeaderValue::from_static("text/plain; version=0.0.4; charset=utf-8"),
        )],
        out,
    )
}

/// The pool's connections by state, and the writes tried again after a conflict.
fn database_use(out: &mut String, db: &DatabaseConnection) {
    let (size, idle, max) = crate::db::pool_use(db);
    describe(
        out,
        "qudao_db_pool_connections",
        "gauge",
        "Database connections by state.",
    );
    let _ = writeln!(
        out,
        "qudao_db_pool_connections{{state=\"in_use\"}} {}",
        size.saturating_sub(idle)
    );
    let _ = writeln!(out, "qudao_db_pool_connections{{state=\"idle\"}} {idle}");
    describe(
        out,
        "qudao_db_pool_max_connections",
        "gauge",
        "The most connections the pool opens.",
    );
    let _ = writeln!(out, "qudao_db_pool_max_connections {max}");
    describe(
        out,
        "qudao_db_write_retries_total",
        "counter",
        "Writes tried again because the database broke them off to end a deadlock or a serialization conflict.",
    );
    let _ = writeln!(out, "qudao_db_write_retries_total {}", crate::db::retried());
    describe(
        out,
        "qudao_db_statements_total",
        "counter",
        "Statements sent to the database (queries, writes, transaction control).",
    );
    let _ = writeln!(out, "qudao_db_statements_total {}", crate::db::statements());
}
