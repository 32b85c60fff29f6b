//! Certificates an organization holds (有机, 绿色食品, 地理标志, 名特优新, 承诺达标合格证,
//! 消费帮扶产品认定 …): recorded with their number, issuer, what they cover, validity and
//! evidence; submitted; reviewed by an official over the organization's county; 认定 then goes
//! through a public notice (公示) open to objections. Only a certificate in effect counts: a
//! listing's `certifications` are the kinds of the certificates in effect that cover it, kept
//! here whenever one takes effect, is rejected or runs out, and sent to the search index.

use std::collections::{BTreeMap, BTreeSet};

use chrono::{DateTime, Duration, NaiveDate, Utc};
use sea_orm::sea_query::Expr;
use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, EntityTrait, PaginatorTrait, QueryFilter,
    QueryOrder, Set,
};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::domain::{
    CertificateStatus, Certification, Certifications, ObjectionStatus, VerificationStatus,
    county_of,
};
use super::entity::{
    certificate, certificate_file, certificate_listing, certificate_objection, listing,
    organization,
};
use super::organizations::can_view;
use crate::accounts::{Actor, Role};
use crate::days::local_date;
use crate::error::{AppError, AppResult, Validator};
use crate::outbox;
use crate::outbox::events::{
    CertificateChange, CertificateNews, ListingNews, NotifyEvent, SearchEvent,
};

/// Days a 认定 stays on public notice before it takes effect.
pub const NOTICE_DAYS: i64 = 7;

/// Days before a certificate runs out when its producer is told.
pub const EXPIRY_WARNING_DAYS: i64 = 30;

/// Days ahead the officials' list of certificates running out looks.
pub const EXPIRING_WITHIN_DAYS: i64 = 60;

/// Most evidence files behind one certificate.
pub const FILES_MAX: u64 = 5;

/// Longest certificate number, issuer, and description of products or bases, in characters.
pub const NUMBER_MAX: usize = 64;
pub const ISSUER_MAX: usize = 120;
pub const SCOPE_MAX: usize = 500;

/// Longest reason for a rejection, an objection or a decision on one, in characters.
pub const REASON_MAX: usize = 500;

/// Most listings one certificate covers.
pub const LISTINGS_MAX: usize = 200;

/// A certificate as the producer writes it; on a change, what is left out stays as it was.
#[derive(Debug, Clone, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CertificateInput {
    /// One of `organic`, `green_food`, `geographical_indication`, `gi_trademark`, `featured`,
    /// `compliance`, `poverty_alleviation` (`pollution_free` ended by law and is refused).
    pub kind: Option<String>,
    /// The number as printed on the certificate.
    pub number: Option<String>,
    /// Who issued it.
    pub issuer: Option<String>,
    /// The products it covers, as the certificate words them.
    pub products: Option<String>,
    /// The bases or plots it covers.
    pub bases: Option<String>,
    /// The organization's listings it covers.
    pub listing_ids: Option<Vec<i64>>,
    /// First day of validity, `YYYY-MM-DD`, not after today.
    pub valid_from: Option<String>,
    /// Last day of validity, `YYYY-MM-DD`, not before today.
    pub valid_until: Option<String>,
}

/// An evidence file, as listed.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct FileView {
    pub id: i64,
    pub name: String,
    pub content_type: String,
    pub size: i64,
    pub uploaded_at: DateTime<Utc>,
}

/// An objection lodged during a public notice.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct ObjectionView {
    pub id: i64,
    pub reason: String,
    pub status: ObjectionStatus,
    pub decision: Option<String>,
    pub created_at: DateTime<Utc>,
    pub decided_at: Option<DateTime<Utc>>,
}

/// A certificate as its reader may see it: its evidence files and objections only for the
/// organization's staff, the officials over its county and admins.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct CertificateView {
    pub id: i64,
    pub organization_id: i64,
    pub organization_name: String,
    pub region_code: String,
    pub kind: Certification,
    pub kind_name: String,
    pub number: String,
    pub issuer: String,
    pub products: String,
    pub bases: String,
    /// The listings it covers, with their titles.
    pub listings: Vec<CoveredListing>,
    pub valid_from: Option<NaiveDate>,
    pub valid_until: Option<NaiveDate>,
    pub status: CertificateStatus,
    pub status_name: String,
    /// Why it was rejected.
    pub reason: Option<String>,
    /// The last day of its public notice.
    pub notice_until: Option<NaiveDate>,
    pub submitted_at: Option<DateTime<Utc>>,
    pub decided_at: Option<DateTime<Utc>>,
    /// Absent for readers outside the organization, its county's officials and admins.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub files: Option<Vec<FileView>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub objections: Option<Vec<ObjectionView>>,
    /// Whether the reader may change it, submit it, decide on it or object to it now.
    pub may: May,
}

/// What the reader may do with a certificate now.
#[derive(Debug, Clone, Copy, Default, Serialize, ToSchema)]
pub struct May {
    pub edit: bool,
    pub submit: bool,
    pub decide: bool,
    pub object: bool,
    pub decide_objections: bool,
}

/// A listing a certificate covers.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct CoveredListing {
    pub id: i64,
    pub title: String,
}

/// Who reads a certificate, as far as it matters.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Reader {
    /// Its organization's staff, or an admin acting for it.
    Holder,
    /// An official over the organization's county.
    Reviewer,
    /// Anyone else.
    Public,
}

fn reader(actor: Option<&Actor>, org: &organization::Model) -> Reader {
    let county = county_of(&org.region_code).unwrap_or(&org.region_code);
    match actor {
        Some(a) if a.is_admin() || a.organization_id() == Some(org.id) => Reader::Holder,
        Some(a) if a.official_covers(county) => Reader::Reviewer,
        _ => Reader::Public,
    }
}

/// Whether the public may see a certificate in this status: once verified.
fn public(status: CertificateStatus) -> bool {
    matches!(
        status,
        CertificateStatus::Notice | CertificateStatus::Effective | CertificateStatus::Expired
    )
}

async fn organization_of(
    db: &impl ConnectionTrait,
    actor: Option<&Actor>,
    id: i64,
) -> AppResult<organization::Model> {
    organization::Entity::find_by_id(id)
        .one(db)
        .await?
        .filter(|o| can_view(actor, o))
        .ok_or(AppError::NotFound("organization"))
}

/// A certificate and its organization, when `actor` may see it (404 otherwise).
async fn find(
    db: &impl ConnectionTrait,
    actor: Option<&Actor>,
    id: i64,
) -> AppResult<(certificate::Model, organization::Model, Reader)> {
    let c = certificate::Entity::find_by_id(id)
        .one(db)
        .await?
        .ok_or(AppError::NotFound("certificate"))?;
    let org = organization::Entity::find_by_id(c.organization_id)
        .one(db)
        .await?
        .ok_or(AppError::NotFound("certificate"))?;
    let who = reader(actor, &org);
    if who == Reader::Public && !(public(c.status) && can_view(actor, &org)) {
        return Err(AppError::NotFound("certificate"));
    }
    Ok((c, org, who))
}

/// The organization whose certificates `actor` records: its staff, or an admin acting for it.
/// 404 when they cannot see the organization, 403 when it is not theirs.
pub async fn holder(
    db: &impl ConnectionTrait,
    actor: &Actor,
    organization_id: i64,
) -> AppResult<organization::Model> {
    let org = organization_of(db, Some(actor), organization_id).await?;
    if reader(Some(actor), &org) != Reader::Holder {
        return Err(AppError::Forbidden(
            "only the organization's staff record its certificates".into(),
        ));
    }
    Ok(org)
}

fn parse_day(v: &mut Validator, field: &str, raw: &str) -> Option<NaiveDate> {
    let day = NaiveDate::parse_from_str(raw.trim(), "%Y-%m-%d").ok();
    if day.is_none() {
        v.add(field, "invalid_date", "a date as YYYY-MM-DD");
    }
    day
}

/// The fields of `input` checked against what the certificate already has (`base`), as the
/// new row's values; every refusal names its field.
async fn checked(
    db: &impl ConnectionTrait,
    org: &organization::Model,
    base: Option<&certificate::Model>,
    input: &CertificateInput,
    today: NaiveDate,
) -> AppResult<(certificate::ActiveModel, Option<Vec<i64>>)> {
    let mut v = Validator::default();
    let mut m = <certificate::ActiveModel as Default>::default();
    if let Some(raw) = &input.kind {
        match Certification::from_code(raw.trim()) {
            Some(k) if !k.is_current() => v.add(
                "kind",
                "abolished",
                "无公害农产品认证 ended by law; record a 承诺达标合格证 or 绿色食品 certificate instead",
            ),
            Some(k) => m.kind = Set(k),
            None => v.add(
                "kind",
                "unknown_value",
                format!("one of {}", Certification::codes()),
            ),
        }
    } else if base.is_none() {
        v.add("kind", "required", "the certificate's kind");
    }
    let texts = [
        ("number", &input.number, NUMBER_MAX),
        ("issuer", &input.issuer, ISSUER_MAX),
        ("products", &input.products, SCOPE_MAX),
        ("bases", &input.bases, SCOPE_MAX),
    ];
    for (field, value, max) in texts {
        let Some(value) = value else { continue };
        let value = value.trim().to_string();
        if value.is_empty() && field != "bases" {
            v.add(field, "required", "must not be empty");
            continue;
        }
        if !v.fits(field, &value, max) {
            continue;
        }
        match field {
            "number" => m.number = Set(value),
            "issuer" => m.issuer = Set(value),
            "products" => m.products = Set(value),
            _ => m.bases = Set(value),
        }
    }
    check_validity(&mut v, &mut m, input, today);
    let listings = check_listings(db, &mut v, org, input).await?;
    v.finish()?;
    Ok((m, listings))
}

/// The validity's days: begun by today, not yet run out.
fn check_validity(
    v: &mut Validator,
    m: &mut certificate::ActiveModel,
    input: &CertificateInput,
    today: NaiveDate,
) {
    let from = input
        .valid_from
        .as_deref()
        .and_then(|raw| parse_day(v, "valid_from", raw));
    let until = input
        .valid_until
        .as_deref()
        .and_then(|raw| parse_day(v, "valid_until", raw));
    if from.is_some_and(|d| d > today) {
        v.add(
            "valid_from",
            "in_future",
            "a certificate is recorded once issued: its validity has begun",
        );
    }
    if until.is_some_and(|d| d < today) {
        v.add(
            "valid_until",
            "expired",
            "this certificate has run out; record a current one",
        );
    }
    if from.is_some() {
        m.valid_from = Set(from);
    }
    if until.is_some() {
        m.valid_until = Set(until);
    }
}

/// The listings a certificate covers, each once: the organization's own, not deleted.
async fn check_listings(
    db: &impl ConnectionTrait,
    v: &mut Validator,
    org: &organization::Model,
    input: &CertificateInput,
) -> AppResult<Option<Vec<i64>>> {
    Ok(match &input.listing_ids {
        Some(ids) => {
            let ids: BTreeSet<i64> = ids.iter().copied().collect();
            if ids.len() > LISTINGS_MAX {
                v.add(
                    "listing_ids",
                    "too_many",
                    format!("at most {LISTINGS_MAX} listings"),
                );
            }
            let own = listing::Entity::find()
                .filter(listing::Column::Id.is_in(ids.iter().copied()))
                .filter(listing::Column::OrganizationId.eq(org.id))
                .filter(listing::Column::DeletedAt.is_null())
                .count(db)
                .await? as usize;
            if own != ids.len() {
                v.add(
                    "listing_ids",
                    "not_yours",
                    "every listing must be one of the organization's own",
                );
            }
            Some(ids.into_iter().collect())
        }
        None => None,
    })
}

/// The kinds of one certificate missing before it can be submitted: every field but bases.
fn incomplete(c: &certificate::Model) -> Validator {
    let mut v = Validator::default();
    for (field, empty) in [
        ("number", c.number.is_empty()),
        ("issuer", c.issuer.is_empty()),
        ("products", c.products.is_empty()),
        ("valid_from", c.valid_from.is_none()),
        ("valid_until", c.valid_until.is_none()),
    ] {
        if empty {
            v.add(
                field,
                "required",
                "needed before the certificate is submitted",
            );
        }
    }
    v
}

async fn cover(
    db: &impl ConnectionTrait,
    certificate_id: i64,
    listings: &[i64],
) -> Result<(), sea_orm::DbErr> {
    certificate_listing::Entity::delete_many()
        .filter(certificate_listing::Column::CertificateId.eq(certificate_id))
        .exec(db)
        .await?;
    if listings.is_empty() {
        return Ok(());
    }
    certificate_listing::Entity::insert_many(listings.iter().map(|&l| {
        certificate_listing::ActiveModel {
            certificate_id: Set(certificate_id),
            listing_id: Set(l),
        }
    }))
    .exec(db)
    .await?;
    Ok(())
}

/// Records a new certificate of `organization_id` as a draft. Its staff, or an admin.
pub async fn record(
    db: &impl ConnectionTrait,
    actor: &Actor,
    organization_id: i64,
    input: &CertificateInput,
    now: DateTime<Utc>,
) -> AppResult<CertificateView> {
    let org = holder(db, actor, organization_id).await?;
    let (mut m, listings) = checked(db, &org, None, input, local_date(now)).await?;
    for (field, value) in [
        (&mut m.number, &input.number),
        (&mut m.issuer, &input.issuer),
        (&mut m.products, &input.products),
        (&mut m.bases, &input.bases),
    ] {
        if value.is_none() {
            *field = Set(String::new());
        }
    }
    for field in [&mut m.valid_from, &mut m.valid_until] {
        if field.is_not_set() {
            *field = Set(None);
        }
    }
    m.organization_id = Set(org.id);
    m.status = Set(CertificateStatus::Draft);
    m.expiry_warned = Set(false);
    m.created_at = Set(now);
    m.updated_at = Set(now);
    let c = m.insert(db).await?;
    cover(db, c.id, listings.as_deref().unwrap_or_default()).await?;
    crate::audit::record(
        db,
        Some(actor.id()),
        "certificate.record",
        "certificate",
        c.id,
        serde_json::json!({"organization": org.id, "kind": c.kind.code(), "number": c.number}),
    )
    .await?;
    view_of(db, c, &org, Reader::Holder, Some(actor)).await
}

/// A certificate its holder may still change: a draft, one awaiting review or one rejected
/// (which goes back to draft). 409 `certificate_locked` once verified.
pub async fn editable(
    db: &impl ConnectionTrait,
    actor: &Actor,
    id: i64,
) -> AppResult<(certificate::Model, organization::Model)> {
    let (c, org, who) = find(db, Some(actor), id).await?;
    if who != Reader::Holder {
        return Err(AppError::Forbidden(
            "only the organization's staff change its certificates".into(),
        ));
    }
    if !matches!(
        c.status,
        CertificateStatus::Draft | CertificateStatus::Submitted | CertificateStatus::Rejected
    ) {
        return Err(AppError::Conflict(
            "certificate_locked",
            "a verified certificate no longer changes; record its renewal as a new certificate"
                .into(),
        ));
    }
    Ok((c, org))
}

/// Changes what a certificate says while it may change. A rejected one goes back to draft.
pub async fn change(
    db: &impl ConnectionTrait,
    actor: &Actor,
    id: i64,
    input: &CertificateInput,
    now: DateTime<Utc>,
) -> AppResult<CertificateView> {
    let (c, org) = editable(db, actor, id).await?;
    let (mut m, listings) = checked(db, &org, Some(&c), input, local_date(now)).await?;
    m.id = sea_orm::ActiveValue::Unchanged(c.id);
    if c.status == CertificateStatus::Rejected {
        m.status = Set(CertificateStatus::Draft);
    }
    m.updated_at = Set(now);
    let c = m.update(db).await?;
    if let Some(listings) = &listings {
        cover(db, c.id, listings).await?;
    }
    crate::audit::record(
        db,
        Some(actor.id()),
        "certificate.change",
        "certificate",
        c.id,
        serde_json::json!({"number": c.number, "listings": listings}),
    )
    .await?;
    view_of(db, c, &org, Reader::Holder, Some(actor)).await
}

/// Attaches an evidence file (a scan of the certificate) while it may change.
pub async fn add_file(
    db: &impl ConnectionTrait,
    actor: &Actor,
    id: i64,
    name: &str,
    bytes: Vec<u8>,
    now: DateTime<Utc>,
) -> AppResult<FileView> {
    let (c, _) = editable(db, actor, id).await?;
    let mut v = Validator::default();
    let content_type = v.check("file", crate::evidence::judge(&bytes));
    v.finish()?;
    let content_type = content_type.unwrap_or_default();
    let already = certificate_file::Entity::find()
        .filter(certificate_file::Column::CertificateId.eq(c.id))
        .count(db)
        .await?;
    if already >= FILES_MAX {
        return Err(AppError::Conflict(
            "evidence_limit",
            format!("at most {FILES_MAX} files behind one certificate"),
        ));
    }
    let size = bytes.len() as i64;
    let f = certificate_file::ActiveModel {
        certificate_id: Set(c.id),
        name: Set(crate::evidence::clean_name(name, content_type)),
        content_type: Set(content_type.into()),
        size: Set(size),
        data: Set(bytes),
        uploaded_by: Set(actor.id()),
        uploaded_at: Set(now),
        ..Default::default()
    }
    .insert(db)
    .await?;
    crate::audit::record(
        db,
        Some(actor.id()),
        "certificate.file_added",
        "certificate",
        c.id,
        serde_json::json!({"file": f.id, "name": f.name, "size": size}),
    )
    .await?;
    Ok(file_view(f))
}

/// Removes an evidence file while the certificate may change.
pub async fn remove_file(
    db: &impl ConnectionTrait,
    actor: &Actor,
    id: i64,
    file_id: i64,
) -> AppResult<()> {
    let (c, _) = editable(db, actor, id).await?;
    let gone = certificate_file::Entity::delete_many()
        .filter(certificate_file::Column::Id.eq(file_id))
        .filter(certificate_file::Column::CertificateId.eq(c.id))
        .exec(db)
        .await?;
    if gone.rows_affected == 0 {
        return Err(AppError::NotFound("file"));
    }
    crate::audit::record(
        db,
        Some(actor.id()),
        "certificate.file_removed",
        "certificate",
        c.id,
        serde_json::json!({"file": file_id}),
    )
    .await?;
    Ok(())
}

/// An evidence file, for the organization's staff, the officials over its county and admins
/// only; 404 for anyone else, as if it were not there.
pub async fn file(
    db: &impl ConnectionTrait,
    actor: &Actor,
    id: i64,
    file_id: i64,
) -> AppResult<certificate_file::Model> {
    let (c, _, who) = find(db, Some(actor), id).await?;
    if who == Reader::Public {
        return Err(AppError::NotFound("file"));
    }
    certificate_file::Entity::find_by_id(file_id)
        .filter(certificate_file::Column::CertificateId.eq(c.id))
        .one(db)
        .await?
        .ok_or(AppError::NotFound("file"))
}

/// Moves a certificate from `from` to `to` unless someone else moved it first (409
/// `certificate_changed`).
async fn advance(
    db: &impl ConnectionTrait,
    c: &certificate::Model,
    from: CertificateStatus,
    set: certificate::ActiveModel,
) -> AppResult<certificate::Model> {
    let mut set = set;
    set.id = sea_orm::ActiveValue::Unchanged(c.id);
    let moved = certificate::Entity::update_many()
        .set(set)
        .filter(certificate::Column::Id.eq(c.id))
        .filter(certificate::Column::Status.eq(from))
        .exec(db)
        .await?;
    if moved.rows_affected == 0 {
        return Err(AppError::Conflict(
            "certificate_changed",
            "the certificate changed meanwhile; reload it".into(),
        ));
    }
    certificate::Entity::find_by_id(c.id)
        .one(db)
        .await?
        .ok_or(AppError::NotFound("certificate"))
}

async fn tell(
    db: &impl ConnectionTrait,
    news: CertificateNews,
    c: &certificate::Model,
    org: &organization::Model,
) -> Result<(), sea_orm::DbErr> {
    let change = CertificateChange {
        certificate_id: c.id,
        organization_id: org.id,
        kind: c.kind.code().into(),
        status: c.status.code().into(),
        region_code: org.region_code.clone(),
    };
    outbox::enqueue(db, &NotifyEvent::Certificate(news, change)).await
}

/// Sends a complete draft (or a corrected rejected certificate) for review: every field but
/// the bases filled in, at least one evidence file, still valid, its organization approved.
pub async fn submit(
    db: &impl ConnectionTrait,
    actor: &Actor,
    id: i64,
    now: DateTime<Utc>,
) -> AppResult<CertificateView> {
    let (c, org) = editable(db, actor, id).await?;
    if c.status == CertificateStatus::Submitted {
        return Err(AppError::Conflict(
            "already_submitted",
            "the certificate already awaits review".into(),
        ));
    }
    if org.status != VerificationStatus::Approved {
        return Err(AppError::Conflict(
            "organization_not_approved",
            "certificates are verified once the organization is approved".into(),
        ));
    }
    let mut v = incomplete(&c);
    if !c.kind.is_current() {
        v.add("kind", "abolished", "无公害农产品认证 ended by law");
    }
    if c.valid_until.is_some_and(|d| d < local_date(now)) {
        v.add("valid_until", "expired", "this certificate has run out");
    }
    let files = certificate_file::Entity::find()
        .filter(certificate_file::Column::CertificateId.eq(c.id))
        .count(db)
        .await?;
    if files == 0 {
        v.add("file", "required", "attach a scan of the certificate");
    }
    v.finish()?;
    let c = advance(
        db,
        &c,
        c.status,
        certificate::ActiveModel {
            status: Set(CertificateStatus::Submitted),
            reason: Set(None),
            submitted_at: Set(Some(now)),
            updated_at: Set(now),
            ..Default::default()
        },
    )
    .await?;
    tell(db, CertificateNews::Submitted, &c, &org).await?;
    crate::audit::record(
        db,
        Some(actor.id()),
        "certificate.submit",
        "certificate",
        c.id,
        serde_json::json!({"kind": c.kind.code(), "number": c.number}),
    )
    .await?;
    view_of(db, c, &org, Reader::Holder, Some(actor)).await
}

/// An official's decision on a submitted certificate.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Decision {
    /// Verified: in effect at once, or on public notice first for 认定.
    Approve,
    /// Refused, with the reason the producer reads.
    Reject(String),
}

fn required_reason(reason: &str) -> AppResult<String> {
    let reason = reason.trim().to_string();
    let mut v = Validator::default();
    if reason.is_empty() {
        v.add("reason", "required", "say why");
    } else {
        v.fits("reason", &reason, REASON_MAX);
    }
    v.finish()?;
    Ok(reason)
}

/// The certificate when `actor` is an official over its county (403 otherwise).
pub async fn reviewed(
    db: &impl ConnectionTrait,
    actor: &Actor,
    id: i64,
) -> AppResult<(certificate::Model, organization::Model)> {
    let (c, org, who) = find(db, Some(actor), id).await?;
    if who != Reader::Reviewer {
        return Err(AppError::Forbidden(
            "only an official over the organization's county verifies its certificates".into(),
        ));
    }
    Ok((c, org))
}

/// Verifies or rejects a submitted certificate. An official over the organization's county.
pub async fn decide(
    db: &impl ConnectionTrait,
    actor: &Actor,
    id: i64,
    decision: Decision,
    now: DateTime<Utc>,
) -> AppResult<CertificateView> {
    let (c, org) = reviewed(db, actor, id).await?;
    let reason = match &decision {
        Decision::Reject(r) => Some(required_reason(r)?),
        Decision::Approve => None,
    };
    if c.status != CertificateStatus::Submitted {
        return Err(AppError::Conflict(
            "not_submitted",
            "only a submitted certificate is decided".into(),
        ));
    }
    let today = local_date(now);
    if decision == Decision::Approve && c.valid_until.is_some_and(|d| d < today) {
        return Err(AppError::Conflict(
            "certificate_expired",
            "the certificate ran out before it was verified".into(),
        ));
    }
    let (status, notice_until, news) = match decision {
        Decision::Reject(_) => (CertificateStatus::Rejected, None, CertificateNews::Rejected),
        Decision::Approve if c.kind.takes_notice() => (
            CertificateStatus::Notice,
            Some(today + Duration::days(NOTICE_DAYS)),
            CertificateNews::Approved,
        ),
        Decision::Approve => (
            CertificateStatus::Effective,
            None,
            CertificateNews::Effective,
        ),
    };
    let c = advance(
        db,
        &c,
        CertificateStatus::Submitted,
        certificate::ActiveModel {
            status: Set(status),
            reason: Set(reason.clone()),
            notice_until: Set(notice_until),
            decided_by: Set(Some(actor.id())),
            decided_at: Set(Some(now)),
            updated_at: Set(now),
            ..Default::default()
        },
    )
    .await?;
    if status == CertificateStatus::Effective {
        refresh(db, &[c.id]).await?;
    }
    tell(db, news, &c, &org).await?;
    crate::audit::record(
        db,
        Some(actor.id()),
        if reason.is_some() {
            "certificate.reject"
        } else {
            "certificate.approve"
        },
        "certificate",
        c.id,
        serde_json::json!({"status": status.code(), "reason": reason, "notice_until": notice_until}),
    )
    .await?;
    view_of(db, c, &org, Reader::Reviewer, Some(actor)).await
}

/// The certificate when `actor` may object to it: anyone who sees it but its holder (403).
pub async fn objector(
    db: &impl ConnectionTrait,
    actor: &Actor,
    id: i64,
) -> AppResult<(certificate::Model, organization::Model)> {
    let (c, org, who) = find(db, Some(actor), id).await?;
    if who == Reader::Holder {
        return Err(AppError::Forbidden(
            "the organization does not object to its own certificate".into(),
        ));
    }
    Ok((c, org))
}

/// Lodges an objection to a certificate on public notice: anyone signed in but its holder,
/// with a reason, once per person and certificate.
pub async fn object(
    db: &impl ConnectionTrait,
    actor: &Actor,
    id: i64,
    reason: &str,
    now: DateTime<Utc>,
) -> AppResult<ObjectionView> {
    let (c, org) = objector(db, actor, id).await?;
    let reason = required_reason(reason)?;
    if c.status != CertificateStatus::Notice || c.notice_until.is_some_and(|d| d < local_date(now))
    {
        return Err(AppError::Conflict(
            "not_on_notice",
            "objections are lodged while the certificate is on public notice".into(),
        ));
    }
    let mine = certificate_objection::Entity::find()
        .filter(certificate_objection::Column::CertificateId.eq(c.id))
        .filter(certificate_objection::Column::UserId.eq(actor.id()))
        .filter(certificate_objection::Column::Status.eq(ObjectionStatus::Open))
        .count(db)
        .await?;
    if mine > 0 {
        return Err(AppError::Conflict(
            "already_objected",
            "your objection to this certificate awaits its decision".into(),
        ));
    }
    let o = certificate_objection::ActiveModel {
        certificate_id: Set(c.id),
        user_id: Set(actor.id()),
        reason: Set(reason),
        status: Set(ObjectionStatus::Open),
        decision: Set(None),
        decided_by: Set(None),
        created_at: Set(now),
        decided_at: Set(None),
        ..Default::default()
    }
    .insert(db)
    .await?;
    tell(db, CertificateNews::Objected, &c, &org).await?;
    crate::audit::record(
        db,
        Some(actor.id()),
        "certificate.object",
        "certificate",
        c.id,
        serde_json::json!({"objection": o.id}),
    )
    .await?;
    Ok(objection_view(o))
}

/// Decides an open objection, with reasons. Upheld, the certificate is rejected; dismissed,
/// the certificate takes effect if its notice is over and no other objection is open.
pub async fn decide_objection(
    db: &impl ConnectionTrait,
    actor: &Actor,
    id: i64,
    objection_id: i64,
    uphold: bool,
    reason: &str,
    now: DateTime<Utc>,
) -> AppResult<CertificateView> {
    let (c, org) = reviewed(db, actor, id).await?;
    let reason = required_reason(reason)?;
    let o = certificate_objection::Entity::find_by_id(objection_id)
        .filter(certificate_objection::Column::CertificateId.eq(c.id))
        .one(db)
        .await?
        .ok_or(AppError::NotFound("objection"))?;
    let status = if uphold {
        ObjectionStatus::Upheld
    } else {
        ObjectionStatus::Dismissed
    };
    let moved = certificate_objection::Entity::update_many()
        .col_expr(certificate_objection::Column::Status, Expr::value(status))
        .col_expr(
            certificate_objection::Column::Decision,
            Expr::value(reason.clone()),
        )
        .col_expr(
            certificate_objection::Column::DecidedBy,
            Expr::value(actor.id()),
        )
        .col_expr(certificate_objection::Column::DecidedAt, Expr::value(now))
        .filter(certificate_objection::Column::Id.eq(o.id))
        .filter(certificate_objection::Column::Status.eq(ObjectionStatus::Open))
        .exec(db)
        .await?;
    if moved.rows_affected == 0 {
        return Err(AppError::Conflict(
            "objection_decided",
            "this objection has been decided already".into(),
        ));
    }
    let c = if uphold && c.status == CertificateStatus::Notice {
        let c = advance(
            db,
            &c,
            CertificateStatus::Notice,
            certificate::ActiveModel {
                status: Set(CertificateStatus::Rejected),
                reason: Set(Some(format!("异议成立 / objection upheld: {reason}"))),
                decided_by: Set(Some(actor.id())),
                decided_at: Set(Some(now)),
                updated_at: Set(now),
                ..Default::default()
            },
        )
        .await?;
        tell(db, CertificateNews::Rejected, &c, &org).await?;
        c
    } else {
        take_effect_if_due(db, c, &org, now).await?
    };
    crate::audit::record(
        db,
        Some(actor.id()),
        "certificate.decide_objection",
        "certificate",
        c.id,
        serde_json::json!({"objection": o.id, "status": status.code(), "reason": reason}),
    )
    .await?;
    view_of(db, c, &org, Reader::Reviewer, Some(actor)).await
}

/// A certificate on notice takes effect once its notice is over and no objection is open.
async fn take_effect_if_due(
    db: &impl ConnectionTrait,
    c: certificate::Model,
    org: &organization::Model,
    now: DateTime<Utc>,
) -> AppResult<certificate::Model> {
    let due = c.status == CertificateStatus::Notice
        && c.notice_until.is_some_and(|d| d < local_date(now));
    if !due {
        return Ok(c);
    }
    let open = certificate_objection::Entity::find()
        .filter(certificate_objection::Column::CertificateId.eq(c.id))
        .filter(certificate_objection::Column::Status.eq(ObjectionStatus::Open))
        .count(db)
        .await?;
    if open > 0 {
        return Ok(c);
    }
    let c = advance(
        db,
        &c,
        CertificateStatus::Notice,
        certificate::ActiveModel {
            status: Set(CertificateStatus::Effective),
            updated_at: Set(now),
            ..Default::default()
        },
    )
    .await?;
    refresh(db, &[c.id]).await?;
    tell(db, CertificateNews::Effective, &c, org).await?;
    crate::audit::record(
        db,
        None,
        "certificate.effective",
        "certificate",
        c.id,
        serde_json::json!({"notice_until": c.notice_until}),
    )
    .await?;
    Ok(c)
}

/// What one sweep did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Swept {
    /// Certificates whose public notice ended without an open objection.
    pub effective: usize,
    /// Certificates whose producers were told they run out within 30 days.
    pub warned: usize,
    /// Certificates that ran out.
    pub expired: usize,
}

/// The certificates' clock, run by the workers (and by tests with the time they choose) in
/// one write transaction: see [`sweep_in`].
pub async fn sweep(db: &sea_orm::DatabaseConnection, now: DateTime<Utc>) -> AppResult<Swept> {
    crate::db::in_write_txn(db, async |txn| sweep_in(txn, now).await).await
}

/// A notice that ended without an open objection takes effect; a certificate whose last valid
/// day is past runs out and loses its effect; one running out within 30 days is told once.
pub async fn sweep_in(db: &impl ConnectionTrait, now: DateTime<Utc>) -> AppResult<Swept> {
    let today = local_date(now);
    let mut swept = Swept::default();
    let due = certificate::Entity::find()
        .filter(certificate::Column::Status.eq(CertificateStatus::Notice))
        .filter(certificate::Column::NoticeUntil.lt(today))
        .order_by_asc(certificate::Column::Id)
        .all(db)
        .await?;
    for c in due {
        let Some(org) = organization::Entity::find_by_id(c.organization_id)
            .one(db)
            .await?
        else {
            continue;
        };
        if take_effect_if_due(db, c, &org, now).await?.status == CertificateStatus::Effective {
            swept.effective += 1;
        }
    }
    let effective = certificate::Entity::find()
        .filter(certificate::Column::Status.eq(CertificateStatus::Effective))
        .filter(certificate::Column::ValidUntil.lte(today + Duration::days(EXPIRY_WARNING_DAYS)))
        .order_by_asc(certificate::Column::Id)
        .all(db)
        .await?;
    for c in effective {
        let Some(until) = c.valid_until else { continue };
        let Some(org) = organization::Entity::find_by_id(c.organization_id)
            .one(db)
            .await?
        else {
            continue;
        };
        if until < today {
            let c = advance(
                db,
                &c,
                CertificateStatus::Effective,
                certificate::ActiveModel {
                    status: Set(CertificateStatus::Expired),
                    updated_at: Set(now),
                    ..Default::default()
                },
            )
            .await?;
            refresh(db, &[c.id]).await?;
            tell(db, CertificateNews::Expired, &c, &org).await?;
            crate::audit::record(
                db,
                None,
                "certificate.expired",
                "certificate",
                c.id,
                serde_json::json!({"valid_until": until}),
            )
            .await?;
            swept.expired += 1;
        } else if !c.expiry_warned {
            let warned = certificate::Entity::update_many()
                .col_expr(certificate::Column::ExpiryWarned, Expr::value(true))
                .filter(certificate::Column::Id.eq(c.id))
                .filter(certificate::Column::ExpiryWarned.eq(false))
                .exec(db)
                .await?;
            if warned.rows_affected > 0 {
                tell(db, CertificateNews::Expiring, &c, &org).await?;
                swept.warned += 1;
            }
        }
    }
    Ok(swept)
}

/// Brings the listings the certificates cover up to date: each listing's `certifications`
/// become the kinds of the certificates in effect that cover it, and a listing that changed
/// goes to the search index again.
pub async fn refresh(
    db: &impl ConnectionTrait,
    certificate_ids: &[i64],
) -> Result<(), sea_orm::DbErr> {
    let listings: BTreeSet<i64> = certificate_listing::Entity::find()
        .filter(certificate_listing::Column::CertificateId.is_in(certificate_ids.iter().copied()))
        .all(db)
        .await?
        .into_iter()
        .map(|c| c.listing_id)
        .collect();
    refresh_listings(db, &listings.into_iter().collect::<Vec<_>>()).await
}

/// The kinds in effect for each of `listing_ids` written to the listings that differ.
pub async fn refresh_listings(
    db: &impl ConnectionTrait,
    listing_ids: &[i64],
) -> Result<(), sea_orm::DbErr> {
    if listing_ids.is_empty() {
        return Ok(());
    }
    let covers = certificate_listing::Entity::find()
        .filter(certificate_listing::Column::ListingId.is_in(listing_ids.iter().copied()))
        .all(db)
        .await?;
    let ids: BTreeSet<i64> = covers.iter().map(|c| c.certificate_id).collect();
    let kinds: BTreeMap<i64, Certification> = certificate::Entity::find()
        .filter(certificate::Column::Id.is_in(ids))
        .filter(certificate::Column::Status.eq(CertificateStatus::Effective))
        .all(db)
        .await?
        .into_iter()
        .filter(|c| c.kind.is_current())
        .map(|c| (c.id, c.kind))
        .collect();
    let mut wanted: BTreeMap<i64, Vec<Certification>> =
        listing_ids.iter().map(|&l| (l, Vec::new())).collect();
    for c in &covers {
        if let Some(&k) = kinds.get(&c.certificate_id) {
            wanted.entry(c.listing_id).or_default().push(k);
        }
    }
    let rows = listing::Entity::find()
        .filter(listing::Column::Id.is_in(listing_ids.iter().copied()))
        .all(db)
        .await?;
    for l in rows {
        let now = Certifications::of(wanted.get(&l.id).map(Vec::as_slice).unwrap_or_default());
        if now == l.certifications {
            continue;
        }
        listing::Entity::update_many()
            .col_expr(listing::Column::Certifications, Expr::value(now))
            .filter(listing::Column::Id.eq(l.id))
            .exec(db)
            .await?;
        if l.deleted_at.is_none() {
            let indexed = SearchEvent::Listing {
                news: ListingNews::Updated,
                listing_id: l.id,
                version: l.version,
                offered: false,
            };
            outbox::enqueue(db, &indexed).await?;
        }
    }
    Ok(())
}

/// What a listing's ticks claim, as draft certificates of its organization: each kind the
/// listing ticks joins the organization's draft of that kind (a new draft when it has none),
/// for its staff to complete and submit. Ticks never give a listing a certification.
pub async fn claim(
    db: &impl ConnectionTrait,
    organization_id: i64,
    listing_id: i64,
    kinds: &[Certification],
    now: DateTime<Utc>,
) -> Result<(), sea_orm::DbErr> {
    for &kind in kinds {
        let draft = certificate::Entity::find()
            .filter(certificate::Column::OrganizationId.eq(organization_id))
            .filter(certificate::Column::Kind.eq(kind))
            .filter(certificate::Column::Status.eq(CertificateStatus::Draft))
            .order_by_asc(certificate::Column::Id)
            .one(db)
            .await?;
        let id = match draft {
            Some(d) => d.id,
            None => {
                certificate::ActiveModel {
                    organization_id: Set(organization_id),
                    kind: Set(kind),
                    number: Set(String::new()),
                    issuer: Set(String::new()),
                    products: Set(String::new()),
                    bases: Set(String::new()),
                    valid_from: Set(None),
                    valid_until: Set(None),
                    status: Set(CertificateStatus::Draft),
                    reason: Set(None),
                    notice_until: Set(None),
                    expiry_warned: Set(false),
                    submitted_at: Set(None),
                    decided_by: Set(None),
                    decided_at: Set(None),
                    created_at: Set(now),
                    updated_at: Set(now),
                    ..Default::default()
                }
                .insert(db)
                .await?
                .id
            }
        };
        let covered = certificate_listing::Entity::find_by_id((id, listing_id))
            .one(db)
            .await?;
        if covered.is_none() {
            certificate_listing::ActiveModel {
                certificate_id: Set(id),
                listing_id: Set(listing_id),
            }
            .insert(db)
            .await?;
        }
    }
    Ok(())
}

fn file_view(f: certificate_file::Model) -> FileView {
    FileView {
        id: f.id,
        name: f.name,
        content_type: f.content_type,
        size: f.size,
        uploaded_at: f.uploaded_at,
    }
}

fn objection_view(o: certificate_objection::Model) -> ObjectionView {
    ObjectionView {
        id: o.id,
        reason: o.reason,
        status: o.status,
        decision: o.decision,
        created_at: o.created_at,
        decided_at: o.decided_at,
    }
}

async fn view_of(
    db: &impl ConnectionTrait,
    c: certificate::Model,
    org: &organization::Model,
    who: Reader,
    actor: Option<&Actor>,
) -> AppResult<CertificateView> {
    let covered: Vec<i64> = certificate_listing::Entity::find()
        .filter(certificate_listing::Column::CertificateId.eq(c.id))
        .all(db)
        .await?
        .into_iter()
        .map(|c| c.listing_id)
        .collect();
    let listings = listing::Entity::find()
        .filter(listing::Column::Id.is_in(covered))
        .filter(listing::Column::DeletedAt.is_null())
        .order_by_asc(listing::Column::Id)
        .all(db)
        .await?
        .into_iter()
        .map(|l| CoveredListing {
            id: l.id,
            title: l.title,
        })
        .collect();
    let inside = who != Reader::Public;
    let files = if inside {
        Some(
            certificate_file::Entity::find()
                .filter(certificate_file::Column::CertificateId.eq(c.id))
                .order_by_asc(certificate_file::Column::Id)
                .all(db)
                .await?
                .into_iter()
                .map(file_view)
                .collect(),
        )
    } else {
        None
    };
    let objections = if inside {
        Some(
            certificate_objection::Entity::find()
                .filter(certificate_objection::Column::CertificateId.eq(c.id))
                .order_by_asc(certificate_objection::Column::Id)
                .all(db)
                .await?
                .into_iter()
                .map(objection_view)
                .collect::<Vec<_>>(),
        )
    } else {
        None
    };
    let changeable = matches!(
        c.status,
        CertificateStatus::Draft | CertificateStatus::Submitted | CertificateStatus::Rejected
    );
    let open_objections = objections
        .as_ref()
        .is_some_and(|os| os.iter().any(|o| o.status == ObjectionStatus::Open));
    let may = May {
        edit: who == Reader::Holder && changeable,
        submit: who == Reader::Holder && changeable && c.status != CertificateStatus::Submitted,
        decide: who == Reader::Reviewer && c.status == CertificateStatus::Submitted,
        object: actor.is_some() && who != Reader::Holder && c.status == CertificateStatus::Notice,
        decide_objections: who == Reader::Reviewer && open_objections,
    };
    Ok(CertificateView {
        id: c.id,
        organization_id: org.id,
        organization_name: org.name.clone(),
        region_code: org.region_code.clone(),
        kind: c.kind,
        kind_name: c.kind.name_zh().into(),
        number: c.number,
        issuer: c.issuer,
        products: c.products,
        bases: c.bases,
        listings,
        valid_from: c.valid_from,
        valid_until: c.valid_until,
        status: c.status,
        status_name: c.status.name_zh().into(),
        reason: c.reason,
        notice_until: c.notice_until,
        submitted_at: c.submitted_at,
        decided_at: c.decided_at,
        files,
        objections,
        may,
    })
}

/// One certificate for whoever may see it: the public once verified; drafts, submissions and
/// rejections only inside (404 otherwise).
pub async fn view(
    db: &impl ConnectionTrait,
    actor: Option<&Actor>,
    id: i64,
) -> AppResult<CertificateView> {
    let (c, org, who) = find(db, actor, id).await?;
    view_of(db, c, &org, who, actor).await
}

/// An organization's certificates: all of them for those inside, the verified ones for the
/// public; newest first.
pub async fn of_organization(
    db: &impl ConnectionTrait,
    actor: Option<&Actor>,
    organization_id: i64,
) -> AppResult<Vec<CertificateView>> {
    let org = organization_of(db, actor, organization_id).await?;
    let who = reader(actor, &org);
    let rows = certificate::Entity::find()
        .filter(certificate::Column::OrganizationId.eq(org.id))
        .order_by_desc(certificate::Column::Id)
        .all(db)
        .await?;
    let mut out = Vec::new();
    for c in rows {
        if who == Reader::Public && !public(c.status) {
            continue;
        }
        out.push(view_of(db, c, &org, who, actor).await?);
    }
    Ok(out)
}

/// What an official over some counties has to look at.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Queue {
    /// Submitted certificates awaiting review, oldest first.
    pub awaiting_review: Vec<CertificateView>,
    /// Certificates on notice with an objection to decide.
    pub objected: Vec<CertificateView>,
    /// Certificates on public notice.
    pub on_notice: Vec<CertificateView>,
    /// Certificates in effect that run out within 60 days, soonest first.
    pub expiring: Vec<CertificateView>,
}

/// The certificates of the organizations under the official's region that need them: to
/// review, objections to decide, on notice, running out within 60 days.
pub async fn queue(
    db: &impl ConnectionTrait,
    actor: &Actor,
    now: DateTime<Utc>,
) -> AppResult<Queue> {
    if actor.role != Role::Official {
        return Err(AppError::Forbidden(
            "the certificates' queue is for officials".into(),
        ));
    }
    let scope = actor.user.region_code.clone().unwrap_or_default();
    let prefix = crate::division::region_level(&scope)
        .map_or("", |l| &scope[..l.prefix_len()])
        .to_string();
    let orgs: BTreeMap<i64, organization::Model> = organization::Entity::find()
        .filter(organization::Column::RegionCode.starts_with(prefix))
        .all(db)
        .await?
        .into_iter()
        .filter(|o| actor.official_covers(county_of(&o.region_code).unwrap_or(&o.region_code)))
        .map(|o| (o.id, o))
        .collect();
    let soon = local_date(now) + Duration::days(EXPIRING_WITHIN_DAYS);
    let rows = certificate::Entity::find()
        .filter(certificate::Column::OrganizationId.is_in(orgs.keys().copied()))
        .filter(certificate::Column::Status.is_in([
            CertificateStatus::Submitted,
            CertificateStatus::Notice,
            CertificateStatus::Effective,
        ]))
        .order_by_asc(certificate::Column::SubmittedAt)
        .order_by_asc(certificate::Column::Id)
        .all(db)
        .await?;
    let mut q = Queue {
        awaiting_review: Vec::new(),
        objected: Vec::new(),
        on_notice: Vec::new(),
        expiring: Vec::new(),
    };
    for c in rows {
        let Some(org) = orgs.get(&c.organization_id) else {
            continue;
        };
        let status = c.status;
        if status == CertificateStatus::Effective && c.valid_until.is_none_or(|d| d > soon) {
            continue;
        }
        let v = view_of(db, c, org, Reader::Reviewer, Some(actor)).await?;
        match status {
            CertificateStatus::Submitted => q.awaiting_review.push(v),
            CertificateStatus::Notice if v.may.decide_objections => q.objected.push(v),
            CertificateStatus::Notice => q.on_notice.push(v),
            _ => q.expiring.push(v),
        }
    }
    q.expiring.sort_by_key(|v| (v.valid_until, v.id));
    Ok(q)
}

/// Every certificate on public notice now, for anyone to read and object to.
pub async fn notices(
    db: &impl ConnectionTrait,
    actor: Option<&Actor>,
) -> AppResult<Vec<CertificateView>> {
    let rows = certificate::Entity::find()
        .filter(certificate::Column::Status.eq(CertificateStatus::Notice))
        .order_by_asc(certificate::Column::NoticeUntil)
        .order_by_asc(certificate::Column::Id)
        .all(db)
        .await?;
    let mut out = Vec::new();
    for c in rows {
        let Some(org) = organization::Entity::find_by_id(c.organization_id)
            .one(db)
            .await?
        else {
            continue;
        };
        let who = reader(actor, &org);
        out.push(view_of(db, c, &org, who, actor).await?);
    }
    Ok(out)
}
