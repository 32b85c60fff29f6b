//! Matching (撮合): purchase requests (采购需求) matched against listings across cooperatives,
//! as proposals that become orders when both sides accept.

pub mod domain;
pub mod engine;
pub mod entity;
pub mod market;
pub mod requests;
pub mod service;

#[cfg(test)]
mod tests;
