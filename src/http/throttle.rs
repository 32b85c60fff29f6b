//! The rate limits at the door: which limit a request falls under, keyed by its address or
//! its credential, checked before it reaches its handler.

use std::net::{IpAddr, SocketAddr};

use axum::extract::{ConnectInfo, Request, State};
use axum::http::{HeaderMap, Method, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

use super::state::AppState;
use crate::error::AppError;
use crate::throttle::Kind;

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
    super::auth::cookie(headers, super::auth::SESSION_COOKIE)
        .filter(|c| !c.is_empty())
        .map(|c| format!("session {c}"))
}

/// Middleware: applies the address and write limits before a request reaches its handler.
pub async fn guard(State(state): State<AppState>, request: Request, next: Next) -> Response {
    if let Some((kind, key)) = classify(request.method(), request.uri().path(), request.headers()) {
        let key = key.unwrap_or_else(|| address_of(&state, &request));
        if let Err(limited) = state.throttle.take(kind, &key).await {
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
