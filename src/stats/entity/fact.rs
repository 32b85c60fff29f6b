//! One order line counted once per basis (placed or completed), or its reversal.
use sea_orm::entity::prelude::*;

use crate::catalog::domain::Unit;
use crate::stats::domain::Basis;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "stats_facts")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i64,
    pub order_line_id: i64,
    pub order_id: i64,
    pub kind: Basis,
    /// +1 for the fact, -1 for its reversal; amounts carry the same sign.
    pub sign: i32,
    pub organization_id: i64,
    pub buyer_id: i64,
    pub buyer_type: String,
    pub category_id: i64,
    pub unit: Unit,
    pub quantity_milli: i64,
    pub amount_fen: i64,
    /// Income attributed to registered households out of `amount_fen`.
    pub household_fen: i64,
    pub region_code: String,
    pub province_code: String,
    pub prefecture_code: String,
    pub county_code: String,
    pub township_code: String,
    pub village_code: String,
    /// The day the fact is booked on, `yyyymmdd` (Beijing time).
    pub day: i32,
    /// The quarter (`yyyy * 10 + q`) of the order line the fact goes back to.
    pub origin_quarter: i32,
    pub recorded_at: DateTimeUtc,
    /// The unit the order counts for, 0 for none.
    pub buyer_unit_id: i64,
    /// Why it counts for the unit (`purchase`, `member`), empty for none.
    pub buyer_basis: String,
    /// The unit's kind, or `individual` for a buyer buying for themselves alone; empty in a
    /// fact written before buyers were recorded, until it is filled in.
    pub buyer_kind: String,
    /// The unit's region, or the delivery address's for an individual.
    pub buyer_region_code: String,
    pub buyer_province_code: String,
    pub buyer_prefecture_code: String,
    pub buyer_county_code: String,
    /// The campaign the order was placed under, 0 for none.
    pub campaign_id: i64,
    /// Which part of the line: 0 the line as ordered, 1 the shortfall a short delivery took
    /// back (a placed-basis reversal of that amount only, counted once).
    pub part: i32,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {
    #[sea_orm(has_many = "super::household_income::Entity")]
    Incomes,
}

impl Related<super::household_income::Entity> for Entity {
    fn to() -> RelationDef {
        Relation::Incomes.def()
    }
}

impl ActiveModelBehavior for ActiveModel {}
