//! The notifications' tables.
pub mod notification;
