//! Notifications: the dispatcher that turns `notify` outbox events into in-app notices and
//! emails for the people concerned, and the sender that delivers those emails through lettre
//! (SMTP in production, `.eml` files under `data/outbox/` by default), at least once, with
//! retries and backoff, marking an email dead after its last attempt for an admin to retry.

pub mod dispatcher;
pub mod entity;
pub mod http;
pub mod mailer;
pub mod messages;

pub use dispatcher::Worker;
