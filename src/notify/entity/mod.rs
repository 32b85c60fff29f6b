//! The notifications' tables.
pub mod notification;
pub mod webhook;
