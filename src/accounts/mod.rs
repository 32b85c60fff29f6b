//! Accounts: users, roles, sessions, API tokens and region scopes.

pub mod auth;
pub mod entity;
pub mod password;
pub mod role;
pub mod service;
pub mod token;

pub use role::{Actor, Language, Role};
