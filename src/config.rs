//! Settings: built-in defaults, then an optional `qudao.toml`, then `QUDAO_*`
//! environment variables, then command-line flags.

use std::path::{Path, PathBuf};

use anyhow::Context;
use serde::Deserialize;

/// Everything qudao can be configured with.
#[derive(Debug, Clone)]
pub struct Settings {
    /// `sqlite://…` or `postgres://…`.
    pub database_url: String,
    /// host:port to listen on.
    pub listen: String,
    /// Where the embedded database, search index and email files live.
    pub data_dir: PathBuf,
    pub meili_url: Option<String>,
    pub meili_key: Option<String>,
    /// `redis://host:6379`: where the rate limits' cells live, shared by every instance.
    pub redis_url: Option<String>,
    /// Name of the Meilisearch index of listings.
    pub meili_index: String,
    /// Run the search relay in this process (turn off to leave it to other instances).
    pub search_relay: bool,
    /// `smtp://user:pass@host:587?tls=required` (STARTTLS) or `smtps://…` (TLS); without it,
    /// emails are written as `.eml` files under `data_dir/outbox/`.
    pub smtp_url: Option<String>,
    /// The sender of every email.
    pub mail_from: String,
    /// The address people reach this site at (for links in emails).
    pub public_url: Option<String>,
    /// Run the notification dispatcher and email sender in this process.
    pub notify_worker: bool,
    /// Run the statistics' projector in this process (it is safe in several at once).
    pub stats_projector: bool,
    /// Attempts at one email or webhook delivery before it is marked dead for an admin to retry.
    pub delivery_max_attempts: i64,
    /// Server secret for signed values such as unsubscribe links and webhook signatures.
    pub secret: Option<String>,
    /// Load the demo dataset into an empty database.
    pub demo: bool,
    /// With the demo, its buyers' past year of orders.
    pub demo_history: bool,
    /// Password of the demo accounts.
    pub demo_password: String,
    /// `json` for structured logs, anything else for human-readable ones.
    pub log_format: String,
    /// Lifetime of a login session and of a login token, in hours.
    pub session_hours: i64,
    /// Shipped orders count as delivered this many days after shipping.
    pub deliver_after_days: i64,
    /// Delivered orders complete this many days after delivery unless disputed.
    pub complete_after_days: i64,
    /// Matching proposals lapse this many hours after they are made unless both sides accept.
    pub proposal_ttl_hours: i64,
    /// Freight assumed by matching, in fen per tonne per kilometre.
    pub freight_fen_per_ton_km: i64,
    /// Limit how often one address or account may sign in, register, search and write
    /// (answering 429 with `Retry-After` beyond the limits in [`crate::throttle`]).
    pub rate_limits: bool,
    /// Take the client's address from the last `X-Forwarded-For` entry, as written by the
    /// load balancer in front; only turn this on behind one.
    pub trust_forwarded_for: bool,
}

/// The keys a `qudao.toml` may hold; all optional.
/// A setting from the environment; set but blank counts as unset.
fn env(key: &str) -> Option<String> {
    std::env::var(key).ok().filter(|v| !v.trim().is_empty())
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct FileSettings {
    database_url: Option<String>,
    listen: Option<String>,
    data_dir: Option<PathBuf>,
    meili_url: Option<String>,
    meili_key: Option<String>,
    redis_url: Option<String>,
    meili_index: Option<String>,
    search_relay: Option<bool>,
    smtp_url: Option<String>,
    mail_from: Option<String>,
    public_url: Option<String>,
    notify_worker: Option<bool>,
    stats_projector: Option<bool>,
    delivery_max_attempts: Option<i64>,
    secret: Option<String>,
    demo: Option<bool>,
    demo_history: Option<bool>,
    demo_password: Option<String>,
    log_format: Option<String>,
    session_hours: Option<i64>,
    deliver_after_days: Option<i64>,
    complete_after_days: Option<i64>,
    proposal_ttl_hours: Option<i64>,
    freight_fen_per_ton_km: Option<i64>,
    rate_limits: Option<bool>,
    trust_forwarded_for: Option<bool>,
}

/// Flags given on the command line, which win over everything else.
#[derive(Debug, Default, Clone)]
pub struct Overrides {
    pub config: Option<PathBuf>,
    pub listen: Option<String>,
    pub data_dir: Option<PathBuf>,
    pub no_demo: bool,
}

impl Settings {
    /// Settings for the embedded setup, rooted at `data_dir`.
    pub fn embedded(data_dir: impl Into<PathBuf>) -> Self {
        let data_dir = data_dir.into();
        Settings {
            database_url: sqlite_url(&data_dir),
            listen: "127.0.0.1:8080".into(),
            data_dir,
            meili_url: None,
            meili_key: None,
            redis_url: None,
            meili_index: "listings".into(),
            search_relay: true,
            smtp_url: None,
            mail_from: "渠道 qudao <noreply@qudao.example>".into(),
            public_url: None,
            notify_worker: true,
            stats_projector: true,
            delivery_max_attempts: 8,
            secret: None,
            demo: true,
            demo_history: true,
            demo_password: "qudao-demo".into(),
            log_format: "text".into(),
            session_hours: 24 * 14,
            deliver_after_days: 10,
            complete_after_days: 7,
            proposal_ttl_hours: 48,
            freight_fen_per_ton_km: 60,
            rate_limits: true,
            trust_forwarded_for: false,
        }
    }

    /// The server secret: `QUDAO_SECRET`, else one generated once and kept in
    /// `data_dir/secret` (several instances must share `QUDAO_SECRET` instead).
    pub fn secret_key(&self) -> anyhow::Result<String> {
        if let Some(s) = self.secret.as_ref().filter(|s| !s.trim().is_empty()) {
            return Ok(s.clone());
        }
        let path = self.data_dir.join("secret");
        if let Ok(s) = std::fs::read_to_string(&path)
            && s.trim().len() >= 32
        {
            return Ok(s.trim().to_string());
        }
        std::fs::create_dir_all(&self.data_dir)
            .with_context(|| format!("creating {}", self.data_dir.display()))?;
        let secret = crate::accounts::token::generate();
        let mut options = std::fs::OpenOptions::new();
        options.write(true).create(true).truncate(true);
        #[cfg(unix)]
        std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
        let mut file = options
            .open(&path)
            .with_context(|| format!("writing {}", path.display()))?;
        std::io::Write::write_all(&mut file, secret.as_bytes())?;
        Ok(secret)
    }

    /// The address people reach this site at, for links in emails: `QUDAO_PUBLIC_URL`, else
    /// the listen address.
    pub fn public_url(&self) -> String {
        self.public_url
            .clone()
            .unwrap_or_else(|| format!("http://{}", self.listen))
            .trim_end_matches('/')
            .to_string()
    }

    /// Reads the file, the environment and the flags, in that order of precedence (last wins).
    pub fn load(overrides: &Overrides) -> anyhow::Result<Self> {
        let path = overrides
            .config
            .clone()
            .or_else(|| env("QUDAO_CONFIG").map(PathBuf::from))
            .unwrap_or_else(|| PathBuf::from("qudao.toml"));
        let mut file: FileSettings = if path.exists() {
            let raw = std::fs::read_to_string(&path)
                .with_context(|| format!("reading {}", path.display()))?;
            toml::from_str(&raw).with_context(|| format!("parsing {}", path.display()))?
        } else if overrides.config.is_some() {
            anyhow::bail!("config file {} does not exist", path.display());
        } else {
            FileSettings::default()
        };

        let data_dir = overrides
            .data_dir
            .clone()
            .or_else(|| env("QUDAO_DATA_DIR").map(PathBuf::from))
            .or(file.data_dir.clone())
            .unwrap_or_else(|| PathBuf::from("data"));
        let mut s = Settings::embedded(&data_dir);
        s.switches(&file)?;
        s.services(&mut file);
        let pick = |env_key: &str, file_val: Option<String>| env(env_key).or(file_val);
        if let Some(v) = pick("QUDAO_DATABASE_URL", file.database_url) {
            s.database_url = v;
        }
        if let Some(v) = pick("QUDAO_LISTEN", file.listen) {
            s.listen = v;
        }
        if let Some(v) = pick("QUDAO_MEILI_INDEX", file.meili_index) {
            s.meili_index = v;
        }
        if let Some(v) = pick("QUDAO_MAIL_FROM", file.mail_from) {
            s.mail_from = v;
        }
        if let Some(v) = pick("QUDAO_DEMO_PASSWORD", file.demo_password) {
            s.demo_password = v;
        }
        if let Some(v) = pick("QUDAO_LOG_FORMAT", file.log_format) {
            s.log_format = v;
        }
        if let Some(v) = env("QUDAO_SESSION_HOURS") {
            s.session_hours = v
                .parse()
                .context("QUDAO_SESSION_HOURS must be a whole number")?;
        } else if let Some(v) = file.session_hours {
            s.session_hours = v;
        }
        for (key, file_val, target) in [
            (
                "QUDAO_DELIVER_AFTER_DAYS",
                file.deliver_after_days,
                &mut s.deliver_after_days,
            ),
            (
                "QUDAO_COMPLETE_AFTER_DAYS",
                file.complete_after_days,
                &mut s.complete_after_days,
            ),
            (
                "QUDAO_PROPOSAL_TTL_HOURS",
                file.proposal_ttl_hours,
                &mut s.proposal_ttl_hours,
            ),
            (
                "QUDAO_FREIGHT_FEN_PER_TON_KM",
                file.freight_fen_per_ton_km,
                &mut s.freight_fen_per_ton_km,
            ),
            (
                "QUDAO_DELIVERY_MAX_ATTEMPTS",
                file.delivery_max_attempts,
                &mut s.delivery_max_attempts,
            ),
        ] {
            if let Some(v) = env(key) {
                *target = v
                    .parse()
                    .with_context(|| format!("{key} must be a whole number"))?;
            } else if let Some(v) = file_val {
                *target = v;
            }
        }
        if let Some(v) = &overrides.listen {
            s.listen = v.clone();
        }
        if overrides.no_demo {
            s.demo = false;
        }
        s.validate()?;
        Ok(s)
    }

    /// The services and secrets that are off unless given, from the environment or else
    /// the file.
    fn services(&mut self, file: &mut FileSettings) {
        for (key, file_val, target) in [
            ("QUDAO_MEILI_URL", &mut file.meili_url, &mut self.meili_url),
            ("QUDAO_MEILI_KEY", &mut file.meili_key, &mut self.meili_key),
            ("QUDAO_REDIS_URL", &mut file.redis_url, &mut self.redis_url),
            ("QUDAO_SMTP_URL", &mut file.smtp_url, &mut self.smtp_url),
            (
                "QUDAO_PUBLIC_URL",
                &mut file.public_url,
                &mut self.public_url,
            ),
            ("QUDAO_SECRET", &mut file.secret, &mut self.secret),
        ] {
            *target = env(key).or(file_val.take());
        }
    }

    /// The on/off settings, from the environment or else the file.
    fn switches(&mut self, file: &FileSettings) -> anyhow::Result<()> {
        for (key, file_val, target) in [
            (
                "QUDAO_NOTIFY_WORKER",
                file.notify_worker,
                &mut self.notify_worker,
            ),
            (
                "QUDAO_STATS_PROJECTOR",
                file.stats_projector,
                &mut self.stats_projector,
            ),
            (
                "QUDAO_SEARCH_RELAY",
                file.search_relay,
                &mut self.search_relay,
            ),
            ("QUDAO_DEMO", file.demo, &mut self.demo),
            (
                "QUDAO_DEMO_HISTORY",
                file.demo_history,
                &mut self.demo_history,
            ),
            ("QUDAO_RATE_LIMITS", file.rate_limits, &mut self.rate_limits),
            (
                "QUDAO_TRUST_FORWARDED_FOR",
                file.trust_forwarded_for,
                &mut self.trust_forwarded_for,
            ),
        ] {
            if let Some(v) = env(key) {
                *target = parse_bool(&v).with_context(|| format!("{key} must be true or false"))?;
            } else if let Some(v) = file_val {
                *target = v;
            }
        }
        Ok(())
    }

    fn validate(&self) -> anyhow::Result<()> {
        if !(self.database_url.starts_with("sqlite:") || self.database_url.starts_with("postgres"))
        {
            anyhow::bail!(
                "QUDAO_DATABASE_URL must start with sqlite:// or postgres://, got {:?}",
                self.database_url
            );
        }
        if self.session_hours < 1 {
            anyhow::bail!("session_hours must be at least 1");
        }
        if self.deliver_after_days < 1 || self.complete_after_days < 1 {
            anyhow::bail!("deliver_after_days and complete_after_days must be at least 1");
        }
        if self.proposal_ttl_hours < 1 || self.freight_fen_per_ton_km < 0 {
            anyhow::bail!(
                "proposal_ttl_hours must be at least 1 and freight_fen_per_ton_km not negative"
            );
        }
        if self.delivery_max_attempts < 1 {
            anyhow::bail!("delivery_max_attempts must be at least 1");
        }
        self.mail_from
            .parse::<lettre::message::Mailbox>()
            .with_context(|| format!("QUDAO_MAIL_FROM is not an address: {:?}", self.mail_from))?;
        Ok(())
    }

    /// True when the database is SQLite.
    pub fn is_sqlite(&self) -> bool {
        self.database_url.starts_with("sqlite:")
    }
}

fn sqlite_url(data_dir: &Path) -> String {
    format!("sqlite://{}?mode=rwc", data_dir.join("qudao.db").display())
}

fn parse_bool(v: &str) -> Option<bool> {
    match v.trim().to_ascii_lowercase().as_str() {
        "1" | "true" | "yes" | "on" => Some(true),
        "0" | "false" | "no" | "off" => Some(false),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn booleans_accept_the_usual_spellings() {
        assert_eq!(parse_bool("FALSE"), Some(false));
        assert_eq!(parse_bool("on"), Some(true));
        assert_eq!(parse_bool("maybe"), None);
    }

    #[test]
    fn embedded_defaults_put_sqlite_under_the_data_dir() {
        let s = Settings::embedded("/tmp/q");
        assert_eq!(s.database_url, "sqlite:///tmp/q/qudao.db?mode=rwc");
        assert_eq!(s.listen, "127.0.0.1:8080");
        assert!(s.is_sqlite());
    }
}
