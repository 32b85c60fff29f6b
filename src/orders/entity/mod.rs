//! The orders' tables.
pub mod cart_item;
pub mod idempotency_key;
pub mod order;
pub mod order_event;
pub mod order_invoice;
pub mod order_invoice_file;
pub mod order_line;
pub mod order_line_lot;
pub mod order_receipt_photo;
pub mod recurring_order;
pub mod recurring_run;
