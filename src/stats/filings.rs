//! The quarterly 成效统计表 reported up the chain (县级填报、市级审核、省级汇总).
//!
//! A county's reporting staff fill in what qudao cannot know (wages, dividends, offline sales,
//! jobs, new enterprises and cooperatives, village collectives' income), each with a note,
//! beside the platform's own figures, which are read-only. They submit; the prefecture's
//! reporting staff return the report with comments per indicator, or accept it; the
//! province's sign it off. Each submission is a new version, and every step is kept and
//! audited. Drafts are seen by the county's officials alone: above the county, a report
//! exists once submitted, as it was submitted.
//!
//! The summary of a prefecture or province adds up accepted reports only, and lists who has
//! not submitted, who was returned, and how many days late each first submission was (or,
//! unsubmitted, is): a quarter's report is due [`DUE_DAYS`] days after the quarter ends.

use std::collections::BTreeMap;

use chrono::{DateTime, Duration, NaiveDate, Utc};
use sea_orm::sea_query::Expr;
use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, DatabaseConnection, EntityTrait,
    PaginatorTrait, QueryFilter, QueryOrder, Set,
};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::access::readable_region;
use super::domain::{Basis, Period, RegionPath, day_date, local_date};
use super::entity::{filing, filing_evidence, filing_step};
use super::reports::{self, Cell};
use super::rollup::Figures;
use crate::accounts::{Actor, Role};
use crate::catalog::domain::RegionLevel;
use crate::catalog::entity::region;
use crate::division::region_contains;
use crate::error::{AppError, AppResult, Validator};

/// A quarter's report is due this many days after the quarter's last day.
pub const DUE_DAYS: i64 = 10;

/// The longest note on an indicator, and the longest comment on one.
pub const NOTE_MAX_CHARS: usize = 500;

/// The largest value an indicator may take (fen or a count): 千亿元.
pub const VALUE_MAX: i64 = 10_000_000_000_000;

/// What a county declares beside the platform's figures.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize, ToSchema)]
pub enum Indicator {
    /// 务工工资收入: wages paid to registered households' members, in fen.
    #[serde(rename = "wage_income_fen")]
    WageIncome,
    /// 分红收入 (保底分红、股份合作): dividends paid to registered households, in fen.
    #[serde(rename = "dividend_income_fen")]
    DividendIncome,
    /// 展会及线下销售额: sales at fairs and offline, in fen.
    #[serde(rename = "offline_sales_fen")]
    OfflineSales,
    /// 村集体经济收入: the village collectives' income, in fen.
    #[serde(rename = "collective_income_fen")]
    CollectiveIncome,
    /// 新增就业: new jobs.
    #[serde(rename = "new_jobs")]
    NewJobs,
    /// 新增企业: new enterprises.
    #[serde(rename = "new_enterprises")]
    NewEnterprises,
    /// 新增合作社: new cooperatives.
    #[serde(rename = "new_cooperatives")]
    NewCooperatives,
}

impl Indicator {
    /// Every indicator, in the table's order.
    pub const ALL: [Indicator; 7] = [
        Indicator::WageIncome,
        Indicator::DividendIncome,
        Indicator::OfflineSales,
        Indicator::CollectiveIncome,
        Indicator::NewJobs,
        Indicator::NewEnterprises,
        Indicator::NewCooperatives,
    ];

    pub fn code(self) -> &'static str {
        match self {
            Indicator::WageIncome => "wage_income_fen",
            Indicator::DividendIncome => "dividend_income_fen",
            Indicator::OfflineSales => "offline_sales_fen",
            Indicator::CollectiveIncome => "collective_income_fen",
            Indicator::NewJobs => "new_jobs",
            Indicator::NewEnterprises => "new_enterprises",
            Indicator::NewCooperatives => "new_cooperatives",
        }
    }

    pub fn from_code(code: &str) -> Option<Indicator> {
        Indicator::ALL.into_iter().find(|i| i.code() == code)
    }

    /// True for amounts in fen, false for counts.
    pub fn is_money(self) -> bool {
        self.code().ends_with("_fen")
    }

    pub fn name_zh(self) -> &'static str {
        match self {
            Indicator::WageIncome => "务工工资收入",
            Indicator::DividendIncome => "分红收入(保底分红、股份合作)",
            Indicator::OfflineSales => "展会及线下销售额",
            Indicator::CollectiveIncome => "村集体经济收入",
            Indicator::NewJobs => "新增就业人数",
            Indicator::NewEnterprises => "新增企业数",
            Indicator::NewCooperatives => "新增合作社数",
        }
    }

    pub fn name_en(self) -> &'static str {
        match self {
            Indicator::WageIncome => "Wage income",
            Indicator::DividendIncome => "Dividends (guaranteed and shareholding)",
            Indicator::OfflineSales => "Sales at fairs and offline",
            Indicator::CollectiveIncome => "Village collectives' income",
            Indicator::NewJobs => "New jobs",
            Indicator::NewEnterprises => "New enterprises",
            Indicator::NewCooperatives => "New cooperatives",
        }
    }
}

/// Where a report stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Status {
    /// Nothing sent up yet (and, above the county, a draft).
    NotSubmitted,
    /// Being filled in; seen by the county's officials alone.
    Draft,
    Submitted,
    /// Sent back by the prefecture with comments; being revised.
    Returned,
    Accepted,
    SignedOff,
    /// Reopened by the county after acceptance or sign-off, for a new version; the version it
    /// replaces no longer counts until the new one is accepted.
    Revising,
}

impl Status {
    pub fn code(self) -> &'static str {
        match self {
            Status::NotSubmitted => "not_submitted",
            Status::Draft => "draft",
            Status::Submitted => "submitted",
            Status::Returned => "returned",
            Status::Revising => "revising",
            Status::Accepted => "accepted",
            Status::SignedOff => "signed_off",
        }
    }

    fn of(code: &str) -> Status {
        match code {
            "draft" => Status::Draft,
            "submitted" => Status::Submitted,
            "returned" => Status::Returned,
            "revising" => Status::Revising,
            "accepted" => Status::Accepted,
            "signed_off" => Status::SignedOff,
            _ => Status::NotSubmitted,
        }
    }

    /// True while the county may change the declared figures.
    fn editable(self) -> bool {
        matches!(
            self,
            Status::NotSubmitted | Status::Draft | Status::Returned | Status::Revising
        )
    }

    /// True for reports the summary adds up.
    pub fn counted(self) -> bool {
        matches!(self, Status::Accepted | Status::SignedOff)
    }

    pub fn name_zh(self) -> &'static str {
        match self {
            Status::NotSubmitted => "未报送",
            Status::Draft => "草稿",
            Status::Submitted => "已报送待审核",
            Status::Returned => "已退回",
            Status::Revising => "修订中",
            Status::Accepted => "已审核",
            Status::SignedOff => "省级已确认",
        }
    }
}

/// A declared indicator: its value (fen or a count) and what it rests on.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct Declared {
    pub value: i64,
    #[serde(default)]
    pub note: String,
}

/// The platform's figures for the county and quarter (completed sales), read-only in a report.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct Platform {
    pub sales_fen: i64,
    pub orders: i64,
    pub organizations: i64,
    pub households: i64,
    pub household_fen: i64,
}

impl From<&Figures> for Platform {
    fn from(f: &Figures) -> Self {
        Platform {
            sales_fen: f.sales_fen,
            orders: f.orders,
            organizations: f.organizations,
            households: f.households,
            household_fen: f.household_fen,
        }
    }
}

impl Platform {
    fn add(&mut self, o: &Platform) {
        self.sales_fen += o.sales_fen;
        self.orders += o.orders;
        self.organizations += o.organizations;
        self.households += o.households;
        self.household_fen += o.household_fen;
    }
}

/// A submitted version: what was declared and the platform's figures at that moment.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
struct Sent {
    indicators: BTreeMap<String, Declared>,
    platform: Platform,
}

/// One step of a report's history.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct StepView {
    pub version: i32,
    /// `save`, `submit`, `return`, `accept` or `sign_off`.
    pub action: String,
    pub status: Status,
    pub actor_id: i64,
    pub at: DateTime<Utc>,
    /// A return's comments per indicator (and `general`).
    pub comments: BTreeMap<String, String>,
}

/// A county's report for a quarter, as the reader may see it.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct FilingView {
    pub county_code: String,
    pub county_name: String,
    pub quarter: String,
    pub status: Status,
    /// How many times it was submitted.
    pub version: i32,
    /// The last day it may be submitted on time.
    pub due: NaiveDate,
    /// Days past due at the first submission or, never submitted, today.
    pub late_days: i64,
    /// The platform's figures: live while the county's officials work on it, as submitted
    /// otherwise.
    pub platform: Platform,
    /// The declared indicators: the county's working copy for its own officials while it may
    /// change; the version submitted for everyone else.
    pub indicators: BTreeMap<String, Declared>,
    /// The prefecture's comments on the last return, per indicator (and `general`).
    pub comments: BTreeMap<String, String>,
    pub first_submitted_at: Option<DateTime<Utc>>,
    pub submitted_at: Option<DateTime<Utc>>,
    /// What the reader may do now: `save`, `submit`, `return`, `accept`.
    pub may: Vec<String>,
    pub steps: Vec<StepView>,
    /// The evidence files behind the indicators: above the county, those that went up with a
    /// submitted version.
    pub evidence: Vec<EvidenceView>,
}

/// An evidence file as a report lists it.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct EvidenceView {
    pub id: i64,
    pub indicator: String,
    pub name: String,
    pub content_type: String,
    pub size: i64,
    /// The version it went (or goes) up with.
    pub version: i32,
    pub uploaded_at: DateTime<Utc>,
    /// Where it is downloaded.
    pub url: String,
}

impl EvidenceView {
    fn of(e: filing_evidence::Model, county: &str, quarter: Period) -> EvidenceView {
        EvidenceView {
            url: format!("/api/v1/stats/filings/{county}/{quarter}/evidence/{}", e.id),
            id: e.id,
            indicator: e.indicator,
            name: e.name,
            content_type: e.content_type,
            size: e.size,
            version: e.version,
            uploaded_at: e.uploaded_at,
        }
    }
}

fn json<T: Serialize>(v: &T) -> AppResult<String> {
    serde_json::to_string(v).map_err(|e| AppError::Internal(e.into()))
}

fn parse<T: for<'a> Deserialize<'a> + Default>(s: &str) -> T {
    serde_json::from_str(s).unwrap_or_default()
}

/// The quarter in a path or form: `2026Q3`.
pub fn parse_quarter(raw: &str) -> AppResult<Period> {
    Period::parse(raw)
        .filter(|p| p.quarter_key().is_some())
        .ok_or_else(|| AppError::field("quarter", "invalid_format", "a quarter such as 2026Q3"))
}

/// The last day a quarter's report is on time.
pub fn due(quarter: Period) -> NaiveDate {
    // The day after the quarter's last is the next quarter's first.
    day_date(quarter.next().start_day()).unwrap_or_default() + Duration::days(DUE_DAYS - 1)
}

fn late_days(quarter: Period, first: Option<DateTime<Utc>>, now: DateTime<Utc>) -> i64 {
    let on = local_date(first.unwrap_or(now));
    (on - due(quarter)).num_days().max(0)
}

/// The prefecture a county reports to.
fn prefecture_of(county: &str) -> String {
    RegionPath::of(county).map_or_else(String::new, |p| p.at(RegionLevel::Prefecture).into())
}

/// Reporting staff of exactly region `code`: officials marked `reporter` whose scope is it.
fn is_reporter_of(actor: &Actor, code: &str) -> bool {
    actor.role == Role::Official
        && actor.user.reporter
        && actor.user.region_code.as_deref() == Some(code)
}

/// Refuses anyone but the reporting staff of `code`, saying why.
fn require_reporter(actor: &Actor, code: &str, what: &str) -> AppResult<()> {
    if is_reporter_of(actor, code) {
        Ok(())
    } else if actor.role == Role::Official && actor.user.region_code.as_deref() == Some(code) {
        Err(AppError::Forbidden(format!(
            "only reporting staff {what}; this account reads statistics only"
        )))
    } else {
        Err(AppError::Forbidden(format!(
            "only the reporting staff of region {code} {what}"
        )))
    }
}

/// Whose work a request is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Duty {
    /// Filling in and submitting a county's report.
    File,
    /// Returning or accepting a county's report, at its prefecture.
    Review,
    /// Signing off a province's accepted reports.
    SignOff,
}

/// Refuses, before anything is read from the request's body, whoever may not do `duty` for
/// region `code` (a county, or a province for [`Duty::SignOff`]).
pub async fn authorize(
    db: &impl ConnectionTrait,
    actor: &Actor,
    code: &str,
    duty: Duty,
) -> AppResult<()> {
    match duty {
        Duty::File => {
            let r = readable_county(db, actor, code).await?;
            require_reporter(actor, &r.code, "fill in the county's report")
        }
        Duty::Review => {
            let r = readable_county(db, actor, code).await?;
            require_reporter(
                actor,
                &prefecture_of(&r.code),
                "review the counties' reports",
            )
        }
        Duty::SignOff => {
            readable_region(db, actor, code).await?;
            require_reporter(actor, code, "sign off the reports")
        }
    }
}

/// The county `code` if `actor` may read its reports.
async fn readable_county(
    db: &impl ConnectionTrait,
    actor: &Actor,
    code: &str,
) -> AppResult<region::Model> {
    let (r, level) = readable_region(db, actor, code).await?;
    if level != RegionLevel::County {
        return Err(AppError::field(
            "code",
            "not_a_county",
            "reports are filed by counties",
        ));
    }
    Ok(r)
}

async fn find(
    db: &impl ConnectionTrait,
    county: &str,
    key: i32,
) -> AppResult<Option<filing::Model>> {
    Ok(filing::Entity::find()
        .filter(filing::Column::CountyCode.eq(county))
        .filter(filing::Column::Quarter.eq(key))
        .one(db)
        .await?)
}

/// The platform's completed sales of a county for a quarter: frozen once the quarter is closed.
async fn platform(
    db: &impl ConnectionTrait,
    county: &region::Model,
    quarter: Period,
) -> AppResult<Platform> {
    let report =
        reports::quarterly_report(db, county, RegionLevel::County, quarter, Basis::Completed)
            .await?;
    Ok(Platform::from(&report.total))
}

/// The county's report for `quarter` as `actor` may see it.
pub async fn view(
    db: &impl ConnectionTrait,
    actor: &Actor,
    county: &str,
    quarter: Period,
    now: DateTime<Utc>,
) -> AppResult<FilingView> {
    let county = readable_county(db, actor, county).await?;
    let key = quarter.quarter_key().unwrap_or_default();
    let row = find(db, &county.code, key).await?;
    let insider = actor.role == Role::Official
        && actor.user.region_code.as_deref() == Some(county.code.as_str());
    let stored = row
        .as_ref()
        .map_or(Status::NotSubmitted, |f| Status::of(&f.status));
    let status = if !insider && stored == Status::Draft {
        Status::NotSubmitted
    } else {
        stored
    };
    let sent: Option<Sent> = row.as_ref().and_then(|f| f.submitted.as_deref()).map(parse);
    let (platform, indicators) = if insider && stored.editable() || sent.is_none() {
        let working = match (&row, insider) {
            (Some(f), true) => parse(&f.indicators),
            _ => BTreeMap::new(),
        };
        (platform(db, &county, quarter).await?, working)
    } else {
        let s = sent.unwrap_or_default();
        (s.platform, s.indicators)
    };
    let steps = match &row {
        Some(f) => filing_step::Entity::find()
            .filter(filing_step::Column::FilingId.eq(f.id))
            .order_by_asc(filing_step::Column::Id)
            .all(db)
            .await?
            .into_iter()
            // Saves are the county's own drafting; above it, the steps since a submission.
            .filter(|s| insider || s.action != "save")
            .map(|s| StepView {
                version: s.version,
                action: s.action,
                status: Status::of(&s.status),
                actor_id: s.actor_id,
                at: s.created_at,
                comments: parse(&s.comments),
            })
            .collect(),
        None => Vec::new(),
    };
    let evidence = match &row {
        Some(f) => filing_evidence::Entity::find()
            .filter(filing_evidence::Column::FilingId.eq(f.id))
            .filter(filing_evidence::Column::Version.lte(if insider {
                i32::MAX
            } else {
                f.version
            }))
            .order_by_asc(filing_evidence::Column::Id)
            .all(db)
            .await?
            .into_iter()
            .map(|e| EvidenceView::of(e, &county.code, quarter))
            .collect(),
        None => Vec::new(),
    };
    let prefecture = prefecture_of(&county.code);
    let mut may = Vec::new();
    if is_reporter_of(actor, &county.code) && stored.editable() {
        may.push("save".to_string());
        if quarter.has_ended(local_date(now)) {
            may.push("submit".to_string());
        }
    }
    if is_reporter_of(actor, &county.code) && stored.counted() {
        may.push("revise".to_string());
    }
    if is_reporter_of(actor, &prefecture) {
        if matches!(stored, Status::Submitted | Status::Accepted) {
            may.push("return".to_string());
        }
        if stored == Status::Submitted {
            may.push("accept".to_string());
        }
    }
    Ok(FilingView {
        county_code: county.code.clone(),
        county_name: county.name.clone(),
        quarter: quarter.to_string(),
        status,
        version: row.as_ref().map_or(0, |f| f.version),
        due: due(quarter),
        late_days: late_days(
            quarter,
            row.as_ref().and_then(|f| f.first_submitted_at),
            now,
        ),
        platform,
        indicators,
        comments: row.as_ref().map(|f| parse(&f.comments)).unwrap_or_default(),
        first_submitted_at: row.as_ref().and_then(|f| f.first_submitted_at),
        submitted_at: row.as_ref().and_then(|f| f.submitted_at),
        may,
        steps,
        evidence,
    })
}

/// Checks declared indicators: known codes, values from 0 to [`VALUE_MAX`], notes of at most
/// [`NOTE_MAX_CHARS`] characters. Errors name `indicators.<code>.value` or `.note`.
pub fn check_indicators(
    v: &mut Validator,
    indicators: &BTreeMap<String, Declared>,
) -> BTreeMap<String, Declared> {
    let mut out = BTreeMap::new();
    for (code, d) in indicators {
        if Indicator::from_code(code).is_none() {
            v.add(
                &format!("indicators.{code}"),
                "unknown",
                format!(
                    "not an indicator; one of {}",
                    Indicator::ALL.map(Indicator::code).join(", ")
                ),
            );
            continue;
        }
        if !(0..=VALUE_MAX).contains(&d.value) {
            v.add(
                &format!("indicators.{code}.value"),
                "out_of_range",
                format!("from 0 to {VALUE_MAX}"),
            );
        }
        let note = d.note.trim();
        v.fits(&format!("indicators.{code}.note"), note, NOTE_MAX_CHARS);
        out.insert(
            code.clone(),
            Declared {
                value: d.value,
                note: note.to_string(),
            },
        );
    }
    out
}

#[allow(clippy::too_many_arguments)]
async fn step(
    db: &impl ConnectionTrait,
    f: &filing::Model,
    action: &str,
    status: Status,
    indicators: &str,
    platform: Option<String>,
    comments: &str,
    actor: &Actor,
    now: DateTime<Utc>,
) -> AppResult<()> {
    filing_step::ActiveModel {
        filing_id: Set(f.id),
        version: Set(f.version),
        action: Set(action.into()),
        status: Set(status.code().into()),
        indicators: Set(indicators.into()),
        platform: Set(platform),
        comments: Set(comments.into()),
        actor_id: Set(actor.id()),
        created_at: Set(now),
        ..Default::default()
    }
    .insert(db)
    .await?;
    crate::audit::record(
        db,
        Some(actor.id()),
        &format!("stats.filing_{action}"),
        "filing",
        f.id,
        serde_json::json!({
            "county": f.county_code,
            "quarter": Period::from_quarter_key(f.quarter).map(|p| p.to_string()),
            "version": f.version,
            "status": status.code(),
        }),
    )
    .await?;
    Ok(())
}

/// Moves filing `f` from `from` to `to` (with the columns `set` changes), or says it moved
/// meanwhile: a conditional update, so two people deciding at once cannot both win.
async fn transition(
    db: &impl ConnectionTrait,
    f: &filing::Model,
    set: Vec<(filing::Column, sea_orm::sea_query::SimpleExpr)>,
) -> AppResult<filing::Model> {
    let mut update = filing::Entity::update_many();
    for (col, expr) in set {
        update = update.col_expr(col, expr);
    }
    let done = update
        .filter(filing::Column::Id.eq(f.id))
        .filter(filing::Column::Status.eq(&f.status))
        .filter(filing::Column::Version.eq(f.version))
        .exec(db)
        .await?;
    if done.rows_affected == 0 {
        return Err(AppError::Conflict(
            "filing_changed",
            "the report changed meanwhile; read it again".into(),
        ));
    }
    filing::Entity::find_by_id(f.id)
        .one(db)
        .await?
        .ok_or(AppError::NotFound("filing"))
}

fn locked(status: Status) -> AppError {
    AppError::Conflict(
        "filing_locked",
        format!(
            "the report is {}; it changes again only once the prefecture returns it",
            status.code()
        ),
    )
}

/// The county's report for a quarter while it may change, begun as an empty draft if there is
/// none; 409 `filing_locked` once submitted.
async fn editable(
    db: &impl ConnectionTrait,
    county: &str,
    key: i32,
    now: DateTime<Utc>,
) -> AppResult<filing::Model> {
    if let Some(f) = find(db, county, key).await? {
        let status = Status::of(&f.status);
        return if status.editable() {
            Ok(f)
        } else {
            Err(locked(status))
        };
    }
    Ok(filing::ActiveModel {
        county_code: Set(county.to_string()),
        quarter: Set(key),
        status: Set(Status::Draft.code().into()),
        version: Set(0),
        indicators: Set("{}".into()),
        submitted: Set(None),
        comments: Set("{}".into()),
        first_submitted_at: Set(None),
        submitted_at: Set(None),
        updated_at: Set(now),
        ..Default::default()
    }
    .insert(db)
    .await?)
}

/// Largest evidence file, in bytes.
pub use crate::evidence::MAX_BYTES as EVIDENCE_MAX_BYTES;

/// Most evidence files behind one indicator.
pub const EVIDENCE_PER_INDICATOR: u64 = 5;

/// Attaches an evidence file to an indicator of the county's report while it may change; it
/// goes up with the next submission. The county's reporting staff only.
#[allow(clippy::too_many_arguments)]
pub async fn add_evidence(
    db: &DatabaseConnection,
    actor: &Actor,
    county: &str,
    quarter: Period,
    indicator: &str,
    name: &str,
    bytes: Vec<u8>,
    now: DateTime<Utc>,
) -> AppResult<EvidenceView> {
    let region = readable_county(db, actor, county).await?;
    require_reporter(
        actor,
        &region.code,
        "attach evidence to the county's report",
    )?;
    let mut v = Validator::default();
    if Indicator::from_code(indicator).is_none() {
        v.add(
            "indicator",
            "unknown",
            format!("one of {}", Indicator::ALL.map(Indicator::code).join(", ")),
        );
    }
    let content_type = v.check("file", crate::evidence::judge(&bytes));
    v.finish()?;
    let content_type = content_type.unwrap_or_default();
    let key = quarter.quarter_key().unwrap_or_default();
    let txn = crate::db::write_txn(db).await?;
    let f = editable(&txn, &region.code, key, now).await?;
    let already = filing_evidence::Entity::find()
        .filter(filing_evidence::Column::FilingId.eq(f.id))
        .filter(filing_evidence::Column::Indicator.eq(indicator))
        .count(&txn)
        .await?;
    if already >= EVIDENCE_PER_INDICATOR {
        return Err(AppError::Conflict(
            "evidence_limit",
            format!("at most {EVIDENCE_PER_INDICATOR} files behind one indicator"),
        ));
    }
    let size = bytes.len() as i64;
    let e = filing_evidence::ActiveModel {
        filing_id: Set(f.id),
        indicator: Set(indicator.to_string()),
        version: Set(f.version + 1),
        name: Set(crate::evidence::clean_name(name, content_type)),
        content_type: Set(content_type.into()),
        size: Set(size),
        data: Set(bytes),
        uploaded_by: Set(actor.id()),
        uploaded_at: Set(now),
        ..Default::default()
    }
    .insert(&txn)
    .await?;
    crate::audit::record(
        &txn,
        Some(actor.id()),
        "stats.filing_evidence_added",
        "filing",
        f.id,
        serde_json::json!({"evidence": e.id, "indicator": indicator, "name": e.name, "size": size}),
    )
    .await?;
    txn.commit().await?;
    Ok(EvidenceView::of(e, &region.code, quarter))
}

/// Removes an evidence file not yet submitted. The county's reporting staff only.
pub async fn remove_evidence(
    db: &DatabaseConnection,
    actor: &Actor,
    county: &str,
    quarter: Period,
    id: i64,
    now: DateTime<Utc>,
) -> AppResult<()> {
    let region = readable_county(db, actor, county).await?;
    require_reporter(
        actor,
        &region.code,
        "remove evidence from the county's report",
    )?;
    let key = quarter.quarter_key().unwrap_or_default();
    let txn = crate::db::write_txn(db).await?;
    let f = find(&txn, &region.code, key)
        .await?
        .ok_or(AppError::NotFound("evidence"))?;
    let e = filing_evidence::Entity::find_by_id(id)
        .filter(filing_evidence::Column::FilingId.eq(f.id))
        .one(&txn)
        .await?
        .ok_or(AppError::NotFound("evidence"))?;
    let f = editable(&txn, &region.code, key, now).await?;
    if e.version <= f.version {
        return Err(AppError::Conflict(
            "evidence_submitted",
            "this file went up with a submitted version and is kept with it".into(),
        ));
    }
    filing_evidence::Entity::delete_by_id(id).exec(&txn).await?;
    crate::audit::record(
        &txn,
        Some(actor.id()),
        "stats.filing_evidence_removed",
        "filing",
        f.id,
        serde_json::json!({"evidence": id, "indicator": e.indicator, "name": e.name}),
    )
    .await?;
    txn.commit().await?;
    Ok(())
}

/// An evidence file for whoever may see it: the county's officials always, those above once it
/// went up with a submitted version; 404 otherwise.
pub async fn evidence_file(
    db: &impl ConnectionTrait,
    actor: &Actor,
    county: &str,
    quarter: Period,
    id: i64,
) -> AppResult<filing_evidence::Model> {
    let region = readable_county(db, actor, county).await?;
    let insider = actor.role == Role::Official
        && actor.user.region_code.as_deref() == Some(region.code.as_str());
    let key = quarter.quarter_key().unwrap_or_default();
    let f = find(db, &region.code, key)
        .await?
        .ok_or(AppError::NotFound("evidence"))?;
    filing_evidence::Entity::find_by_id(id)
        .filter(filing_evidence::Column::FilingId.eq(f.id))
        .one(db)
        .await?
        .filter(|e| insider || e.version <= f.version)
        .ok_or(AppError::NotFound("evidence"))
}

/// Saves the county's declared indicators (all of them at once, replacing what was saved),
/// as a draft or while the report is returned. The county's reporting staff only.
pub async fn save(
    db: &DatabaseConnection,
    actor: &Actor,
    county: &str,
    quarter: Period,
    indicators: &BTreeMap<String, Declared>,
    now: DateTime<Utc>,
) -> AppResult<FilingView> {
    let region = readable_county(db, actor, county).await?;
    require_reporter(actor, &region.code, "fill in the county's report")?;
    let key = quarter.quarter_key().unwrap_or_default();
    let mut v = Validator::default();
    if day_date(quarter.start_day()).is_some_and(|start| local_date(now) < start) {
        v.add("quarter", "not_begun", "the quarter has not begun yet");
    }
    let indicators = check_indicators(&mut v, indicators);
    v.finish()?;
    let text = json(&indicators)?;
    let txn = crate::db::write_txn(db).await?;
    let f = editable(&txn, &region.code, key, now).await?;
    let f = transition(
        &txn,
        &f,
        vec![
            (filing::Column::Indicators, Expr::value(text.clone())),
            (filing::Column::UpdatedAt, Expr::value(now)),
        ],
    )
    .await?;
    step(
        &txn,
        &f,
        "save",
        Status::of(&f.status),
        &text,
        None,
        "{}",
        actor,
        now,
    )
    .await?;
    txn.commit().await?;
    view(db, actor, &region.code, quarter, now).await
}

/// Submits the county's saved report once the quarter has ended: every indicator must be
/// there. The platform's figures are taken as they stand and go up with it.
pub async fn submit(
    db: &DatabaseConnection,
    actor: &Actor,
    county: &str,
    quarter: Period,
    now: DateTime<Utc>,
) -> AppResult<FilingView> {
    let region = readable_county(db, actor, county).await?;
    require_reporter(actor, &region.code, "submit the county's report")?;
    if !quarter.has_ended(local_date(now)) {
        return Err(AppError::Conflict(
            "quarter_not_ended",
            format!("{quarter} has not ended yet; its report is submitted after it ends"),
        ));
    }
    let key = quarter.quarter_key().unwrap_or_default();
    let platform = platform(db, &region, quarter).await?;
    let txn = crate::db::write_txn(db).await?;
    let f = find(&txn, &region.code, key).await?;
    let status = f
        .as_ref()
        .map_or(Status::NotSubmitted, |f| Status::of(&f.status));
    if !status.editable() {
        return Err(locked(status));
    }
    let indicators: BTreeMap<String, Declared> =
        f.as_ref().map(|f| parse(&f.indicators)).unwrap_or_default();
    let mut v = Validator::default();
    for i in Indicator::ALL {
        if !indicators.contains_key(i.code()) {
            v.add(
                &format!("indicators.{}", i.code()),
                "required",
                format!("{} is not filled in (0 if there was none)", i.name_en()),
            );
        }
    }
    v.finish()?;
    let Some(f) = f else {
        unreachable!("a report with every indicator was saved")
    };
    let sent = json(&Sent {
        indicators: indicators.clone(),
        platform: platform.clone(),
    })?;
    let f = transition(
        &txn,
        &f,
        vec![
            (
                filing::Column::Status,
                Expr::value(Status::Submitted.code()),
            ),
            (filing::Column::Version, Expr::value(f.version + 1)),
            (filing::Column::Submitted, Expr::value(sent)),
            (filing::Column::Comments, Expr::value("{}")),
            (filing::Column::SubmittedAt, Expr::value(now)),
            (
                filing::Column::FirstSubmittedAt,
                Expr::value(f.first_submitted_at.unwrap_or(now)),
            ),
            (filing::Column::UpdatedAt, Expr::value(now)),
        ],
    )
    .await?;
    step(
        &txn,
        &f,
        "submit",
        Status::Submitted,
        &f.indicators,
        Some(json(&platform)?),
        "{}",
        actor,
        now,
    )
    .await?;
    txn.commit().await?;
    view(db, actor, &region.code, quarter, now).await
}

/// The county's reporting staff reopen an accepted or signed-off report for a new version,
/// saying why (1 to 500 characters, field `reason`). What was accepted stays in the history;
/// the summaries stop counting it until the new version is accepted.
pub async fn revise(
    db: &DatabaseConnection,
    actor: &Actor,
    county: &str,
    quarter: Period,
    reason: &str,
    now: DateTime<Utc>,
) -> AppResult<FilingView> {
    let region = readable_county(db, actor, county).await?;
    require_reporter(actor, &region.code, "revise the county's report")?;
    let reason = reason.trim();
    let mut v = Validator::default();
    if reason.is_empty() {
        v.add("reason", "required", "say what the new version corrects");
    } else {
        v.fits("reason", reason, NOTE_MAX_CHARS);
    }
    v.finish()?;
    let key = quarter.quarter_key().unwrap_or_default();
    let txn = crate::db::write_txn(db).await?;
    let f = find(&txn, &region.code, key)
        .await?
        .filter(|f| Status::of(&f.status).counted())
        .ok_or_else(|| {
            AppError::Conflict(
                "not_accepted",
                "only an accepted or signed-off report is revised; until then it is changed as it stands".into(),
            )
        })?;
    let f = transition(
        &txn,
        &f,
        vec![
            (filing::Column::Status, Expr::value(Status::Revising.code())),
            (filing::Column::Comments, Expr::value("{}")),
            (filing::Column::UpdatedAt, Expr::value(now)),
        ],
    )
    .await?;
    let comments = json(&BTreeMap::from([("reason", reason)]))?;
    step(
        &txn,
        &f,
        "revise",
        Status::Revising,
        &f.indicators,
        None,
        &comments,
        actor,
        now,
    )
    .await?;
    txn.commit().await?;
    view(db, actor, &region.code, quarter, now).await
}

/// A prefecture's decision on a submitted report.
#[derive(Debug, Clone)]
pub enum Decision {
    /// Back to the county, with comments per indicator code (or `general`).
    Return(BTreeMap<String, String>),
    Accept,
}

/// The prefecture's reporting staff return a submitted (or accepted, not yet signed-off)
/// report with comments, or accept a submitted one.
pub async fn decide(
    db: &DatabaseConnection,
    actor: &Actor,
    county: &str,
    quarter: Period,
    decision: Decision,
    now: DateTime<Utc>,
) -> AppResult<FilingView> {
    let region = readable_county(db, actor, county).await?;
    let prefecture = prefecture_of(&region.code);
    require_reporter(actor, &prefecture, "review the counties' reports")?;
    let key = quarter.quarter_key().unwrap_or_default();
    let comments = match &decision {
        Decision::Return(c) => {
            let mut v = Validator::default();
            let mut kept = BTreeMap::new();
            for (code, text) in c {
                let text = text.trim();
                if code != "general" && Indicator::from_code(code).is_none() {
                    v.add(
                        &format!("comments.{code}"),
                        "unknown",
                        "not an indicator; an indicator's code or general",
                    );
                } else if v.fits(&format!("comments.{code}"), text, NOTE_MAX_CHARS)
                    && !text.is_empty()
                {
                    kept.insert(code.clone(), text.to_string());
                }
            }
            if kept.is_empty() && v.is_empty() {
                v.add("comments", "required", "say what the county should change");
            }
            v.finish()?;
            Some(kept)
        }
        Decision::Accept => None,
    };
    let txn = crate::db::write_txn(db).await?;
    let f = find(&txn, &region.code, key)
        .await?
        .filter(|f| Status::of(&f.status) != Status::Draft)
        .ok_or_else(|| {
            AppError::Conflict(
                "not_submitted",
                format!("{} has not submitted its report for {quarter}", region.name),
            )
        })?;
    let status = Status::of(&f.status);
    let (to, action) = match (&comments, status) {
        (Some(_), Status::Submitted | Status::Accepted) => (Status::Returned, "return"),
        (None, Status::Submitted) => (Status::Accepted, "accept"),
        (_, Status::Returned | Status::Revising) => {
            return Err(AppError::Conflict(
                "not_submitted",
                "the report was returned and has not been submitted again".into(),
            ));
        }
        (None, Status::Accepted) => {
            return Err(AppError::Conflict(
                "already_accepted",
                "the report was accepted already".into(),
            ));
        }
        _ => {
            return Err(AppError::Conflict(
                "signed_off",
                "the province signed the report off; it no longer changes".into(),
            ));
        }
    };
    let comments_text = json(&comments.unwrap_or_default())?;
    let f = transition(
        &txn,
        &f,
        vec![
            (filing::Column::Status, Expr::value(to.code())),
            (filing::Column::Comments, Expr::value(comments_text.clone())),
            (filing::Column::UpdatedAt, Expr::value(now)),
        ],
    )
    .await?;
    let sent: Sent = f.submitted.as_deref().map(parse).unwrap_or_default();
    step(
        &txn,
        &f,
        action,
        to,
        &json(&sent.indicators)?,
        None,
        &comments_text,
        actor,
        now,
    )
    .await?;
    txn.commit().await?;
    view(db, actor, &region.code, quarter, now).await
}

/// One county in a summary.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct SummaryRow {
    pub county_code: String,
    pub county_name: String,
    pub status: Status,
    pub version: i32,
    pub first_submitted_at: Option<DateTime<Utc>>,
    /// Days past due at the first submission or, never submitted, today.
    pub late_days: i64,
    /// The version submitted last (none before a first submission).
    pub platform: Option<Platform>,
    pub indicators: BTreeMap<String, Declared>,
}

/// The reports of the counties under a region for a quarter, and the sum of those accepted.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Summary {
    pub region_code: String,
    pub region_name: String,
    pub quarter: String,
    pub due: NaiveDate,
    pub counties: Vec<SummaryRow>,
    /// How many reports the totals add up: the accepted and signed-off ones.
    pub counted: usize,
    pub platform: Platform,
    /// Per indicator code, the sum over counted reports.
    pub indicators: BTreeMap<String, i64>,
    /// Counties with nothing submitted.
    pub not_submitted: Vec<String>,
    /// Counties whose report was returned, or reopened by the county for a new version, and is
    /// not yet submitted again.
    pub returned: Vec<String>,
    /// Whether the reader may sign off the accepted reports (the province's reporting staff).
    pub may_sign_off: bool,
}

/// The summary of `code` (a province, a prefecture or a county) for a quarter.
pub async fn summary(
    db: &impl ConnectionTrait,
    actor: &Actor,
    code: &str,
    quarter: Period,
    now: DateTime<Utc>,
) -> AppResult<Summary> {
    let (region, level) = readable_region(db, actor, code).await?;
    if level > RegionLevel::County {
        return Err(AppError::field(
            "code",
            "below_county",
            "reports are summed up for counties and the regions above them",
        ));
    }
    let prefix = &region.code[..level.prefix_len()];
    let counties = region::Entity::find()
        .filter(region::Column::Level.eq(RegionLevel::County as i16))
        .filter(region::Column::Code.starts_with(prefix))
        .order_by_asc(region::Column::Code)
        .all(db)
        .await?;
    let key = quarter.quarter_key().unwrap_or_default();
    let filings: BTreeMap<String, filing::Model> = filing::Entity::find()
        .filter(filing::Column::Quarter.eq(key))
        .filter(filing::Column::CountyCode.starts_with(prefix))
        .all(db)
        .await?
        .into_iter()
        .map(|f| (f.county_code.clone(), f))
        .collect();
    let mut out = Summary {
        region_code: region.code.clone(),
        region_name: region.name.clone(),
        quarter: quarter.to_string(),
        due: due(quarter),
        counties: Vec::new(),
        counted: 0,
        platform: Platform::default(),
        indicators: Indicator::ALL
            .iter()
            .map(|i| (i.code().into(), 0))
            .collect(),
        not_submitted: Vec::new(),
        returned: Vec::new(),
        may_sign_off: level == RegionLevel::Province && is_reporter_of(actor, &region.code),
    };
    for c in counties
        .into_iter()
        .filter(|c| region_contains(&region.code, &c.code))
    {
        let f = filings.get(&c.code);
        let status = match f.map(|f| Status::of(&f.status)) {
            None | Some(Status::Draft) => Status::NotSubmitted,
            Some(s) => s,
        };
        let sent: Option<Sent> = f.and_then(|f| f.submitted.as_deref()).map(parse);
        match status {
            Status::NotSubmitted => out.not_submitted.push(c.code.clone()),
            Status::Returned | Status::Revising => out.returned.push(c.code.clone()),
            s if s.counted() => {
                let s = sent.clone().unwrap_or_default();
                out.counted += 1;
                out.platform.add(&s.platform);
                for (code, d) in &s.indicators {
                    *out.indicators.entry(code.clone()).or_default() += d.value;
                }
            }
            _ => {}
        }
        out.counties.push(SummaryRow {
            county_code: c.code.clone(),
            county_name: c.name.clone(),
            status,
            version: f.map_or(0, |f| f.version),
            first_submitted_at: f.and_then(|f| f.first_submitted_at),
            late_days: late_days(quarter, f.and_then(|f| f.first_submitted_at), now),
            platform: sent.as_ref().map(|s| s.platform.clone()),
            indicators: sent.map(|s| s.indicators).unwrap_or_default(),
        });
    }
    Ok(out)
}

/// The province's reporting staff sign off every accepted report of the province for the
/// quarter; returns the summary after. Reports accepted later are signed off by doing it again.
pub async fn sign_off(
    db: &DatabaseConnection,
    actor: &Actor,
    province: &str,
    quarter: Period,
    now: DateTime<Utc>,
) -> AppResult<Summary> {
    let (region, level) = readable_region(db, actor, province).await?;
    if level != RegionLevel::Province {
        return Err(AppError::field(
            "code",
            "not_a_province",
            "reports are signed off by provinces",
        ));
    }
    require_reporter(actor, &region.code, "sign off the reports")?;
    let key = quarter.quarter_key().unwrap_or_default();
    let prefix = &region.code[..RegionLevel::Province.prefix_len()];
    let txn = crate::db::write_txn(db).await?;
    let accepted = filing::Entity::find()
        .filter(filing::Column::Quarter.eq(key))
        .filter(filing::Column::CountyCode.starts_with(prefix))
        .filter(filing::Column::Status.eq(Status::Accepted.code()))
        .order_by_asc(filing::Column::CountyCode)
        .all(&txn)
        .await?;
    if accepted.is_empty() {
        return Err(AppError::Conflict(
            "nothing_to_sign_off",
            format!("no accepted report of {quarter} waits for sign-off"),
        ));
    }
    for f in &accepted {
        let f = transition(
            &txn,
            f,
            vec![
                (
                    filing::Column::Status,
                    Expr::value(Status::SignedOff.code()),
                ),
                (filing::Column::UpdatedAt, Expr::value(now)),
            ],
        )
        .await?;
        let sent: Sent = f.submitted.as_deref().map(parse).unwrap_or_default();
        step(
            &txn,
            &f,
            "sign_off",
            Status::SignedOff,
            &json(&sent.indicators)?,
            None,
            "{}",
            actor,
            now,
        )
        .await?;
    }
    txn.commit().await?;
    summary(db, actor, &region.code, quarter, now).await
}

fn status_zh(s: Status) -> Cell {
    Cell::Text(s.name_zh().into())
}

fn platform_cells(p: &Platform) -> Vec<Cell> {
    vec![
        Cell::Int(p.sales_fen),
        Cell::Int(p.orders),
        Cell::Int(p.organizations),
        Cell::Int(p.households),
        Cell::Int(p.household_fen),
    ]
}

const PLATFORM_HEADINGS: [&str; 5] = [
    "平台销售额(分)",
    "平台订单数",
    "平台经营主体数",
    "带动建档立卡户数",
    "带动户平台收入(分)",
];

fn indicator_heading(i: Indicator) -> String {
    if i.is_money() {
        format!("{}(分)", i.name_zh())
    } else {
        i.name_zh().to_string()
    }
}

/// The summary in the 成效统计表's layout: one row per county, the accepted total last.
pub fn summary_table(s: &Summary) -> Vec<Vec<Cell>> {
    let mut head: Vec<Cell> = ["地区代码", "地区", "报送状态", "版本", "逾期天数"]
        .iter()
        .chain(PLATFORM_HEADINGS.iter())
        .map(|h| Cell::Text((*h).into()))
        .collect();
    head.extend(Indicator::ALL.map(|i| Cell::Text(indicator_heading(i))));
    let mut out = vec![head];
    for r in &s.counties {
        let mut row = vec![
            Cell::Text(r.county_code.clone()),
            Cell::Text(r.county_name.clone()),
            status_zh(r.status),
            Cell::Int(r.version.into()),
            Cell::Int(r.late_days),
        ];
        match &r.platform {
            Some(p) => row.extend(platform_cells(p)),
            None => row.extend((0..5).map(|_| Cell::Text(String::new()))),
        }
        row.extend(Indicator::ALL.map(|i| {
            r.indicators
                .get(i.code())
                .map_or(Cell::Text(String::new()), |d| Cell::Int(d.value))
        }));
        out.push(row);
    }
    let mut total = vec![
        Cell::Text(s.region_code.clone()),
        Cell::Text(format!("{} 合计(已审核 {} 份)", s.region_name, s.counted)),
        Cell::Text(String::new()),
        Cell::Text(String::new()),
        Cell::Text(String::new()),
    ];
    total.extend(platform_cells(&s.platform));
    total.extend(
        Indicator::ALL.map(|i| Cell::Int(s.indicators.get(i.code()).copied().unwrap_or(0))),
    );
    out.push(total);
    out
}

/// One county's report as a table: each figure with its note.
pub fn filing_table(f: &FilingView) -> Vec<Vec<Cell>> {
    let text = |s: &str| Cell::Text(s.into());
    let mut out = vec![
        vec![
            text("地区"),
            text(&format!("{} {}", f.county_code, f.county_name)),
        ],
        vec![text("季度"), text(&f.quarter)],
        vec![text("报送状态"), status_zh(f.status)],
        vec![text("版本"), Cell::Int(f.version.into())],
        vec![text("指标"), text("数值"), text("说明"), text("审核意见")],
    ];
    for (h, v) in PLATFORM_HEADINGS.iter().zip(platform_cells(&f.platform)) {
        out.push(vec![text(h), v, text("平台统计(只读)")]);
    }
    for i in Indicator::ALL {
        let d = f.indicators.get(i.code());
        out.push(vec![
            Cell::Text(indicator_heading(i)),
            d.map_or(text(""), |d| Cell::Int(d.value)),
            text(d.map_or("", |d| d.note.as_str())),
            text(f.comments.get(i.code()).map_or("", String::as_str)),
        ]);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_report_is_due_ten_days_after_its_quarter() {
        assert_eq!(
            due(Period::Quarter(2026, 3)),
            NaiveDate::from_ymd_opt(2026, 10, 10).unwrap()
        );
        assert_eq!(
            due(Period::Quarter(2026, 4)),
            NaiveDate::from_ymd_opt(2027, 1, 10).unwrap()
        );
    }

    #[test]
    fn lateness_counts_whole_days_in_beijing() {
        let at = |s: &str| DateTime::parse_from_rfc3339(s).unwrap().with_timezone(&Utc);
        let q = Period::Quarter(2026, 3);
        // 10 October in Beijing is on time; 11 October is a day late.
        assert_eq!(
            late_days(
                q,
                Some(at("2026-10-10T15:59:00Z")),
                at("2026-12-01T00:00:00Z")
            ),
            0
        );
        assert_eq!(
            late_days(
                q,
                Some(at("2026-10-10T16:00:00Z")),
                at("2026-12-01T00:00:00Z")
            ),
            1
        );
        // Never submitted: as of now.
        assert_eq!(late_days(q, None, at("2026-10-20T00:00:00Z")), 10);
    }

    #[test]
    fn indicator_codes_round_trip() {
        for i in Indicator::ALL {
            assert_eq!(Indicator::from_code(i.code()), Some(i));
            assert_eq!(serde_json::to_value(i).unwrap(), i.code());
        }
        assert_eq!(Indicator::from_code("sales_fen"), None);
    }
}
