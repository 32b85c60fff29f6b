//! Who hears of an event, and what they read: each message is a folder under
//! `frontend/emails/` with a subject, a plain-text and an HTML body, written in Simplified
//! Chinese and English and rendered in the recipient's language.

use std::collections::BTreeMap;

use minijinja::{Environment, Value, context};
use sea_orm::{
    ColumnTrait, ConnectionTrait, DbErr, EntityTrait, ModelTrait, QueryFilter, QueryOrder,
};
use serde_json::json;

use crate::accounts::entity::user;
use crate::accounts::{Language, Role};
use crate::catalog::domain::Unit;
use crate::catalog::domain::{county_of, format_yuan, region_contains};
use crate::catalog::entity::{certificate, listing, organization};
use crate::catalog::listings::LOW_STOCK_ORDERS;
use crate::catalog::regions;
use crate::orders::entity::order;
use crate::outbox::ChannelEvent;
use crate::outbox::events::{
    CertificateChange, CertificateNews, ContractChange, ContractNews, LowStock, NotifyEvent,
    OrderChange, OrderNews, OrganizationChange, OrganizationNews, ProposalChange, RecurringSkip,
    SearchMatch, Unsold, WeeklySummary,
};
use crate::search::saved::entity::saved_search;
use crate::stats::domain::day_date;

/// One message rendered for one person.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rendered {
    pub subject: String,
    pub text: String,
    pub html: String,
}

/// One person to tell of an event, with what to tell them.
#[derive(Debug, Clone)]
pub struct Notice {
    pub user: user::Model,
    /// The message folder.
    pub message: String,
    /// What the message's templates read.
    pub vars: serde_json::Value,
    pub link: String,
}

/// The messages' templates, loaded once.
pub struct Messages {
    env: Environment<'static>,
}

macro_rules! message {
    ($env:expr, $name:literal) => {
        $env.add_template(
            concat!($name, "/subject.txt"),
            include_str!(concat!("../../frontend/emails/", $name, "/subject.txt")),
        )?;
        $env.add_template(
            concat!($name, "/text.txt"),
            include_str!(concat!("../../frontend/emails/", $name, "/text.txt")),
        )?;
        $env.add_template(
            concat!($name, "/html.html"),
            include_str!(concat!("../../frontend/emails/", $name, "/html.html")),
        )?;
    };
}

impl Messages {
    pub fn new() -> anyhow::Result<Self> {
        let mut env = Environment::new();
        env.add_template(
            "phrases.txt",
            include_str!("../../frontend/emails/phrases.txt"),
        )?;
        env.add_template(
            "layout.html",
            include_str!("../../frontend/emails/layout.html"),
        )?;
        message!(env, "order");
        message!(env, "proposal");
        message!(env, "organization");
        message!(env, "certificate");
        message!(env, "recurring");
        message!(env, "contract");
        message!(env, "low_stock");
        message!(env, "unsold");
        message!(env, "weekly");
        message!(env, "saved_search");
        message!(env, "digest");
        Ok(Messages { env })
    }

    /// Renders `message` for a reader of `language`.
    pub fn render(
        &self,
        message: &str,
        language: Language,
        vars: &serde_json::Value,
    ) -> anyhow::Result<Rendered> {
        let zh = language == Language::Zh;
        let base =
            context! { zh, lang => if zh { "zh" } else { "en" }, ..Value::from_serialize(vars) };
        let render = |part: &str, ctx: &Value| -> anyhow::Result<String> {
            Ok(self
                .env
                .get_template(&format!("{message}/{part}"))?
                .render(ctx)?)
        };
        let subject = render("subject.txt", &base)?.trim().replace('\n', " ");
        let text = render("text.txt", &base)?.trim().to_string() + "\n";
        let html = render(
            "html.html",
            &context! { subject => &subject, ..base.clone() },
        )?;
        Ok(Rendered {
            subject,
            text,
            html,
        })
    }
}

/// A unit in Chinese and in English.
fn unit_names(unit: Unit) -> (&'static str, &'static str) {
    (unit.name_zh(), unit.name_en())
}

/// The active staff of a producer organization.
async fn staff(db: &impl ConnectionTrait, organization_id: i64) -> Result<Vec<user::Model>, DbErr> {
    user::Entity::find()
        .filter(user::Column::OrganizationId.eq(organization_id))
        .filter(user::Column::Role.eq(Role::Producer.code()))
        .filter(user::Column::Disabled.eq(false))
        .order_by_asc(user::Column::Id)
        .all(db)
        .await
}

async fn active_user(db: &impl ConnectionTrait, id: i64) -> Result<Vec<user::Model>, DbErr> {
    Ok(user::Entity::find_by_id(id)
        .one(db)
        .await?
        .filter(|u| !u.disabled)
        .into_iter()
        .collect())
}

/// The active users of a role.
async fn with_role(db: &impl ConnectionTrait, role: Role) -> Result<Vec<user::Model>, DbErr> {
    user::Entity::find()
        .filter(user::Column::Role.eq(role.code()))
        .filter(user::Column::Disabled.eq(false))
        .order_by_asc(user::Column::Id)
        .all(db)
        .await
}

/// The notices a `notify` event gives rise to: an order change goes to the other side (both
/// when it ends or is cancelled, admins too when it is disputed), a match proposal's change to
/// the buyer and the producer's staff, an organization's application to the officials who may
/// recommend it, its recommendation to the admins and the decision to its staff, a listing
/// running low to its producer's staff. Events nobody needs to hear of give none.
pub async fn notices(
    db: &impl ConnectionTrait,
    event: &NotifyEvent,
    public_url: &str,
) -> Result<Vec<Notice>, DbErr> {
    let told = match event {
        NotifyEvent::WeeklySummary(week) => return weekly(db, week, public_url).await,
        NotifyEvent::SearchMatch(found) => return saved_search_alert(db, found, public_url).await,
        NotifyEvent::Order(news, o) => order_notice(db, *news, o, public_url).await?,
        NotifyEvent::Proposal(_, p) => proposal_notice(db, p, public_url).await?,
        NotifyEvent::LowStock(low) => low_stock_notice(db, low, public_url).await?,
        NotifyEvent::Unsold(u) => return unsold_notices(db, event, u, public_url).await,
        NotifyEvent::Organization(news, o) => organization_notice(db, *news, o, public_url).await?,
        NotifyEvent::Certificate(news, c) => certificate_notice(db, *news, c, public_url).await?,
        NotifyEvent::RecurringSkipped(r) => recurring_notice(db, r, public_url).await?,
        NotifyEvent::Contract(news, c) => contract_notice(db, *news, c, public_url).await?,
        NotifyEvent::Request(..) => None,
    };
    Ok(told
        .map(|t| t.into_each(&event.topic()))
        .unwrap_or_default())
}

impl Told {
    /// Each person's own copy.
    fn into_each(self, topic: &str) -> Vec<Notice> {
        let Told {
            message,
            vars,
            link,
            people,
        } = self;
        people
            .into_iter()
            .map(|user| {
                let mut vars = vars.clone();
                vars["name"] = json!(user.display_name);
                vars["topic"] = json!(topic);
                vars["link"] = json!(link);
                Notice {
                    user,
                    message: message.to_string(),
                    vars,
                    link: link.clone(),
                }
            })
            .collect()
    }
}

/// A listing on the 防滞销 list: its producer's staff are asked to look at its price and
/// stock; the buyers whose requests or saved searches fit it are pointed to it.
async fn unsold_notices(
    db: &impl ConnectionTrait,
    event: &NotifyEvent,
    u: &Unsold,
    public_url: &str,
) -> Result<Vec<Notice>, DbErr> {
    let Some(l) = listing::Entity::find_by_id(u.listing_id).one(db).await? else {
        return Ok(Vec::new());
    };
    let mut buyers = Vec::new();
    for id in &u.buyer_ids {
        buyers.extend(active_user(db, *id).await?);
    }
    let (unit_zh, unit_en) = unit_names(l.unit);
    let vars = |for_buyer: bool| {
        json!({
            "title": l.title,
            "weeks": u.weeks,
            "price": format_yuan(l.price_fen),
            "unit_zh": unit_zh,
            "unit_en": unit_en,
            "for_buyer": for_buyer,
        })
    };
    let topic = event.topic();
    let producer = Told {
        message: "unsold",
        vars: vars(false),
        link: format!("{public_url}/producer/listings/{}", l.id),
        people: staff(db, l.organization_id).await?,
    };
    let buyers = Told {
        message: "unsold",
        vars: vars(true),
        link: format!("{public_url}/listings/{}", l.id),
        people: buyers,
    };
    Ok(producer
        .into_each(&topic)
        .into_iter()
        .chain(buyers.into_each(&topic))
        .collect())
}

/// One message to a group of people, before each gets their own copy.
struct Told {
    message: &'static str,
    vars: serde_json::Value,
    link: String,
    people: Vec<user::Model>,
}

async fn order_notice(
    db: &impl ConnectionTrait,
    news: OrderNews,
    change: &OrderChange,
    public_url: &str,
) -> Result<Option<Told>, DbErr> {
    let Some(o) = order::Entity::find_by_id(change.order_id).one(db).await? else {
        return Ok(None);
    };
    let buyer = active_user(db, o.buyer_id).await?;
    let seller = staff(db, o.organization_id).await?;
    let people: Vec<user::Model> = match news {
        OrderNews::Placed | OrderNews::Delivered => seller,
        OrderNews::Confirmed | OrderNews::Shipped => buyer,
        OrderNews::Completed | OrderNews::Cancelled => buyer.into_iter().chain(seller).collect(),
        OrderNews::Disputed => seller
            .into_iter()
            .chain(with_role(db, Role::Admin).await?)
            .collect(),
        OrderNews::PaymentUnpaid | OrderNews::PaymentPaidOffline | OrderNews::PaymentRefunded => {
            buyer
        }
    };
    let vars = json!({
        "order_id": o.id,
        "seller": o.seller_name,
        "total": format_yuan(o.total_fen),
    });
    let link = format!("{public_url}/api/v1/orders/{}", o.id);
    Ok(Some(Told {
        message: "order",
        vars,
        link,
        people,
    }))
}

async fn proposal_notice(
    db: &impl ConnectionTrait,
    p: &ProposalChange,
    public_url: &str,
) -> Result<Option<Told>, DbErr> {
    let buyer = active_user(db, p.buyer_id).await?;
    let seller = staff(db, p.organization_id).await?;
    let unit = Unit::from_code(&p.listing_unit).map_or(p.listing_unit.as_str(), |u| u.name_zh());
    let vars = json!({
        "proposal_id": p.proposal_id,
        "request_id": p.request_id,
        "quantity": format!("{} {unit}", p.listing_quantity),
        "total": format_yuan(p.amount_fen),
    });
    let link = format!("{public_url}/api/v1/proposals/{}", p.proposal_id);
    Ok(Some(Told {
        message: "proposal",
        vars,
        link,
        people: buyer.into_iter().chain(seller).collect(),
    }))
}

async fn low_stock_notice(
    db: &impl ConnectionTrait,
    low: &LowStock,
    public_url: &str,
) -> Result<Option<Told>, DbErr> {
    let Some(l) = listing::Entity::find_by_id(low.listing_id).one(db).await? else {
        return Ok(None);
    };
    let (unit_zh, unit_en) = unit_names(l.unit);
    let vars = json!({
        "title": l.title,
        "stock": low.stock,
        "unit_zh": unit_zh,
        "unit_en": unit_en,
        "orders": LOW_STOCK_ORDERS,
    });
    let link = format!("{public_url}/api/v1/listings/{}", l.id);
    Ok(Some(Told {
        message: "low_stock",
        vars,
        link,
        people: staff(db, l.organization_id).await?,
    }))
}

async fn organization_notice(
    db: &impl ConnectionTrait,
    news: OrganizationNews,
    change: &OrganizationChange,
    public_url: &str,
) -> Result<Option<Told>, DbErr> {
    let Some(org) = organization::Entity::find_by_id(change.organization_id)
        .one(db)
        .await?
    else {
        return Ok(None);
    };
    let county = county_of(&org.region_code)
        .unwrap_or(&org.region_code)
        .to_string();
    let people: Vec<user::Model> = match news {
        // Those who may recommend it: officials whose region covers its county.
        OrganizationNews::Applied => officials_over(db, &county).await?,
        OrganizationNews::Recommended => with_role(db, Role::Admin).await?,
        OrganizationNews::Approved | OrganizationNews::Rejected => staff(db, org.id).await?,
    };
    let region = regions::find(db, &org.region_code)
        .await?
        .map_or_else(|| org.region_code.clone(), |r| r.name);
    let vars = json!({
        "organization": org.name,
        "region": region,
        "note": org.decision_note.clone().unwrap_or_default(),
    });
    let link = format!("{public_url}/api/v1/organizations/{}", org.id);
    Ok(Some(Told {
        message: "organization",
        vars,
        link,
        people,
    }))
}

/// The active officials whose region covers `county`.
async fn officials_over(
    db: &impl ConnectionTrait,
    county: &str,
) -> Result<Vec<user::Model>, DbErr> {
    Ok(with_role(db, Role::Official)
        .await?
        .into_iter()
        .filter(|u| {
            u.region_code
                .as_deref()
                .is_some_and(|scope| region_contains(scope, county))
        })
        .collect())
}

/// A certificate sent for review, or objected to, goes to the officials over its county (an
/// objection to its producer's staff too); a decision, its taking effect and its running out
/// to the staff.
async fn certificate_notice(
    db: &impl ConnectionTrait,
    news: CertificateNews,
    change: &CertificateChange,
    public_url: &str,
) -> Result<Option<Told>, DbErr> {
    let Some(org) = organization::Entity::find_by_id(change.organization_id)
        .one(db)
        .await?
    else {
        return Ok(None);
    };
    let Some(c) = certificate::Entity::find_by_id(change.certificate_id)
        .one(db)
        .await?
    else {
        return Ok(None);
    };
    let county = county_of(&org.region_code).unwrap_or(&org.region_code);
    let people = match news {
        CertificateNews::Submitted => officials_over(db, county).await?,
        CertificateNews::Objected => {
            let mut people = officials_over(db, county).await?;
            people.extend(staff(db, org.id).await?);
            people
        }
        CertificateNews::Approved
        | CertificateNews::Rejected
        | CertificateNews::Effective
        | CertificateNews::Expiring
        | CertificateNews::Expired => staff(db, org.id).await?,
    };
    let vars = json!({
        "organization": org.name,
        "kind_zh": c.kind.name_zh(),
        "kind_en": c.kind.name_en(),
        "number": c.number,
        "valid_until": c.valid_until.map(|d| d.to_string()).unwrap_or_default(),
        "notice_until": c.notice_until.map(|d| d.to_string()).unwrap_or_default(),
        "note": c.reason.clone().unwrap_or_default(),
    });
    Ok(Some(Told {
        message: "certificate",
        vars,
        link: format!("{public_url}/certificates/{}", c.id),
        people,
    }))
}

/// A recurring order's skipped period: the buyer and the seller's staff hear why.
async fn recurring_notice(
    db: &impl ConnectionTrait,
    skip: &RecurringSkip,
    public_url: &str,
) -> Result<Option<Told>, DbErr> {
    let Some(l) = listing::Entity::find_by_id(skip.listing_id).one(db).await? else {
        return Ok(None);
    };
    let mut people = active_user(db, skip.buyer_id).await?;
    people.extend(staff(db, skip.organization_id).await?);
    let reason = crate::orders::recurring::reason_names(&skip.reason);
    let vars = json!({
        "listing": l.title,
        "period_on": skip.period_on,
        "reason_zh": reason.0,
        "reason_en": reason.1,
        "detail": skip.detail,
    });
    Ok(Some(Told {
        message: "recurring",
        vars,
        link: format!("{public_url}/recurring/{}", skip.recurring_order_id),
        people,
    }))
}

/// A season contract's step: the cooperative's staff hear of a proposal or its withdrawal,
/// the buyer of the cooperative's answer.
async fn contract_notice(
    db: &impl ConnectionTrait,
    news: ContractNews,
    change: &ContractChange,
    public_url: &str,
) -> Result<Option<Told>, DbErr> {
    let Some(c) = crate::contracts::entity::Entity::find_by_id(change.contract_id)
        .one(db)
        .await?
    else {
        return Ok(None);
    };
    let people = match news {
        ContractNews::Proposed | ContractNews::Cancelled => staff(db, c.organization_id).await?,
        ContractNews::Signed | ContractNews::Declined => active_user(db, c.buyer_id).await?,
    };
    let seller = organization::Entity::find_by_id(c.organization_id)
        .one(db)
        .await?
        .map(|o| o.name)
        .unwrap_or_default();
    let vars = json!({
        "title": c.title,
        "seller": seller,
        "quantity": crate::catalog::domain::Quantity::from_milli(c.quantity_milli).to_string(),
        "unit_zh": c.unit.name_zh(),
        "unit_en": c.unit.name_en(),
        "window": format!("{} – {}", c.window_start, c.window_end),
        "price": format_yuan(c.price_fen),
        "floor": c.pricing == crate::contracts::Pricing::Floor,
    });
    Ok(Some(Told {
        message: "contract",
        vars,
        link: format!("{public_url}/contracts/{}", c.id),
        people,
    }))
}

/// Each official's summary of last week in their own region.
async fn weekly(
    db: &impl ConnectionTrait,
    week: &WeeklySummary,
    public_url: &str,
) -> Result<Vec<Notice>, DbErr> {
    let (from, to) = (week.from_day, week.to_day);
    let shown = |d: i32| day_date(d).map(|d| d.to_string()).unwrap_or_default();
    let mut out = Vec::new();
    for u in with_role(db, Role::Official).await? {
        let Some(code) = u.region_code.clone() else {
            continue;
        };
        let (sales, orders, household) = super::summary::week_figures(db, &code, from, to).await?;
        let region = regions::find(db, &code)
            .await?
            .map_or_else(|| code.clone(), |r| r.name);
        let link = format!("{public_url}/officials/regions/{code}");
        let vars = json!({
            "name": u.display_name,
            "topic": crate::outbox::events::WEEKLY_SUMMARY,
            "region": region,
            "from": shown(from),
            "to": shown(to),
            "sales": format_yuan(sales),
            "orders": orders,
            "household": format_yuan(household),
            "link": link,
        });
        out.push(Notice {
            user: u,
            message: "weekly".into(),
            vars,
            link,
        });
    }
    Ok(out)
}

/// Most listings one alert shows; the rest are a search away.
const ALERT_LISTINGS_MAX: usize = 50;

/// A buyer's alert of listings newly on offer that their saved searches found, grouped by
/// saved search, as the listings are now. Listings since deleted and searches since removed
/// are left out, and nothing left means no notice.
async fn saved_search_alert(
    db: &impl ConnectionTrait,
    found: &SearchMatch,
    public_url: &str,
) -> Result<Vec<Notice>, DbErr> {
    let Some(user) = active_user(db, found.user_id).await?.pop() else {
        return Ok(Vec::new());
    };
    let items: Vec<(i64, i64)> = found
        .items
        .iter()
        .map(|i| (i.saved_search_id, i.listing_id))
        .collect();
    let names: BTreeMap<i64, String> = saved_search::Entity::find()
        .filter(saved_search::Column::Id.is_in(items.iter().map(|i| i.0)))
        .filter(saved_search::Column::UserId.eq(user.id))
        .all(db)
        .await?
        .into_iter()
        .map(|s| (s.id, s.name))
        .collect();
    let listings: BTreeMap<i64, listing::Model> = listing::Entity::find()
        .filter(listing::Column::Id.is_in(items.iter().map(|i| i.1)))
        .filter(listing::Column::DeletedAt.is_null())
        .all(db)
        .await?
        .into_iter()
        .map(|l| (l.id, l))
        .collect();
    let mut searches: Vec<(i64, Vec<serde_json::Value>)> = Vec::new();
    let mut first = None;
    let mut count = 0;
    for (search, listing) in items {
        let (Some(_), Some(l)) = (names.get(&search), listings.get(&listing)) else {
            continue;
        };
        if count == ALERT_LISTINGS_MAX {
            break;
        }
        count += 1;
        let seller = l
            .find_related(organization::Entity)
            .one(db)
            .await?
            .map(|o| o.name)
            .unwrap_or_default();
        let county = county_of(&l.origin_region_code).unwrap_or(&l.origin_region_code);
        let county = regions::find(db, county).await?.map(|r| r.name);
        let (unit_zh, unit_en) = unit_names(l.unit);
        let link = format!("{public_url}/listings/{}", l.id);
        first.get_or_insert_with(|| (l.title.clone(), link.clone()));
        let shown = json!({
            "title": l.title,
            "price": format_yuan(l.price_fen),
            "unit_zh": unit_zh,
            "unit_en": unit_en,
            "seller": seller,
            "county": county.unwrap_or_default(),
            "link": link,
        });
        match searches.iter_mut().find(|(id, _)| *id == search) {
            Some((_, shown_so_far)) => shown_so_far.push(shown),
            None => searches.push((search, vec![shown])),
        }
    }
    let Some((first_title, link)) = first else {
        return Ok(Vec::new());
    };
    let vars = json!({
        "name": user.display_name,
        "topic": crate::outbox::events::SEARCH_MATCH,
        "link": link,
        "count": count,
        "first": first_title,
        "searches": searches
            .into_iter()
            .map(|(id, listings)| json!({"name": names[&id], "listings": listings}))
            .collect::<Vec<_>>(),
    });
    Ok(vec![Notice {
        user,
        message: "saved_search".into(),
        vars,
        link,
    }])
}
