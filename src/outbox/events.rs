//! The events of each outbox channel, typed: one enum per channel, named by the row's topic,
//! its payload a plain struct. Writers build these; each channel's consumer reads its rows
//! back with [`ChannelEvent::decode`], and a row that does not read as an event of its channel
//! is an error, never a default.

use chrono::{DateTime, Utc};
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};

use super::Channel;
use super::entity as outbox;

/// Why a stored row does not read as an event of its channel.
#[derive(Debug, thiserror::Error)]
pub enum DecodeError {
    #[error("outbox row {0}: no channel is named {1:?}")]
    UnknownChannel(i64, String),
    #[error("outbox row {0}: the {1} channel has no topic {2:?}")]
    UnknownTopic(i64, &'static str, String),
    #[error("outbox row {0} ({1}): its payload does not read: {2}")]
    Payload(i64, String, serde_json::Error),
}

/// An event of one channel, as one outbox row holds it.
pub trait ChannelEvent: Sized {
    /// The channel whose consumer reads it.
    const CHANNEL: Channel;
    /// The row's topic: what happened, as webhooks and preferences name it.
    fn topic(&self) -> String;
    /// What the event is about: its aggregate's type and id.
    fn aggregate(&self) -> (&'static str, i64);
    /// The row's payload.
    fn payload(&self) -> serde_json::Value;
    /// Reads a row of this channel back.
    fn decode(row: &outbox::Model) -> Result<Self, DecodeError>;
}

/// Checks that `row` reads as an event of its channel.
pub fn check(row: &outbox::Model) -> Result<(), DecodeError> {
    match Channel::named(&row.channel) {
        Some(Channel::Search) => SearchEvent::decode(row).map(drop),
        Some(Channel::Notify) => NotifyEvent::decode(row).map(drop),
        Some(Channel::Email) => EmailEvent::decode(row).map(drop),
        Some(Channel::Webhook) => WebhookEvent::decode(row).map(drop),
        Some(Channel::Stats) => StatsEvent::decode(row).map(drop),
        None => Err(DecodeError::UnknownChannel(row.id, row.channel.clone())),
    }
}

/// A payload as JSON (its keys in order, as stored since the first release).
fn json_of(payload: &impl Serialize) -> serde_json::Value {
    serde_json::to_value(payload).expect("event payloads are plain data")
}

/// The row's payload read as `T`.
fn payload_of<T: DeserializeOwned>(row: &outbox::Model) -> Result<T, DecodeError> {
    serde_json::from_str(&row.payload)
        .map_err(|e| DecodeError::Payload(row.id, row.topic.clone(), e))
}

/// Declares what can happen to one kind of aggregate: each value's code ends the topic.
macro_rules! news {
    ($(#[$meta:meta])* $name:ident { $($variant:ident => $code:literal,)+ }) => {
        $(#[$meta])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq)]
        pub enum $name { $($variant),+ }

        impl $name {
            /// The code after the topic's dot.
            pub fn code(self) -> &'static str {
                match self { $($name::$variant => $code),+ }
            }

            /// The value of a code, if any.
            pub fn from_code(code: &str) -> Option<Self> {
                match code { $($code => Some($name::$variant),)+ _ => None }
            }
        }
    };
}

// ---------------------------------------------------------------- search

news! {
    /// What happened to a listing, for the search index.
    ListingNews {
        Created => "created",
        Updated => "updated",
        Deleted => "deleted",
    }
}

/// The `search` channel: what the search relay must bring into the index.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SearchEvent {
    /// A listing was created, changed or deleted; `offered` when the change put it on offer
    /// (new, back on sale or restocked), which is what saved searches alert to.
    Listing {
        news: ListingNews,
        listing_id: i64,
        version: i32,
        offered: bool,
    },
    /// An order took or returned some of a listing's stock.
    Stock { listing_id: i64 },
    /// A category's names or aliases changed: its listings are indexed again.
    Category { category_id: i64 },
}

#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct ListingPayload {
    listing_id: i64,
    version: i32,
    #[serde(default)]
    offered: bool,
}

#[derive(Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
enum StockReason {
    Stock,
}

#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct StockPayload {
    listing_id: i64,
    reason: StockReason,
}

#[derive(Serialize, Deserialize)]
#[serde(untagged)]
enum ListingOrStock {
    Listing(ListingPayload),
    Stock(StockPayload),
}

#[derive(Serialize, Deserialize)]
struct CategoryPayload {
    category_id: i64,
}

impl ChannelEvent for SearchEvent {
    const CHANNEL: Channel = Channel::Search;

    fn topic(&self) -> String {
        match self {
            SearchEvent::Listing { news, .. } => format!("listing.{}", news.code()),
            SearchEvent::Stock { .. } => "listing.updated".into(),
            SearchEvent::Category { .. } => "category.changed".into(),
        }
    }

    fn aggregate(&self) -> (&'static str, i64) {
        match *self {
            SearchEvent::Listing { listing_id, .. } | SearchEvent::Stock { listing_id } => {
                ("listing", listing_id)
            }
            SearchEvent::Category { category_id } => ("category", category_id),
        }
    }

    fn payload(&self) -> serde_json::Value {
        match *self {
            SearchEvent::Listing {
                listing_id,
                version,
                offered,
                ..
            } => json_of(&ListingPayload {
                listing_id,
                version,
                offered,
            }),
            SearchEvent::Stock { listing_id } => json_of(&StockPayload {
                listing_id,
                reason: StockReason::Stock,
            }),
            SearchEvent::Category { category_id } => json_of(&CategoryPayload { category_id }),
        }
    }

    fn decode(row: &outbox::Model) -> Result<Self, DecodeError> {
        let unknown = || DecodeError::UnknownTopic(row.id, "search", row.topic.clone());
        if row.topic == "category.changed" {
            let p: CategoryPayload = payload_of(row)?;
            return Ok(SearchEvent::Category {
                category_id: p.category_id,
            });
        }
        let news = row
            .topic
            .strip_prefix("listing.")
            .and_then(ListingNews::from_code)
            .ok_or_else(unknown)?;
        Ok(match payload_of(row)? {
            ListingOrStock::Listing(p) => SearchEvent::Listing {
                news,
                listing_id: p.listing_id,
                version: p.version,
                offered: p.offered,
            },
            ListingOrStock::Stock(p) if news == ListingNews::Updated => SearchEvent::Stock {
                listing_id: p.listing_id,
            },
            ListingOrStock::Stock(_) => return Err(unknown()),
        })
    }
}

// ---------------------------------------------------------------- notify

news! {
    /// What happened to an order: its status moved on, or its payment did.
    OrderNews {
        Placed => "placed",
        Confirmed => "confirmed",
        Shipped => "shipped",
        Delivered => "delivered",
        Disputed => "disputed",
        Completed => "completed",
        Cancelled => "cancelled",
        PaymentUnpaid => "payment_unpaid",
        PaymentPaidOffline => "payment_paid_offline",
        PaymentRefunded => "payment_refunded",
    }
}

news! {
    /// What happened to a match proposal.
    ProposalNews {
        Created => "created",
        Accepted => "accepted",
        Ordered => "ordered",
        Contracted => "contracted",
        Declined => "declined",
        Expired => "expired",
        Withdrawn => "withdrawn",
    }
}

news! {
    /// What happened to a purchase request.
    RequestNews {
        Created => "created",
        Updated => "updated",
        Fulfilled => "fulfilled",
        Expired => "expired",
        Cancelled => "cancelled",
    }
}

news! {
    /// Where an organization's application stands.
    OrganizationNews {
        Applied => "applied",
        Recommended => "recommended",
        Approved => "approved",
        Rejected => "rejected",
    }
}

news! {
    /// What happened to a certificate: sent for review, decided, objected to during its public
    /// notice, in effect, about to run out or run out.
    CertificateNews {
        Submitted => "submitted",
        Approved => "approved",
        Rejected => "rejected",
        Objected => "objected",
        Effective => "effective",
        Expiring => "expiring",
        Expired => "expired",
    }
}

news! {
    /// What happened to a season contract: proposed by the buyer, signed or declined by the
    /// cooperative, withdrawn by the buyer.
    ContractNews {
        Proposed => "proposed",
        Signed => "signed",
        Declined => "declined",
        Cancelled => "cancelled",
    }
}

/// A season contract as its events tell of it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ContractChange {
    pub contract_id: i64,
    pub buyer_id: i64,
    pub organization_id: i64,
    pub listing_id: i64,
    /// Its status code after the change.
    pub status: String,
}

/// A certificate as its events tell of it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CertificateChange {
    pub certificate_id: i64,
    pub organization_id: i64,
    /// The certificate's kind code.
    pub kind: String,
    /// Its status code after the change.
    pub status: String,
    /// Its organization's region.
    pub region_code: String,
}

/// An order as its events tell of it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct OrderChange {
    pub order_id: i64,
    pub buyer_id: i64,
    pub organization_id: i64,
    /// The order's status code after the change.
    pub status: String,
    pub total_fen: i64,
}

/// A match proposal as its events tell of it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ProposalChange {
    pub proposal_id: i64,
    pub request_id: i64,
    pub listing_id: i64,
    pub organization_id: i64,
    pub buyer_id: i64,
    pub status: String,
    /// In the request's unit, exact decimal text.
    pub quantity: String,
    /// In the listing's unit, exact decimal text.
    pub listing_quantity: String,
    pub listing_unit: String,
    pub amount_fen: i64,
    pub order_id: Option<i64>,
    /// The season contract it became, for a contract's proposal.
    #[serde(default)]
    pub contract_id: Option<i64>,
}

/// A purchase request as its events tell of it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RequestChange {
    pub request_id: i64,
    pub buyer_id: i64,
    pub status: String,
    pub quantity: String,
    pub filled: String,
    pub unit: String,
}

/// A sale took a listing's stock below its low mark.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LowStock {
    pub listing_id: i64,
    pub organization_id: i64,
    pub stock: String,
    pub unit: String,
}

/// A period of a recurring order passed without an order: the stock, the price or the
/// delivery no longer fitted, or no instance ran it in time. Both sides hear of it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RecurringSkip {
    pub recurring_order_id: i64,
    pub buyer_id: i64,
    pub organization_id: i64,
    pub listing_id: i64,
    /// The period's day, `2026-12-07`.
    pub period_on: String,
    /// Why: a stable code.
    pub reason: String,
    pub detail: String,
}

/// A listing went on its county's 防滞销 list: in season, with stock, and no sale for `weeks`
/// weeks. Its producer hears of it, and the buyers whose requests or saved searches fit it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Unsold {
    pub warning_id: i64,
    pub listing_id: i64,
    pub organization_id: i64,
    pub weeks: i64,
    pub buyer_ids: Vec<i64>,
}

/// An organization as its onboarding events tell of it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct OrganizationChange {
    pub organization_id: i64,
    pub status: String,
    pub region_code: String,
}

/// Last week, for the officials' weekly summary.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct WeeklySummary {
    /// ISO year and week, `202648`.
    pub week: i64,
    /// Its first and last day, `20261123`.
    pub from_day: i32,
    pub to_day: i32,
}

/// Listings newly found by one of a buyer's saved searches.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SearchMatch {
    #[serde(skip)]
    pub saved_search_id: i64,
    pub user_id: i64,
    pub items: Vec<MatchedListing>,
    /// The buyer asked for a daily digest rather than an email each time.
    pub digest: bool,
}

/// One listing a saved search found.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct MatchedListing {
    pub saved_search_id: i64,
    pub listing_id: i64,
}

/// The topic of the weekly summary.
pub const WEEKLY_SUMMARY: &str = "stats.weekly";
/// The topic of a saved search's new finds.
pub const SEARCH_MATCH: &str = "search.match";

/// The topic of a recurring order's skipped period: an order notice, as essential as one.
pub const RECURRING_SKIPPED: &str = "order.recurring_skipped";

/// The `notify` channel: what people (and organizations' webhooks) hear of.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum NotifyEvent {
    Order(OrderNews, OrderChange),
    Proposal(ProposalNews, ProposalChange),
    Request(RequestNews, RequestChange),
    LowStock(LowStock),
    Unsold(Unsold),
    Organization(OrganizationNews, OrganizationChange),
    Certificate(CertificateNews, CertificateChange),
    Contract(ContractNews, ContractChange),
    RecurringSkipped(RecurringSkip),
    WeeklySummary(WeeklySummary),
    SearchMatch(SearchMatch),
}

impl NotifyEvent {
    /// The organization the event concerns, whose webhooks hear of it.
    pub fn organization_id(&self) -> Option<i64> {
        match self {
            NotifyEvent::Order(_, o) => Some(o.organization_id),
            NotifyEvent::Proposal(_, p) => Some(p.organization_id),
            NotifyEvent::LowStock(l) => Some(l.organization_id),
            NotifyEvent::Unsold(u) => Some(u.organization_id),
            NotifyEvent::Organization(_, o) => Some(o.organization_id),
            NotifyEvent::Certificate(_, c) => Some(c.organization_id),
            NotifyEvent::RecurringSkipped(r) => Some(r.organization_id),
            NotifyEvent::Contract(_, c) => Some(c.organization_id),
            NotifyEvent::Request(..)
            | NotifyEvent::WeeklySummary(_)
            | NotifyEvent::SearchMatch(_) => None,
        }
    }

    /// Whether the event asks for its emails to wait for the daily digest.
    pub fn asks_digest(&self) -> bool {
        matches!(self, NotifyEvent::SearchMatch(m) if m.digest)
    }
}

impl ChannelEvent for NotifyEvent {
    const CHANNEL: Channel = Channel::Notify;

    fn topic(&self) -> String {
        match self {
            NotifyEvent::Order(n, _) => format!("order.{}", n.code()),
            NotifyEvent::Proposal(n, _) => format!("proposal.{}", n.code()),
            NotifyEvent::Request(n, _) => format!("purchase_request.{}", n.code()),
            NotifyEvent::LowStock(_) => "listing.low_stock".into(),
            NotifyEvent::Unsold(_) => "listing.unsold".into(),
            NotifyEvent::Organization(n, _) => format!("organization.{}", n.code()),
            NotifyEvent::Certificate(n, _) => format!("certificate.{}", n.code()),
            NotifyEvent::RecurringSkipped(_) => RECURRING_SKIPPED.into(),
            NotifyEvent::Contract(n, _) => format!("contract.{}", n.code()),
            NotifyEvent::WeeklySummary(_) => WEEKLY_SUMMARY.into(),
            NotifyEvent::SearchMatch(_) => SEARCH_MATCH.into(),
        }
    }

    fn aggregate(&self) -> (&'static str, i64) {
        match self {
            NotifyEvent::Order(_, o) => ("order", o.order_id),
            NotifyEvent::Proposal(_, p) => ("proposal", p.proposal_id),
            NotifyEvent::Request(_, r) => ("purchase_request", r.request_id),
            NotifyEvent::LowStock(l) => ("listing", l.listing_id),
            NotifyEvent::Unsold(u) => ("listing", u.listing_id),
            NotifyEvent::Organization(_, o) => ("organization", o.organization_id),
            NotifyEvent::Certificate(_, c) => ("certificate", c.certificate_id),
            NotifyEvent::RecurringSkipped(r) => ("recurring_order", r.recurring_order_id),
            NotifyEvent::Contract(_, c) => ("contract", c.contract_id),
            NotifyEvent::WeeklySummary(w) => ("week", w.week),
            NotifyEvent::SearchMatch(m) => ("saved_search", m.saved_search_id),
        }
    }

    fn payload(&self) -> serde_json::Value {
        match self {
            NotifyEvent::Order(_, o) => json_of(o),
            NotifyEvent::Proposal(_, p) => json_of(p),
            NotifyEvent::Request(_, r) => json_of(r),
            NotifyEvent::LowStock(l) => json_of(l),
            NotifyEvent::Unsold(u) => json_of(u),
            NotifyEvent::Organization(_, o) => json_of(o),
            NotifyEvent::Certificate(_, c) => json_of(c),
            NotifyEvent::RecurringSkipped(r) => json_of(r),
            NotifyEvent::Contract(_, c) => json_of(c),
            NotifyEvent::WeeklySummary(w) => json_of(w),
            NotifyEvent::SearchMatch(m) => json_of(m),
        }
    }

    fn decode(row: &outbox::Model) -> Result<Self, DecodeError> {
        let unknown = || DecodeError::UnknownTopic(row.id, "notify", row.topic.clone());
        let topic = row.topic.as_str();
        match topic {
            "listing.low_stock" => return Ok(NotifyEvent::LowStock(payload_of(row)?)),
            "listing.unsold" => return Ok(NotifyEvent::Unsold(payload_of(row)?)),
            WEEKLY_SUMMARY => return Ok(NotifyEvent::WeeklySummary(payload_of(row)?)),
            RECURRING_SKIPPED => return Ok(NotifyEvent::RecurringSkipped(payload_of(row)?)),
            SEARCH_MATCH => {
                let mut m: SearchMatch = payload_of(row)?;
                m.saved_search_id = row.aggregate_id;
                return Ok(NotifyEvent::SearchMatch(m));
            }
            _ => {}
        }
        let (kind, what) = topic.split_once('.').ok_or_else(unknown)?;
        Ok(match kind {
            "order" => NotifyEvent::Order(
                OrderNews::from_code(what).ok_or_else(unknown)?,
                payload_of(row)?,
            ),
            "proposal" => NotifyEvent::Proposal(
                ProposalNews::from_code(what).ok_or_else(unknown)?,
                payload_of(row)?,
            ),
            "purchase_request" => NotifyEvent::Request(
                RequestNews::from_code(what).ok_or_else(unknown)?,
                payload_of(row)?,
            ),
            "organization" => NotifyEvent::Organization(
                OrganizationNews::from_code(what).ok_or_else(unknown)?,
                payload_of(row)?,
            ),
            "certificate" => NotifyEvent::Certificate(
                CertificateNews::from_code(what).ok_or_else(unknown)?,
                payload_of(row)?,
            ),
            "contract" => NotifyEvent::Contract(
                ContractNews::from_code(what).ok_or_else(unknown)?,
                payload_of(row)?,
            ),
            _ => return Err(unknown()),
        })
    }
}

// ---------------------------------------------------------------- email

/// What an email is keyed by in its Message-ID: the event it tells of, or a digest.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum EmailKey {
    Event(i64),
    Digest(String),
}

/// The topic of a daily digest email.
pub const DIGEST: &str = "notify.digest";

/// The `email` channel: one email to one person, rendered when it is sent (in their language
/// then, to their address then).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EmailEvent {
    /// The topic of the event it tells of, or [`DIGEST`].
    pub topic: String,
    pub key: EmailKey,
    pub user_id: i64,
    /// The message template's name.
    pub message: String,
    /// The template's variables.
    pub vars: serde_json::Value,
}

#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct EmailPayload {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    event_id: Option<i64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    key: Option<String>,
    user_id: i64,
    message: String,
    vars: serde_json::Value,
}

impl EmailEvent {
    /// The unsubscribe link the email carries, if any.
    pub fn unsubscribe(&self) -> Option<&str> {
        self.vars["unsubscribe"].as_str()
    }
}

impl ChannelEvent for EmailEvent {
    const CHANNEL: Channel = Channel::Email;

    fn topic(&self) -> String {
        self.topic.clone()
    }

    fn aggregate(&self) -> (&'static str, i64) {
        ("user", self.user_id)
    }

    fn payload(&self) -> serde_json::Value {
        let (event_id, key) = match &self.key {
            EmailKey::Event(id) => (Some(*id), None),
            EmailKey::Digest(k) => (None, Some(k.clone())),
        };
        json_of(&EmailPayload {
            event_id,
            key,
            user_id: self.user_id,
            message: self.message.clone(),
            vars: self.vars.clone(),
        })
    }

    fn decode(row: &outbox::Model) -> Result<Self, DecodeError> {
        let p: EmailPayload = payload_of(row)?;
        let key = match (p.event_id, p.key) {
            (Some(id), None) => EmailKey::Event(id),
            (None, Some(k)) if row.topic == DIGEST => EmailKey::Digest(k),
            _ => {
                return Err(DecodeError::UnknownTopic(
                    row.id,
                    "email",
                    row.topic.clone(),
                ));
            }
        };
        Ok(EmailEvent {
            topic: row.topic.clone(),
            key,
            user_id: p.user_id,
            message: p.message,
            vars: p.vars,
        })
    }
}

// ---------------------------------------------------------------- webhook

/// The `webhook` channel: one notify event POSTed to one organization's endpoint.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct WebhookEvent {
    /// The topic of the event it carries.
    #[serde(skip)]
    pub topic: String,
    pub webhook_id: i64,
    /// The notify event's outbox id, which the endpoint sees as the delivery's id.
    pub event_id: i64,
    pub created_at: DateTime<Utc>,
    /// The notify event's payload, as the endpoint receives it.
    pub data: serde_json::Value,
}

impl ChannelEvent for WebhookEvent {
    const CHANNEL: Channel = Channel::Webhook;

    fn topic(&self) -> String {
        self.topic.clone()
    }

    fn aggregate(&self) -> (&'static str, i64) {
        ("webhook", self.webhook_id)
    }

    fn payload(&self) -> serde_json::Value {
        json_of(self)
    }

    fn decode(row: &outbox::Model) -> Result<Self, DecodeError> {
        let mut w: WebhookEvent = payload_of(row)?;
        w.topic = row.topic.clone();
        Ok(w)
    }
}

// ---------------------------------------------------------------- stats

/// The `stats` channel: an order whose sales facts may be behind it (placed, completed or
/// cancelled). The projector brings the order's facts up to date with the order as stored,
/// booking each fact at the time its change happened.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StatsEvent {
    pub order_id: i64,
}

/// The topic of every `stats` event.
const ORDER_SALES: &str = "order.sales";

impl ChannelEvent for StatsEvent {
    const CHANNEL: Channel = Channel::Stats;

    fn topic(&self) -> String {
        ORDER_SALES.into()
    }

    fn aggregate(&self) -> (&'static str, i64) {
        ("order", self.order_id)
    }

    fn payload(&self) -> serde_json::Value {
        json_of(self)
    }

    fn decode(row: &outbox::Model) -> Result<Self, DecodeError> {
        if row.topic != ORDER_SALES {
            return Err(DecodeError::UnknownTopic(
                row.id,
                Channel::Stats.as_str(),
                row.topic.clone(),
            ));
        }
        payload_of(row)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn row_of<E: ChannelEvent>(e: &E) -> outbox::Model {
        let (aggregate_type, aggregate_id) = e.aggregate();
        outbox::Model {
            id: 7,
            channel: E::CHANNEL.as_str().into(),
            topic: e.topic(),
            aggregate_type: aggregate_type.into(),
            aggregate_id,
            payload: e.payload().to_string(),
            attempts: 0,
            created_at: Utc::now(),
            available_at: Utc::now(),
            locked_until: None,
            locked_by: None,
            delivered_at: None,
            dead_at: None,
            last_error: None,
        }
    }

    fn round_trip<E: ChannelEvent + PartialEq + std::fmt::Debug>(e: E) {
        let row = row_of(&e);
        assert_eq!(E::decode(&row).unwrap(), e, "{}", row.payload);
        check(&row).unwrap();
    }

    #[test]
    fn every_event_reads_back_as_written() {
        round_trip(SearchEvent::Listing {
            news: ListingNews::Created,
            listing_id: 3,
            version: 2,
            offered: true,
        });
        round_trip(SearchEvent::Stock { listing_id: 3 });
        round_trip(SearchEvent::Category { category_id: 9 });
        round_trip(NotifyEvent::Order(
            OrderNews::PaymentPaidOffline,
            OrderChange {
                order_id: 1,
                buyer_id: 2,
                organization_id: 3,
                status: "delivered".into(),
                total_fen: 52_000,
            },
        ));
        round_trip(NotifyEvent::SearchMatch(SearchMatch {
            saved_search_id: 5,
            user_id: 2,
            items: vec![MatchedListing {
                saved_search_id: 5,
                listing_id: 8,
            }],
            digest: true,
        }));
        round_trip(EmailEvent {
            topic: DIGEST.into(),
            key: EmailKey::Digest("digest-40".into()),
            user_id: 2,
            message: "digest".into(),
            vars: serde_json::json!({"name": "阿梅"}),
        });
        round_trip(WebhookEvent {
            topic: "order.placed".into(),
            webhook_id: 4,
            event_id: 11,
            created_at: Utc::now(),
            data: serde_json::json!({"order_id": 1}),
        });
    }

    #[test]
    fn payloads_keep_their_stored_shape() {
        let stock = SearchEvent::Stock { listing_id: 3 };
        assert_eq!(stock.topic(), "listing.updated");
        assert_eq!(
            stock.payload().to_string(),
            r#"{"listing_id":3,"reason":"stock"}"#
        );
        let order = NotifyEvent::Order(
            OrderNews::Placed,
            OrderChange {
                order_id: 1,
                buyer_id: 2,
                organization_id: 3,
                status: "placed".into(),
                total_fen: 100,
            },
        );
        assert_eq!(order.topic(), "order.placed");
        assert_eq!(
            order.payload().to_string(),
            r#"{"buyer_id":2,"order_id":1,"organization_id":3,"status":"placed","total_fen":100}"#
        );
    }

    #[test]
    fn rows_that_do_not_read_are_errors() {
        let good = row_of(&SearchEvent::Category { category_id: 9 });
        let bad = [
            outbox::Model {
                channel: "stats".into(),
                ..good.clone()
            },
            outbox::Model {
                topic: "category.renamed".into(),
                ..good.clone()
            },
            outbox::Model {
                payload: r#"{"category":9}"#.into(),
                ..good.clone()
            },
            outbox::Model {
                channel: "notify".into(),
                topic: "order.teleported".into(),
                ..good.clone()
            },
            outbox::Model {
                topic: "listing.deleted".into(),
                payload: r#"{"listing_id":3,"reason":"stock"}"#.into(),
                ..good.clone()
            },
        ];
        for row in bad {
            assert!(check(&row).is_err(), "{row:?}");
        }
    }
}
