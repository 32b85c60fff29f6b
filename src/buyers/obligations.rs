//! A unit's yearly obligation, declared by its admins: a reserved share (预留份额) of the farm
//! products it declares it will buy in the year, or a fixed amount (a union's welfare budget
//! per member, a pledge). Declaring again for the same year replaces the declaration.

use chrono::{DateTime, Datelike, Utc};
use sea_orm::{ActiveModelTrait, ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, Set};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::domain::{FULL_SHARE_BP, ObligationKind, UnitStatus, member_target, share_target};
use super::entity::obligation;
use super::units;
use crate::accounts::Actor;
use crate::error::{AppError, AppResult, Validator};
use crate::fields::text;

/// A declaration: for `share`, `purchases_fen` and `share_bp`; for `fixed`, `amount_fen`, or
/// `per_member_fen` with `members`.
#[derive(Debug, Clone, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ObligationInput {
    pub kind: String,
    pub purchases_fen: Option<i64>,
    /// Basis points: 1 000 is 10 %.
    pub share_bp: Option<i32>,
    pub amount_fen: Option<i64>,
    pub per_member_fen: Option<i64>,
    pub members: Option<i32>,
    pub note: Option<String>,
}

/// A declared obligation.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct ObligationView {
    pub year: i32,
    pub kind: ObligationKind,
    pub purchases_fen: Option<i64>,
    pub share_bp: Option<i32>,
    pub per_member_fen: Option<i64>,
    pub members: Option<i32>,
    pub target_fen: i64,
    pub note: String,
    pub declared_at: DateTime<Utc>,
}

impl From<obligation::Model> for ObligationView {
    fn from(o: obligation::Model) -> Self {
        ObligationView {
            year: o.year,
            kind: o.kind,
            purchases_fen: o.purchases_fen,
            share_bp: o.share_bp,
            per_member_fen: o.per_member_fen,
            members: o.members,
            target_fen: o.target_fen,
            note: o.note,
            declared_at: o.declared_at,
        }
    }
}

/// The checked figures of a declaration and its target.
struct Figures {
    kind: ObligationKind,
    purchases_fen: Option<i64>,
    share_bp: Option<i32>,
    per_member_fen: Option<i64>,
    members: Option<i32>,
    target_fen: i64,
    note: String,
}

/// The largest amount a declaration may name: a hundred billion yuan.
const MAX_FEN: i64 = 10_000_000_000_000;

fn figures(input: &ObligationInput) -> AppResult<Figures> {
    let mut v = Validator::default();
    let positive = |v: &mut Validator, field: &str, n: Option<i64>| match n {
        Some(n) if n > 0 && n <= MAX_FEN => Some(n),
        Some(_) => {
            v.add(
                field,
                "out_of_range",
                "must be more than 0 fen and at most 10¹³",
            );
            None
        }
        None => {
            v.add(field, "required", "is needed for this kind");
            None
        }
    };
    let note = v.check("note", text(input.note.as_deref().unwrap_or(""), 0, 200));
    let kind = ObligationKind::from_code(&input.kind);
    let target = match kind {
        None => {
            v.add(
                "kind",
                "unknown_value",
                format!("one of {}", ObligationKind::codes()),
            );
            None
        }
        Some(ObligationKind::Share) => {
            let purchases = positive(&mut v, "purchases_fen", input.purchases_fen);
            let bp = match input.share_bp {
                Some(bp) if (1..=FULL_SHARE_BP).contains(&bp) => Some(bp),
                Some(_) => {
                    v.add(
                        "share_bp",
                        "out_of_range",
                        "between 1 and 10000 basis points",
                    );
                    None
                }
                None => {
                    v.add("share_bp", "required", "is needed for a share");
                    None
                }
            };
            purchases.zip(bp).and_then(|(p, bp)| share_target(p, bp))
        }
        Some(ObligationKind::Fixed) => match (input.amount_fen, input.per_member_fen) {
            (Some(_), Some(_)) => {
                v.add(
                    "amount_fen",
                    "conflict",
                    "give an amount or an amount per member, not both",
                );
                None
            }
            (_, Some(_)) => {
                let per = positive(&mut v, "per_member_fen", input.per_member_fen);
                let members = match input.members {
                    Some(n) if (1..=1_000_000).contains(&n) => Some(n),
                    Some(_) => {
                        v.add("members", "out_of_range", "between 1 and 1 000 000");
                        None
                    }
                    None => {
                        v.add("members", "required", "is needed with an amount per member");
                        None
                    }
                };
                per.zip(members).and_then(|(p, m)| member_target(p, m))
            }
            _ => positive(&mut v, "amount_fen", input.amount_fen),
        },
    };
    v.finish()?;
    let kind = kind.unwrap_or(ObligationKind::Fixed);
    let by_member = kind == ObligationKind::Fixed && input.per_member_fen.is_some();
    Ok(Figures {
        kind,
        purchases_fen: (kind == ObligationKind::Share)
            .then_some(input.purchases_fen)
            .flatten(),
        share_bp: (kind == ObligationKind::Share)
            .then_some(input.share_bp)
            .flatten(),
        per_member_fen: by_member.then_some(input.per_member_fen).flatten(),
        members: by_member.then_some(input.members).flatten(),
        target_fen: target.unwrap_or_default(),
        note: note.unwrap_or_default(),
    })
}

/// Declares (or declares again) an approved unit's obligation for `year`: last year, this
/// year or next.
pub async fn declare(
    db: &impl ConnectionTrait,
    actor: &Actor,
    unit_id: i64,
    year: i32,
    input: &ObligationInput,
    now: DateTime<Utc>,
) -> AppResult<ObligationView> {
    let u = units::managed(db, actor, unit_id).await?;
    let this_year = crate::days::local_date(now).year();
    if !(this_year - 1..=this_year + 1).contains(&year) {
        return Err(AppError::field(
            "year",
            "out_of_range",
            format!("from {} to {}", this_year - 1, this_year + 1),
        ));
    }
    let f = figures(input)?;
    if u.status != UnitStatus::Approved {
        return Err(AppError::Conflict(
            "unit_not_approved",
            "a unit declares its obligations once approved".into(),
        ));
    }
    obligation::Entity::delete_many()
        .filter(obligation::Column::UnitId.eq(unit_id))
        .filter(obligation::Column::Year.eq(year))
        .exec(db)
        .await?;
    let saved = obligation::ActiveModel {
        unit_id: Set(unit_id),
        year: Set(year),
        kind: Set(f.kind),
        purchases_fen: Set(f.purchases_fen),
        share_bp: Set(f.share_bp),
        per_member_fen: Set(f.per_member_fen),
        members: Set(f.members),
        target_fen: Set(f.target_fen),
        note: Set(f.note),
        declared_by: Set(actor.id()),
        declared_at: Set(now),
        ..Default::default()
    }
    .insert(db)
    .await?;
    crate::audit::record(
        db,
        Some(actor.id()),
        "unit.declare",
        "buyer_unit",
        unit_id,
        serde_json::json!({"year": year, "kind": saved.kind, "target_fen": saved.target_fen}),
    )
    .await?;
    Ok(saved.into())
}

/// The obligations of `units` for `year`, by unit.
pub async fn of_units(
    db: &impl ConnectionTrait,
    units: &[i64],
    year: i32,
) -> Result<std::collections::HashMap<i64, obligation::Model>, sea_orm::DbErr> {
    Ok(obligation::Entity::find()
        .filter(obligation::Column::UnitId.is_in(units.iter().copied()))
        .filter(obligation::Column::Year.eq(year))
        .all(db)
        .await?
        .into_iter()
        .map(|o| (o.unit_id, o))
        .collect())
}
