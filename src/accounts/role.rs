//! Roles and the signed-in person acting on a request.

use super::entity::user;
use crate::division::region_contains;
use crate::error::AppError;

vocabulary! {
    /// What a user may do.
    Role {
        Buyer => "buyer", "采购方", "buyer";
        Producer => "producer", "生产经营主体", "producer";
        Official => "official", "政府工作人员", "official";
        Admin => "admin", "平台管理员", "admin";
    }
}

vocabulary! {
    /// The language a person reads qudao in: pages, notices and emails.
    Language {
        Zh => "zh", "中文", "Chinese";
        En => "en", "英文", "English";
    }
}

/// How the request proved who it is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Credential {
    /// A browser session cookie; the value is the session's stored id.
    Session { id: String, csrf_token: String },
    /// A bearer token; the value is the token row's id.
    Token { id: i64 },
}

/// The signed-in user behind a request.
#[derive(Debug, Clone)]
pub struct Actor {
    pub user: user::Model,
    pub role: Role,
    pub credential: Credential,
}

impl Actor {
    /// The user's id.
    pub fn id(&self) -> i64 {
        self.user.id
    }

    /// The organization a producer works for.
    pub fn organization_id(&self) -> Option<i64> {
        match self.role {
            Role::Producer => self.user.organization_id,
            _ => None,
        }
    }

    /// True for an official whose scope covers `region_code`.
    pub fn official_covers(&self, region_code: &str) -> bool {
        self.role == Role::Official
            && self
                .user
                .region_code
                .as_deref()
                .is_some_and(|scope| region_contains(scope, region_code))
    }

    /// True for admins.
    pub fn is_admin(&self) -> bool {
        self.role == Role::Admin
    }

    /// True when this is the buyer `buyer_id`, staff of the seller `organization_id`, or an
    /// admin: who sees a trade between the two (an order's, a standing order's, a contract's).
    pub fn sees_trade(&self, buyer_id: i64, organization_id: i64) -> bool {
        self.is_admin() || self.id() == buyer_id || self.organization_id() == Some(organization_id)
    }

    /// The CSRF token of the browser session behind this request, if it came with one.
    pub fn session_csrf(&self) -> Option<&str> {
        match &self.credential {
            Credential::Session { csrf_token, .. } => Some(csrf_token),
            Credential::Token { .. } => None,
        }
    }

    /// True if `sent` is this browser session's CSRF token.
    pub fn sent_session_csrf(&self, sent: &str) -> bool {
        self.session_csrf()
            .is_some_and(|t| super::token::constant_time_eq(sent, t))
    }
}

/// Refuses everyone but buyers, saying what only buyers do (`"save searches"`).
pub fn require_buyer(actor: &Actor, what: &str) -> Result<(), AppError> {
    if actor.role == Role::Buyer {
        Ok(())
    } else {
        Err(AppError::Forbidden(format!("only buyer accounts {what}")))
    }
}
