//! The demo's past eighteen months: its buyers' orders, placed and carried through by the same
//! checkout and order steps as every order, at the times they would have happened. Each buyer
//! keeps its habits (the canteens order every month, the union before its holidays, the 杭州
//! unit from 乡城, which it helps); each order takes what is in season that month; a few are
//! cancelled, a few ship short, a few are disputed and settled by the platform, and last
//! month's first dispute still waits for it. The quarter before last is closed, as the
//! province closes its quarters. Deterministic: the same demo every time, relative to the day
//! it is loaded.

use chrono::{DateTime, Datelike, Duration, Months, NaiveDate, TimeZone, Utc};
use sea_orm::{
    ColumnTrait, ConnectionTrait, DatabaseTransaction, EntityTrait, QueryFilter, QueryOrder,
};

use super::demo_actor;
use crate::accounts::Actor;
use crate::accounts::entity::user;
use crate::buyers::entity::unit;
use crate::catalog::domain::{ListingStatus, Quantity, QuantityInput};
use crate::catalog::entity::listing;
use crate::orders::domain::{Action, Party};
use crate::orders::entity::{order, order_line, recurring_run};
use crate::orders::lifecycle::{self, Details};
use crate::orders::request::{AddressRequest, CheckoutLineRequest, CheckoutRequest, place_at};
use crate::orders::short::LineQuantity;
use crate::stats::domain::{Granularity, Period};

/// A buyer's habit: who orders, for which unit, from where, in which months of the year.
struct Habit {
    username: &'static str,
    /// The unit the orders are placed in the name of; none for a member's own purchases.
    unit: Option<&'static str>,
    /// Only listings from this county (a code prefix); empty for any.
    from: &'static str,
    /// The months (1–12) it orders in; empty for every month.
    months: &'static [u32],
    address: (&'static str, &'static str, &'static str, &'static str),
}

const HABITS: &[Habit] = &[
    Habit {
        username: "buyer",
        unit: Some("成都市锦江区机关食堂"),
        from: "",
        months: &[],
        address: (
            "王师傅",
            "028-86630890",
            "510104",
            "红星路二段 70 号机关食堂",
        ),
    },
    Habit {
        username: "dept-sichuan",
        unit: Some("四川省农业农村厅机关食堂"),
        from: "",
        months: &[],
        address: (
            "赵师傅",
            "028-85505100",
            "510107",
            "武侯祠大街 4 号机关食堂",
        ),
    },
    Habit {
        username: "dept-sichuan",
        unit: Some("四川省农业科学院"),
        from: "",
        months: &[3, 6, 9, 12],
        address: ("吴老师", "028-84504000", "510104", "狮子山路 4 号"),
    },
    Habit {
        username: "dept-sichuan",
        unit: Some("四川省农业农村厅"),
        from: "",
        months: &[1, 5, 9, 10],
        address: ("周处长", "028-85505000", "510107", "武侯祠大街 4 号"),
    },
    Habit {
        username: "union-dazhou",
        unit: Some("达州市总工会"),
        from: "",
        // Before 春节, 端午 and 中秋.
        months: &[1, 2, 6, 9],
        address: ("陈主席", "0818-2380000", "511702", "通川区朝阳中路 8 号"),
    },
    Habit {
        username: "union-member",
        unit: None,
        from: "",
        months: &[2, 5, 8, 11],
        address: ("李静", "0818-2380001", "511702", "通川区西外金龙大道 20 号"),
    },
    Habit {
        username: "buyer-hangzhou",
        unit: Some("杭州市余杭区机关事务服务中心"),
        from: "513336",
        months: &[],
        address: ("沈主任", "0571-86220000", "330110", "临平区南苑街道 1 号"),
    },
];

/// Whether a listing sells in `month`; a season may run over the new year.
fn in_season(l: &listing::Model, month: i32) -> bool {
    match (l.season_start, l.season_end) {
        (Some(a), Some(b)) if a <= b => (a..=b).contains(&month),
        (Some(a), Some(b)) => month >= a || month <= b,
        _ => true,
    }
}

/// How many months of orders the demo goes back.
pub const HISTORY_MONTHS: u32 = 18;

/// The invoice of a budget unit's purchase, made out when the goods shipped and recorded by
/// the platform's admin for the seller, before the unit completes the order.
async fn invoice(
    db: &impl ConnectionTrait,
    o: &crate::orders::entity::order::Model,
    admin: &crate::accounts::Actor,
    when: DateTime<Utc>,
) -> anyhow::Result<()> {
    use crate::orders::invoices::{self, InvoiceRequest};
    if !invoices::needs_invoice(db, o).await? {
        return Ok(());
    }
    // What the buyer pays now: a short delivery has taken its refund off.
    let total = crate::orders::entity::order::Entity::find_by_id(o.id)
        .one(db)
        .await?
        .map_or(o.total_fen, |now| now.total_fen);
    let req = InvoiceRequest {
        kind: "plain".into(),
        number: format!("{:020}", 25_510_000_000_000_000 + o.id),
        amount_fen: total,
        issued_on: crate::days::local_date(when).to_string(),
    };
    invoices::record(db, admin, o.id, &req, when).await?;
    Ok(())
}

/// 10:00 in Beijing on `day`.
fn morning(day: NaiveDate) -> DateTime<Utc> {
    let at = day.and_hms_opt(2, 0, 0).unwrap_or_default();
    Utc.from_utc_datetime(&at)
}

/// Places the past months' orders and carries each as far as it would have gone by `now`,
/// then closes the quarter before last. Returns the number of orders placed.
pub async fn seed(
    db: &DatabaseTransaction,
    rules: &crate::matching::service::Rules,
    now: DateTime<Utc>,
) -> anyhow::Result<usize> {
    let today = crate::days::local_date(now);
    let listings = listing::Entity::find()
        .filter(listing::Column::Status.eq(ListingStatus::Active.code()))
        .order_by_asc(listing::Column::Id)
        .all(db)
        .await?;
    let sellers = user::Entity::find()
        .filter(user::Column::OrganizationId.is_not_null())
        .all(db)
        .await?;
    let units: std::collections::HashMap<String, i64> = unit::Entity::find()
        .all(db)
        .await?
        .into_iter()
        .map(|u| (u.name, u.id))
        .collect();
    let mut buyers = Vec::with_capacity(HABITS.len());
    for habit in HABITS {
        buyers.push(demo_actor(db, habit.username).await?);
    }
    let invoicer = demo_actor(db, "admin").await?;
    let mut placed = 0;
    let mut n: usize = 0;
    let mut disputed_last_month = false;
    for back in (1..=HISTORY_MONTHS).rev() {
        let Some(first) = today
            .with_day(1)
            .and_then(|d| d.checked_sub_months(Months::new(back)))
        else {
            continue;
        };
        let month = first.month();
        for (h, habit) in HABITS.iter().enumerate() {
            if !habit.months.is_empty() && !habit.months.contains(&month) {
                continue;
            }
            n += 1;
            let on_offer: Vec<&listing::Model> = listings
                .iter()
                .filter(|l| l.origin_region_code.starts_with(habit.from))
                .filter(|l| in_season(l, month as i32))
                .collect();
            if on_offer.is_empty() {
                continue;
            }
            let lines = lines_from(&on_offer, n, h);
            if lines.is_empty() {
                continue;
            }
            let unit_id = habit.unit.and_then(|name| units.get(name).copied());
            let (recipient_name, phone, region_code, line) = habit.address;
            let req = CheckoutRequest {
                address: AddressRequest {
                    recipient_name: recipient_name.into(),
                    phone: phone.into(),
                    region_code: region_code.into(),
                    line: line.into(),
                },
                note: None,
                lines: Some(lines),
                unit_id,
                // Each seller's cheapest method that carries the order.
                delivery: Vec::new(),
            };
            let day = first + Duration::days(((n * 5 + h * 3) % 25) as i64);
            let at = morning(day);
            let buyer = &buyers[h];
            let orders = place_at(db, buyer, req, at)
                .await
                .map_err(|e| anyhow::anyhow!("the demo's order of {day}: {e}"))?;
            for p in orders {
                placed += 1;
                let seller = sellers
                    .iter()
                    .find(|u| u.organization_id == Some(p.order.organization_id))
                    .map(|u| u.id);
                // One order in eleven is cancelled by its buyer within hours; one in thirteen
                // ships a tenth short of its first line; one in seventeen, and last month's
                // first, is disputed.
                let fate = match placed {
                    n if n % 11 == 0 => Fate::Cancelled,
                    n if n % 13 == 5 => Fate::Short,
                    n if n % 17 == 8 => Fate::Disputed,
                    _ if back == 1 && !disputed_last_month => Fate::Disputed,
                    _ => Fate::Whole,
                };
                disputed_last_month |= back == 1 && fate == Fate::Disputed;
                let people = (buyer, seller, &invoicer);
                carry(db, (&p.order, p.lines.first()), people, fate, (at, now)).await?;
            }
        }
    }
    standing_order(db, &buyers[0], sellers.as_slice(), &invoicer, now).await?;
    season_contract(db, &buyers[0], sellers.as_slice(), &invoicer, now).await?;
    let union = HABITS.iter().position(|h| h.username == "union-dazhou");
    if let Some(u) = union {
        next_season_request(db, &buyers[u], &HABITS[u], &listings, rules, now).await?;
    }
    let closing = Period::containing(Granularity::Quarter, today)
        .prev()
        .prev();
    crate::stats::reports::close_in(db, &invoicer, &closing.to_string())
        .await
        .map_err(|e| anyhow::anyhow!("closing the demo's {closing}: {e}"))?;
    Ok(placed)
}

/// The union's purchase request for the harvest whose season comes first, dated two weeks
/// into it: posted as a buyer posts one, so matching answers it with a season contract
/// proposal that waits for both sides.
async fn next_season_request(
    db: &DatabaseTransaction,
    buyer: &Actor,
    habit: &Habit,
    listings: &[listing::Model],
    rules: &crate::matching::service::Rules,
    now: DateTime<Utc>,
) -> anyhow::Result<()> {
    use crate::matching::engine::coming_season;
    use crate::matching::requests::{RequestInput, post_in};
    let today = crate::days::local_date(now);
    let next = listings
        .iter()
        .filter_map(|l| {
            let season = (
                u32::try_from(l.season_start?).ok()?,
                u32::try_from(l.season_end?).ok()?,
            );
            Some((coming_season(season, today)?.0, l))
        })
        .min_by_key(|(start, l)| (*start, l.id));
    let Some((start, l)) = next else {
        return Ok(());
    };
    let (contact_name, contact_phone, region_code, address_line) = habit.address;
    let input = RequestInput {
        title: Some(format!("新季{} · next season's harvest", l.title)),
        category_id: Some(l.category_id),
        unit: Some(l.unit),
        quantity: Some(QuantityInput::Text(
            Quantity::from_milli(l.min_order_milli.max(1000) * 20).to_string(),
        )),
        max_price_fen: Some(l.price_fen + l.price_fen / 10),
        region_code: Some(region_code.into()),
        address_line: Some(address_line.into()),
        contact_name: Some(contact_name.into()),
        contact_phone: Some(contact_phone.into()),
        deliver_by: Some((start + Duration::days(14)).to_string()),
        max_distance_km: Some(3000),
        ..Default::default()
    };
    post_in(db, rules, buyer, input)
        .await
        .map_err(|e| anyhow::anyhow!("the demo's purchase request: {e}"))?;
    Ok(())
}

/// Two lines from what is on offer, chosen by the month's count `n` and the habit `h`, each
/// one to three times the listing's minimum and never more than a small part of its stock.
fn lines_from(on_offer: &[&listing::Model], n: usize, h: usize) -> Vec<CheckoutLineRequest> {
    let picks = [(n * 7 + h) % on_offer.len(), (n * 3 + 1) % on_offer.len()];
    let mut lines = Vec::new();
    for (i, &p) in picks.iter().enumerate() {
        let l = on_offer[p];
        if i == 1 && p == picks[0] {
            continue;
        }
        let milli = l.min_order_milli.max(1000) * (1 + ((n + i) % 3) as i64);
        if milli * 50 > l.stock_milli {
            continue;
        }
        lines.push(CheckoutLineRequest {
            listing_id: l.id,
            quantity: QuantityInput::Text(Quantity::from_milli(milli).to_string()),
            unit: None,
        });
    }
    lines
}

/// What becomes of a demo order.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Fate {
    /// Confirmed, shipped, received and completed.
    Whole,
    /// The same, its first line shipped a tenth short: the buyer pays for what arrived.
    Short,
    /// Cancelled by its buyer within hours.
    Cancelled,
    /// Shipped, then disputed by its buyer; the platform settles it as completed after it
    /// has heard both sides, some ten weeks on.
    Disputed,
}

/// Carries order `o` (with its first line), placed at `at`, through the steps of its `fate`
/// that would have happened by `now`, each by its party at its time.
async fn carry(
    db: &impl ConnectionTrait,
    (o, first_line): (&order::Model, Option<&order_line::Model>),
    (buyer, seller, invoicer): (&Actor, Option<i64>, &Actor),
    fate: Fate,
    (at, now): (DateTime<Utc>, DateTime<Utc>),
) -> anyhow::Result<()> {
    let steps: &[(Action, Party, i64)] = match fate {
        Fate::Cancelled => &[(Action::BuyerCancel, Party::Buyer, 3)],
        Fate::Disputed => &[
            (Action::Confirm, Party::Seller, 20),
            (Action::Ship, Party::Seller, 44),
            (Action::Dispute, Party::Buyer, 100),
            (Action::ResolveComplete, Party::Admin, 24 * 75),
        ],
        Fate::Whole | Fate::Short => &[
            (Action::Confirm, Party::Seller, 20),
            (Action::Ship, Party::Seller, 44),
            (Action::Receive, Party::Buyer, 120),
            (Action::Complete, Party::Buyer, 144),
        ],
    };
    for &(action, party, hours) in steps {
        let when = at + Duration::hours(hours);
        if when >= now {
            break;
        }
        let who = match party {
            Party::Buyer => Some(buyer.id()),
            Party::Admin => Some(invoicer.id()),
            _ => seller,
        };
        let reason = match action {
            Action::BuyerCancel => "计划有变 · plans changed",
            Action::Dispute => "到货部分破损 · part of the goods arrived damaged",
            Action::ResolveComplete => {
                "卖方已补发破损部分,双方同意完成 · the seller replaced what was damaged; both agreed to complete"
            }
            _ => "",
        };
        let lines = match first_line {
            Some(l) if fate == Fate::Short && action == Action::Ship => vec![LineQuantity {
                line_id: l.id,
                quantity: Quantity::from_milli(l.quantity_milli - l.quantity_milli / 10),
            }],
            _ => Vec::new(),
        };
        let details = Details {
            reason: reason.into(),
            carrier: Some("中国邮政 EMS".into()),
            tracking_number: Some(format!("EMS{:010}", o.id * 7919)),
            lines,
            ..Default::default()
        };
        if matches!(action, Action::Complete | Action::ResolveComplete) {
            invoice(db, o, invoicer, when).await?;
        }
        lifecycle::act_at(db, o.id, action, party, who, details, when)
            .await
            .map_err(|e| anyhow::anyhow!("the demo's order {}: {e}", o.id))?;
    }
    Ok(())
}

/// The canteen's season contract (订单农业) for 开江's rice: proposed four months ago for
/// 3 000 斤 over six months from three months ago, at the market price with a floor, signed
/// and its deposit paid; a delivery of 500 斤 each month since, carried as far as it would have
/// gone. Through the same service a buyer's and a cooperative's pages call.
async fn season_contract(
    db: &DatabaseTransaction,
    buyer: &Actor,
    sellers: &[user::Model],
    invoicer: &Actor,
    now: DateTime<Utc>,
) -> anyhow::Result<()> {
    use crate::contracts::{
        self, ContractRequest, ContractStatus, DeliveryRequest, DepositRequest,
    };
    let Some(rice) = listing::Entity::find()
        .filter(listing::Column::Title.eq("开江盘石村生态大米"))
        .one(db)
        .await?
    else {
        return Ok(());
    };
    let Some(seller) = sellers
        .iter()
        .find(|u| u.organization_id == Some(rice.organization_id))
    else {
        return Ok(());
    };
    let seller = demo_actor(db, &seller.username).await?;
    let today = crate::days::local_date(now);
    let proposed = morning(today - Duration::days(120));
    let start = today - Duration::days(90);
    let fail = |e: crate::error::AppError| anyhow::anyhow!("the demo's season contract: {e}");
    let req = ContractRequest {
        listing_id: rice.id,
        quantity: Some(QuantityInput::Text("3000".into())),
        window_start: start.to_string(),
        window_end: (start + Duration::days(180)).to_string(),
        pricing: "floor".into(),
        price_fen: rice.price_fen - rice.price_fen / 10,
        deposit_fen: 50_000,
        address: crate::orders::request::AddressRequest {
            recipient_name: "王师傅".into(),
            phone: "028-86630890".into(),
            region_code: "510104".into(),
            line: "红星路二段 70 号职工食堂".into(),
        },
        note: Some("新米，一级 · new-season rice, first grade".into()),
    };
    let c = contracts::propose(db, buyer, &req, proposed)
        .await
        .map_err(fail)?;
    let signed = proposed + Duration::days(2);
    contracts::decide(db, &seller, c.id, ContractStatus::Signed, signed)
        .await
        .map_err(fail)?;
    let paid = DepositRequest {
        amount_fen: 50_000,
        paid_on: crate::days::local_date(signed).to_string(),
    };
    contracts::record_deposit(db, &seller, c.id, &paid, signed)
        .await
        .map_err(fail)?;
    let seller_id = Some(seller.id());
    let mut day = start;
    while morning(day) < now {
        let at = morning(day);
        let call = DeliveryRequest {
            quantity: Some(QuantityInput::Text("500".into())),
        };
        let id = contracts::deliver(db, buyer, c.id, &call, at)
            .await
            .map_err(fail)?;
        if let Some(o) = order::Entity::find_by_id(id).one(db).await? {
            let line = order_line::Entity::find()
                .filter(order_line::Column::OrderId.eq(id))
                .one(db)
                .await?;
            let people = (buyer, seller_id, invoicer);
            carry(db, (&o, line.as_ref()), people, Fate::Whole, (at, now)).await?;
        }
        day += Duration::days(30);
    }
    Ok(())
}

/// The canteen's standing order: 500 斤 of 道孚's potatoes every Monday for the last eight
/// weeks and on, set up and run week by week through the same code a buyer's and the
/// sweep's go through.
async fn standing_order(
    db: &DatabaseTransaction,
    buyer: &Actor,
    sellers: &[user::Model],
    invoicer: &Actor,
    now: DateTime<Utc>,
) -> anyhow::Result<()> {
    use crate::orders::recurring::{self, RecurringRequest};
    let Some(potatoes) = listing::Entity::find()
        .filter(listing::Column::Title.eq("道孚高原洋芋"))
        .one(db)
        .await?
    else {
        return Ok(());
    };
    let today = crate::days::local_date(now);
    let monday = today - Duration::days(i64::from(today.weekday().num_days_from_monday()));
    let first = monday - Duration::weeks(8);
    let set_up = morning(first - Duration::days(2));
    let req = RecurringRequest {
        listing_id: Some(potatoes.id),
        quantity: Some(QuantityInput::Text("500".into())),
        period: "weekly".into(),
        next_on: first.to_string(),
        address: crate::orders::request::AddressRequest {
            recipient_name: "王师傅".into(),
            phone: "028-86630890".into(),
            region_code: "510104".into(),
            line: "红星路二段 70 号职工食堂".into(),
        },
        note: Some("周一早上 8 点前送到 · before 8 on Monday mornings".into()),
        ..Default::default()
    };
    let standing = recurring::create(db, buyer, &req, set_up)
        .await
        .map_err(|e| anyhow::anyhow!("the demo's recurring order: {e}"))?;
    let seller = sellers
        .iter()
        .find(|u| u.organization_id == Some(potatoes.organization_id))
        .map(|u| u.id);
    let mut week = first;
    while morning(week) < now {
        let at = morning(week);
        recurring::run_next(db, standing.id, at)
            .await
            .map_err(|e| anyhow::anyhow!("the demo's recurring order of {week}: {e}"))?;
        let placed = recurring_run::Entity::find()
            .filter(recurring_run::Column::RecurringOrderId.eq(standing.id))
            .filter(recurring_run::Column::PeriodOn.eq(week))
            .one(db)
            .await?
            .and_then(|run| run.order_id);
        if let Some(id) = placed
            && let Some(o) = order::Entity::find_by_id(id).one(db).await?
        {
            let line = order_line::Entity::find()
                .filter(order_line::Column::OrderId.eq(id))
                .one(db)
                .await?;
            let people = (buyer, seller, invoicer);
            carry(db, (&o, line.as_ref()), people, Fate::Whole, (at, now)).await?;
        }
        week += Duration::weeks(1);
    }
    Ok(())
}
