//! The `qudao` command: `serve` (default), `migrate`, `seed-demo`, `reindex`, `rebuild-stats`,
//! `backup`, `restore`.

use std::path::PathBuf;

use clap::{Parser, Subcommand};
use qudao::config::{Overrides, Settings};
use qudao::{Application, db, demo};

/// Where the lines for whoever started qudao (its address, what a command did) are logged: a
/// target that the log filter always lets through, so they stay on stdout as text, or, with
/// `QUDAO_LOG_FORMAT=json`, as JSON objects like every other line.
const ANNOUNCE: &str = "qudao::announce";

/// Tells whoever started qudao something: as a plain line, or as a JSON log line in JSON mode.
/// A stdout nobody reads any more (a supervisor or test that stopped listening) must not bring
/// the server down, as `println!` would.
macro_rules! say {
    ($($arg:tt)*) => {{
        if JSON_LOGS.load(std::sync::atomic::Ordering::Relaxed) {
            tracing::info!(target: ANNOUNCE, "{}", format!($($arg)*));
        } else {
            use std::io::Write as _;
            let _ = writeln!(std::io::stdout(), $($arg)*);
        }
    }};
}

/// Whether every line goes out as JSON (`QUDAO_LOG_FORMAT=json`).
static JSON_LOGS: std::sync::atomic::AtomicBool = std::sync::atomic::AtomicBool::new(false);

// Request and search threads allocate and free small buffers all the time; mimalloc keeps
// that cheap, and (see `return_freed_memory_at_once`) gives freed memory back to the system.
// It also stands in for the C library's `malloc` (the `override` feature of libmimalloc-sys),
// so SQLite's many small allocations on its worker threads are as cheap as ours.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// mimalloc's `mi_option_purge_delay`: how many milliseconds freed memory is kept before it
/// is returned to the system (10 by default).
const MI_OPTION_PURGE_DELAY: libmimalloc_sys::mi_option_t = 15;

/// Freed memory goes back to the system at once rather than after a delay, which under load
/// keeps one process about 80 MiB smaller at no measurable cost in requests per second.
fn return_freed_memory_at_once() {
    // SAFETY: setting an option is thread-safe in mimalloc, and this one only changes when
    // freed pages are purged.
    unsafe { libmimalloc_sys::mi_option_set(MI_OPTION_PURGE_DELAY, 0) }
}

#[derive(Debug, Parser)]
#[command(
    name = "qudao",
    version,
    about = "渠道 qudao: a marketplace for rural Sichuan's producers"
)]
struct Cli {
    /// Settings file (default: ./qudao.toml when present).
    #[arg(long, global = true)]
    config: Option<PathBuf>,
    /// Address to listen on, host:port (overrides QUDAO_LISTEN).
    #[arg(long, global = true)]
    listen: Option<String>,
    /// Directory for the embedded database, index and email files (overrides QUDAO_DATA_DIR).
    #[arg(long, global = true)]
    data_dir: Option<PathBuf>,
    #[command(subcommand)]
    command: Option<Command>,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Run the marketplace (migrates first).
    Serve {
        /// Do not load the demo dataset into an empty database.
        #[arg(long)]
        no_demo: bool,
    },
    /// Bring the database schema up to date and exit.
    Migrate,
    /// Load the demo dataset (regions, cooperatives, listings, demo accounts) if the database has none.
    SeedDemo,
    /// Rebuild the search index from the database into a fresh index and switch to it in one step.
    Reindex,
    /// Recompute the statistics' month aggregates from the sales facts, in one transaction.
    RebuildStats,
    /// Write a consistent copy of the SQLite database to PATH while qudao keeps running
    /// (on PostgreSQL: says how to use pg_dump).
    Backup {
        /// The new file to write.
        path: PathBuf,
    },
    /// Put a backup in place of the SQLite database; refused while a server uses it
    /// (on PostgreSQL: says how to use pg_restore).
    Restore {
        /// The backup to restore.
        path: PathBuf,
    },
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    return_freed_memory_at_once();
    let cli = Cli::parse();
    let command = cli.command.unwrap_or(Command::Serve { no_demo: false });
    let overrides = Overrides {
        config: cli.config,
        listen: cli.listen,
        data_dir: cli.data_dir,
        no_demo: matches!(command, Command::Serve { no_demo: true }),
    };
    let settings = Settings::load(&overrides)?;
    init_tracing(&settings.log_format);
    match command {
        Command::Serve { .. } => {
            let app = Application::build(settings.clone()).await?;
            say!("qudao 渠道 is running at {}", app.url());
            say!("database: {}", db::redact(&settings.database_url));
            // The password is never printed here: `qudao seed-demo` shows it when it makes
            // the accounts, and the README names the default.
            if settings.demo && demo::has_demo_accounts(&app.state().db).await? {
                say!(
                    "demo accounts: {} (password: see QUDAO_DEMO_PASSWORD)",
                    demo::DEMO_USERNAMES.join(", ")
                );
            }
            app.run_until_stopped().await?;
        }
        Command::Migrate => {
            let conn = db::connect(&settings).await?;
            db::migrate(&conn).await?;
            say!("database is up to date");
        }
        Command::SeedDemo => {
            let mut s = settings;
            s.demo = false;
            let state = qudao::startup::prepare(s.clone()).await?;
            if demo::is_empty(&state.db).await? {
                demo::seed(&state.db, &s).await?;
                say!(
                    "demo data loaded; accounts: {}, each with the password {:?}",
                    demo::DEMO_USERNAMES.join(", "),
                    s.demo_password
                );
            } else {
                say!("the database already has organizations or users; demo data not loaded");
            }
        }
        Command::Reindex => {
            let mut s = settings;
            s.demo = false;
            let state = qudao::startup::prepare(s).await?;
            let started = std::time::Instant::now();
            let n = state.search.rebuild(&state.db).await?;
            say!(
                "search index rebuilt with {n} listings in {:.1} s ({})",
                started.elapsed().as_secs_f64(),
                qudao::search::SearchEngine::name(state.search.engine())
            );
        }
        Command::Backup { path } => {
            let started = std::time::Instant::now();
            let bytes = qudao::backup::backup(&settings, &path).await?;
            say!(
                "backup written to {} ({:.1} MiB in {:.1} s)",
                path.display(),
                bytes as f64 / (1024.0 * 1024.0),
                started.elapsed().as_secs_f64()
            );
        }
        Command::Restore { path } => {
            qudao::backup::restore(&settings, &path).await?;
            say!("{} restored; start qudao to serve it", path.display());
        }
        Command::RebuildStats => {
            let conn = db::connect(&settings).await?;
            db::migrate(&conn).await?;
            let started = std::time::Instant::now();
            let written = qudao::stats::projector::rebuild(&conn).await?;
            say!(
                "statistics rebuilt from the orders in {:.1} s: {written} missing facts written, the aggregates recomputed",
                started.elapsed().as_secs_f64()
            );
        }
    }
    Ok(())
}

fn init_tracing(format: &str) {
    let filter = tracing_subscriber::EnvFilter::try_from_env("QUDAO_LOG")
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info,sqlx=warn,sea_orm=warn"))
        .add_directive(
            format!("{ANNOUNCE}=info")
                .parse()
                .expect("a valid directive"),
        );
    // Colours only for a person at a terminal, not in files and pipes.
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stdout()));
    if format == "json" {
        JSON_LOGS.store(true, std::sync::atomic::Ordering::Relaxed);
        builder.json().init();
        // A panic's message becomes a JSON line too, not text on stderr.
        std::panic::set_hook(Box::new(|info| {
            tracing::error!(target: ANNOUNCE, panic = %info, "qudao panicked");
        }));
    } else {
        builder.init();
    }
}
