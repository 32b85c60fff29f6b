//! The notifications' tables.
pub mod notification;
pub mod preference;
pub mod webhook;
