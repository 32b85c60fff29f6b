//! A certificate an organization holds: its kind, number, issuer, what it covers, its validity
//! and where its verification stands.
use sea_orm::entity::prelude::*;

use crate::catalog::domain::{CertificateStatus, Certification};

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "certificates")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i64,
    pub organization_id: i64,
    pub kind: Certification,
    /// The certificate's number as printed; empty on a draft that came from a listing's tick.
    pub number: String,
    pub issuer: String,
    /// The products it covers, as the certificate words them.
    pub products: String,
    /// The bases or plots it covers.
    pub bases: String,
    pub valid_from: Option<Date>,
    /// The last day it is valid.
    pub valid_until: Option<Date>,
    pub status: CertificateStatus,
    /// Why it was rejected.
    pub reason: Option<String>,
    /// The last day of its public notice (公示).
    pub notice_until: Option<Date>,
    /// Whether its producer has been told it runs out soon.
    pub expiry_warned: bool,
    pub submitted_at: Option<DateTimeUtc>,
    pub decided_by: Option<i64>,
    pub decided_at: Option<DateTimeUtc>,
    pub created_at: DateTimeUtc,
    pub updated_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
