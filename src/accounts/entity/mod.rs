//! The accounts' tables.
pub mod api_token;
pub mod session;
pub mod user;
