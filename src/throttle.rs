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
use std::net::{IpAddr, SocketAddr};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use axum::extract::{ConnectInfo, Request, State};
use axum::http::{HeaderMap, Method, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

use crate::error::AppError;
use crate::state::AppState;

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

/// The client's address: the connection's peer, or, behind a trusted load balancer, the last
/// `X-Forwarded-For` entry (the one the balancer wrote).
pub fn client_address(
    request_headers: &HeaderMap,
    peer: Option<SocketAddr>,
    trust: bool,
) -> String {
    let forwarded = trust
        .then(|| {
            request_headers
                .get_all("x-forwarded-for")
                .iter()
                .filter_map(|v| v.to_str().ok())
                .flat_map(|v| v.split(','))
                .next_back()
                .and_then(|a| a.trim().parse::<IpAddr>().ok())
        })
        .flatten();
    match forwarded.or(peer.map(|p| p.ip())) {
        // One IPv6 host usually holds a whole /64.
        Some(IpAddr::V6(v6)) => {
            let s = v6.segments();
            format!("{:x}:{:x}:{:x}:{:x}::/64", s[0], s[1], s[2], s[3])
        }
        Some(IpAddr::V4(v4)) => v4.to_string(),
        None => "unknown".into(),
    }
}

/// What kind of limit a request falls under, if any, and whether it is keyed by its
/// credential rather than its address. Sign-in per account is checked by the sign-in handlers,
/// which know the username.
fn classify(method: &Method, path: &str, headers: &HeaderMap) -> Option<(Kind, Option<String>)> {
    match (method, path) {
        (&Method::POST, "/api/v1/auth/login" | "/login") => Some((Kind::SignInAddress, None)),
        (&Method::POST, "/api/v1/auth/register") => Some((Kind::Register, None)),
        (&Method::GET, "/api/v1/search") => Some((Kind::Search, None)),
        (m, _) if m == Method::GET || m == Method::HEAD || m == Method::OPTIONS => None,
        _ => Some((Kind::Write, credential(headers))),
    }
}

/// The bearer token or session cookie a request carries, as the key of its writes.
fn credential(headers: &HeaderMap) -> Option<String> {
    if let Some(bearer) = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
    {
        return Some(format!("bearer {bearer}"));
    }
    crate::accounts::auth::cookie(headers, crate::accounts::auth::SESSION_COOKIE)
        .filter(|c| !c.is_empty())
        .map(|c| format!("session {c}"))
}

/// Middleware: applies the address and write limits before a request reaches its handler.
pub async fn guard(State(state): State<AppState>, request: Request, next: Next) -> Response {
    if let Some((kind, key)) = classify(request.method(), request.uri().path(), request.headers()) {
        let key = key.unwrap_or_else(|| address_of(&state, &request));
        if let Err(limited) = state.throttle.take(kind, &key) {
            tracing::info!(?kind, "rate limited");
            return AppError::from(limited).into_response();
        }
    }
    next.run(request).await
}

/// The address of a request, as the throttle keys it.
pub fn address_of(state: &AppState, request: &Request) -> String {
    let peer = request
        .extensions()
        .get::<ConnectInfo<SocketAddr>>()
        .map(|c| c.0);
    client_address(request.headers(), peer, state.settings.trust_forwarded_for)
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

    #[test]
    fn addresses_come_from_the_peer_unless_a_balancer_is_trusted() {
        let peer: SocketAddr = "203.0.113.7:5000".parse().unwrap();
        let mut h = HeaderMap::new();
        h.insert("x-forwarded-for", "10.0.0.1, 198.51.100.9".parse().unwrap());
        assert_eq!(client_address(&h, Some(peer), false), "203.0.113.7");
        assert_eq!(client_address(&h, Some(peer), true), "198.51.100.9");
        let v6: SocketAddr = "[2001:db8:1:2:3:4:5:6]:80".parse().unwrap();
        assert_eq!(
            client_address(&HeaderMap::new(), Some(v6), false),
            "2001:db8:1:2::/64"
        );
        assert_eq!(client_address(&HeaderMap::new(), None, true), "unknown");
    }

    #[test]
    fn requests_fall_under_their_limits() {
        let none = HeaderMap::new();
        let kind = |m: Method, p: &str| classify(&m, p, &none).map(|(k, _)| k);
        assert_eq!(kind(Method::POST, "/login"), Some(Kind::SignInAddress));
        assert_eq!(
            kind(Method::POST, "/api/v1/auth/register"),
            Some(Kind::Register)
        );
        assert_eq!(kind(Method::GET, "/api/v1/search"), Some(Kind::Search));
        assert_eq!(kind(Method::GET, "/api/v1/listings"), None);
        assert_eq!(
            kind(Method::DELETE, "/api/v1/cart/items/3"),
            Some(Kind::Write)
        );
        let mut bearer = HeaderMap::new();
        bearer.insert(header::AUTHORIZATION, "Bearer abc".parse().unwrap());
        let (k, key) = classify(&Method::POST, "/api/v1/checkout", &bearer).unwrap();
        assert_eq!((k, key.as_deref()), (Kind::Write, Some("bearer abc")));
    }
}
