//! Orders: carts, checkout with exact stock reservation, idempotent requests and the
//! order lifecycle both sides can follow.

pub mod cart;
pub mod checkout;
pub mod domain;
pub mod entity;
pub mod events;
pub mod idempotency;
pub mod invoices;
pub mod lifecycle;
pub mod lots;
pub mod recurring;
pub mod request;
pub mod short;
pub mod views;
