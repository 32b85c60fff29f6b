//! Notifications: the dispatcher that turns `notify` outbox events into in-app notices, emails
//! for the people concerned and signed webhook deliveries for their organization, and the
//! senders that deliver those emails through lettre (SMTP in production, `.eml` files under
//! `data/outbox/` by default) and those webhooks over HTTPS, at least once, with retries and
//! backoff, marking a delivery dead after its last attempt for an admin to retry.

pub mod bell;
pub mod digest;
pub mod dispatcher;
pub mod entity;
pub mod mailer;
pub mod messages;
pub mod preferences;
pub mod summary;
pub mod webhooks;

pub use dispatcher::Worker;
