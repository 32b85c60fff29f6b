//! The demo dataset: real places and products of the counties qudao serves first,
//! so a newcomer sees a living market at once.

use chrono::{DateTime, Datelike, Utc};
use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, EntityTrait, PaginatorTrait, QueryFilter, Set,
};

use crate::accounts::entity::user;
use crate::accounts::password;
use crate::accounts::role::Credential;
use crate::accounts::{Actor, Language, Role};
use crate::buyers::obligations::ObligationInput;
use crate::catalog::domain::{
    Certification, Certifications, Grade, ListingStatus, OrganizationKind, Quantity, Unit,
    VerificationStatus,
};
use crate::catalog::entity::{household, listing, organization};
use crate::catalog::regions;
use crate::catalog::{categories, certificates};
use crate::outbox;
use crate::outbox::events::{ListingNews, SearchEvent};

mod history;

/// The demo accounts, all with the demo password.
pub const DEMO_USERNAMES: &[&str] = &[
    "admin",
    "buyer",
    "coop-zilong",
    "coop-panshi",
    "official-kaijiang",
    "official-dazhou",
    "official-sichuan",
    "dept-sichuan",
    "union-dazhou",
    "union-member",
    "buyer-hangzhou",
];

struct DemoListing {
    category: &'static str,
    title: &'static str,
    description: &'static str,
    unit: Unit,
    price_fen: i64,
    stock: &'static str,
    min_order: &'static str,
    grade: Grade,
    season: Option<(i32, i32)>,
    certifications: &'static [Certification],
}

struct DemoOrg {
    name: &'static str,
    kind: OrganizationKind,
    region: &'static str,
    status: VerificationStatus,
    description: &'static str,
    contact: (&'static str, &'static str),
    /// (members, registered 建档立卡, benefit share in basis points)
    households: &'static [(i32, bool, i32)],
    listings: &'static [DemoListing],
}

const ORGS: &[DemoOrg] = &[
    DemoOrg {
        name: "道孚县孜龙村果蔬种植专业合作社",
        kind: OrganizationKind::Cooperative,
        region: "513326100204",
        status: VerificationStatus::Approved,
        description: "孜龙村集体经济合作社,专家指导种植高原苹果、马铃薯,带动全村脱贫户增收。",
        contact: ("泽仁", "0836-7122001"),
        households: &[
            (5, true, 1200),
            (4, true, 1200),
            (6, true, 1000),
            (3, false, 600),
        ],
        listings: &[
            DemoListing {
                category: "apple",
                title: "孜龙村高原红富士苹果",
                description: "海拔3000米高原种植,昼夜温差大,脆甜多汁。专家指导种植,产地直发。",
                unit: Unit::Jin,
                price_fen: 680,
                stock: "30000",
                min_order: "50",
                grade: Grade::First,
                season: Some((9, 11)),
                certifications: &[Certification::GreenFood, Certification::PovertyAlleviation],
            },
            DemoListing {
                category: "potato",
                title: "道孚高原洋芋",
                description: "高原黄心洋芋(土豆),淀粉足,耐储运,适合食堂和超市批量采购。",
                unit: Unit::Jin,
                price_fen: 180,
                stock: "80000",
                min_order: "500",
                grade: Grade::First,
                season: Some((8, 12)),
                certifications: &[Certification::PovertyAlleviation],
            },
            DemoListing {
                category: "yak-meat",
                title: "道孚牦牛肉 鲜切",
                description: "高原放养牦牛,现宰分割,冷链发货。",
                unit: Unit::Kg,
                price_fen: 9800,
                stock: "800",
                min_order: "5",
                grade: Grade::Special,
                season: None,
                certifications: &[Certification::GeographicalIndication],
            },
        ],
    },
    DemoOrg {
        name: "开江县盘石村农民专业合作社",
        kind: OrganizationKind::Cooperative,
        region: "511723102210",
        status: VerificationStatus::Approved,
        description: "盘石村村集体产业合作社,“龙头企业+合作社+基地+农户”模式,主营优质稻米和竹编。",
        contact: ("李明华", "0818-8221036"),
        households: &[
            (4, true, 1500),
            (5, true, 1500),
            (3, true, 1000),
            (2, false, 500),
        ],
        listings: &[
            DemoListing {
                category: "rice",
                title: "开江盘石村生态大米",
                description: "开江县新宁河畔稻田,一季稻,10万吨大米加工项目配套加工,真空包装。",
                unit: Unit::Jin,
                price_fen: 480,
                stock: "40000",
                min_order: "100",
                grade: Grade::First,
                season: Some((9, 12)),
                certifications: &[Certification::GreenFood, Certification::PovertyAlleviation],
            },
            DemoListing {
                category: "bean-curd-sticks",
                title: "开江豆笋 手工晾晒",
                description: "开江传统豆笋,非转基因黄豆,手工起皮晾晒。",
                unit: Unit::Jin,
                price_fen: 2600,
                stock: "3000",
                min_order: "10",
                grade: Grade::First,
                season: None,
                certifications: &[Certification::GeographicalIndication],
            },
            DemoListing {
                category: "bamboo-weaving",
                title: "盘石竹编果篮",
                description: "村里老手艺人编织,工艺美术大师结对授艺,每只都不一样。",
                unit: Unit::Piece,
                price_fen: 8800,
                stock: "120",
                min_order: "1",
                grade: Grade::Ungraded,
                season: None,
                certifications: &[Certification::PovertyAlleviation],
            },
        ],
    },
    DemoOrg {
        name: "开江县程家沟村晓春家庭农场",
        kind: OrganizationKind::FamilyFarm,
        region: "511723105207",
        status: VerificationStatus::Approved,
        description: "程家沟村家庭农场,种植红苕和二荆条海椒。",
        contact: ("程晓春", "13908181234"),
        households: &[(4, true, 2000)],
        listings: &[
            DemoListing {
                category: "sweet-potato",
                title: "程家沟红心红苕",
                description: "沙地红苕,红心香甜,蒸煮烤皆宜。",
                unit: Unit::Jin,
                price_fen: 250,
                stock: "12000",
                min_order: "50",
                grade: Grade::Second,
                season: Some((9, 12)),
                certifications: &[],
            },
            DemoListing {
                category: "chili",
                title: "二荆条海椒 干货",
                description: "开江二荆条,晒干手选,香而不燥。",
                unit: Unit::Jin,
                price_fen: 2200,
                stock: "1500",
                min_order: "5",
                grade: Grade::First,
                season: None,
                certifications: &[],
            },
        ],
    },
    DemoOrg {
        name: "道孚县鲜水镇中藏药材种植专业合作社",
        kind: OrganizationKind::Cooperative,
        region: "513326100000",
        status: VerificationStatus::Approved,
        description: "培育发展中藏药材种植产业,规范采挖与初加工,带动牧民增收。",
        contact: ("格桑", "0836-7125588"),
        households: &[(6, true, 1500), (5, true, 1500), (7, true, 1500)],
        listings: &[
            DemoListing {
                category: "cordyceps",
                title: "道孚冬虫夏草 精选",
                description: "高海拔草甸采挖虫草,按条分级,每克约3至4条。",
                unit: Unit::Kg,
                price_fen: 18_000_000,
                stock: "12.5",
                min_order: "0.05",
                grade: Grade::Special,
                season: Some((5, 7)),
                certifications: &[Certification::GeographicalIndication],
            },
            DemoListing {
                category: "fritillaria",
                title: "川贝母 松贝 统货",
                description: "甘孜高原野生抚育川贝母,晒干统货。",
                unit: Unit::Kg,
                price_fen: 320_000,
                stock: "60",
                min_order: "0.5",
                grade: Grade::First,
                season: Some((7, 9)),
                certifications: &[],
            },
            DemoListing {
                category: "saffron",
                title: "藏红花 西红花丝",
                description: "道孚种植基地,手工采摘花丝,低温烘干。",
                unit: Unit::Kg,
                price_fen: 1_500_000,
                stock: "3",
                min_order: "0.01",
                grade: Grade::First,
                season: Some((10, 11)),
                certifications: &[Certification::Organic],
            },
        ],
    },
    DemoOrg {
        name: "阆中市保宁醋业有限公司",
        kind: OrganizationKind::Enterprise,
        region: "511381001000",
        status: VerificationStatus::Approved,
        description: "阆中龙头企业,保宁醋传统酿造,收购周边农户麸皮与药曲原料。",
        contact: ("王建国", "0817-6222888"),
        households: &[],
        listings: &[
            DemoListing {
                category: "vinegar",
                title: "阆中保宁醋 500ml×6瓶",
                description: "传统固态发酵,麸醋,四大名醋之一。",
                unit: Unit::Piece,
                price_fen: 4800,
                stock: "5000",
                min_order: "1",
                grade: Grade::First,
                season: None,
                certifications: &[Certification::GeographicalIndication],
            },
            DemoListing {
                category: "beef-jerky",
                title: "张飞牛肉 五香 200g",
                description: "阆中特产,传统卤制,真空包装。",
                unit: Unit::Piece,
                price_fen: 5600,
                stock: "3000",
                min_order: "1",
                grade: Grade::First,
                season: None,
                certifications: &[],
            },
        ],
    },
    DemoOrg {
        name: "乡城县香巴拉镇渔洼仲村松茸专业合作社",
        kind: OrganizationKind::Cooperative,
        region: "513336100201",
        status: VerificationStatus::Approved,
        description: "乡城高山松茸、藏香猪与藏式木碗,产销直连。",
        contact: ("扎西", "0836-5822666"),
        households: &[(5, true, 2500), (4, true, 2500)],
        listings: &[
            DemoListing {
                category: "matsutake",
                title: "乡城野生松茸 鲜品",
                description: "雨季清晨采收,当日冷链发出。",
                unit: Unit::Kg,
                price_fen: 36_000,
                stock: "200",
                min_order: "1",
                grade: Grade::First,
                season: Some((7, 9)),
                certifications: &[Certification::Organic],
            },
            DemoListing {
                category: "tibetan-pig",
                title: "乡城藏香猪 半边",
                description: "高原散养藏香猪,肉质紧实。",
                unit: Unit::Kg,
                price_fen: 8800,
                stock: "600",
                min_order: "10",
                grade: Grade::First,
                season: None,
                certifications: &[Certification::PovertyAlleviation],
            },
            DemoListing {
                category: "wooden-bowl",
                title: "乡城藏式手工木碗",
                description: "整木车旋,植物漆,每只附手艺人签名。",
                unit: Unit::Piece,
                price_fen: 16_800,
                stock: "80",
                min_order: "1",
                grade: Grade::Ungraded,
                season: None,
                certifications: &[],
            },
        ],
    },
    DemoOrg {
        name: "开江县程家沟村麻鸭养殖专业合作社",
        kind: OrganizationKind::Cooperative,
        region: "511723105207",
        status: VerificationStatus::Applied,
        description: "新申请入驻的麻鸭养殖合作社,待县级推荐。",
        contact: ("程大勇", "13508181235"),
        households: &[],
        listings: &[],
    },
];

/// True when the database has neither users nor organizations.
pub async fn is_empty(db: &impl ConnectionTrait) -> Result<bool, sea_orm::DbErr> {
    Ok(user::Entity::find().count(db).await? == 0
        && organization::Entity::find().count(db).await? == 0)
}

/// True when the demo's admin account exists.
pub async fn has_demo_accounts(db: &impl ConnectionTrait) -> Result<bool, sea_orm::DbErr> {
    Ok(user::Entity::find()
        .filter(user::Column::Username.eq("admin"))
        .count(db)
        .await?
        > 0)
}

/// Loads the demo dataset in one transaction: all of it or none; with `history`, the
/// buyers' past year of orders.
pub async fn seed(
    db: &sea_orm::DatabaseConnection,
    settings: &crate::config::Settings,
) -> anyhow::Result<()> {
    let (demo_password, history) = (settings.demo_password.as_str(), settings.demo_history);
    let txn = crate::db::write_txn(db).await?;
    let now = Utc::now();
    let mut org_ids = Vec::new();
    let mut claims = Vec::new();
    for org in ORGS {
        let (id, claimed) = seed_organization(&txn, org, now).await?;
        org_ids.push(id);
        claims.push((id, claimed));
    }
    seed_accounts(&txn, &org_ids, demo_password, now).await?;
    seed_certificates(&txn, &claims, now).await?;
    seed_units(&txn, now).await?;
    if history {
        seed_delivery(&txn).await?;
        history::seed(&txn, &crate::matching::service::Rules::of(settings), now).await?;
    }
    txn.commit().await?;
    Ok(())
}

/// The demo buyer's canteen as a buyer unit: applied for by the buyer, approved by the
/// province's official, with this year's 10 % reserved share of its declared purchases; and
/// two help relations, 杭州 for 道孚 and the canteen for 开江.
async fn seed_units(txn: &impl ConnectionTrait, now: DateTime<Utc>) -> anyhow::Result<()> {
    use crate::buyers::{obligations, units};
    let buyer = demo_actor(txn, "buyer").await?;
    let official = demo_actor(txn, "official-sichuan").await?;
    let input = units::UnitInput {
        name: "成都市锦江区机关食堂".into(),
        kind: "canteen".into(),
        region_code: "510104".into(),
        parent_id: None,
        counts_members: None,
        contact_name: "王师傅".into(),
        contact_phone: "028-86630890".into(),
    };
    let canteen = units::apply(txn, &buyer, &input, now).await?;
    units::decide(txn, &official, canteen.id, true, None, now).await?;
    let share = obligations::ObligationInput {
        kind: "share".into(),
        purchases_fen: Some(120_000_000),
        share_bp: Some(1_000),
        note: Some("预留份额 10%".into()),
        ..Default::default()
    };
    let year = crate::days::local_date(now).year();
    obligations::declare(txn, &buyer, canteen.id, year, &share, now).await?;
    // 杭州 helps 道孚 under 东西部协作; the canteen twins with 开江.
    let admin = demo_actor(txn, "admin").await?;
    for (kind, unit, region, county) in [
        ("east_west", None, Some("330100"), "513326"),
        ("twinning", Some(canteen.id), None, "511723"),
    ] {
        let input = crate::buyers::relations::RelationInput {
            kind: kind.into(),
            helper_unit_id: unit,
            helper_region_code: region.map(str::to_string),
            helped_county_code: county.into(),
            starts_on: format!("{}-01-01", year - 1),
            ends_on: None,
        };
        crate::buyers::relations::record(txn, &admin, &input, now).await?;
    }
    let pledges = seed_more_units(txn, year, now).await?;
    seed_campaign(txn, canteen.id, &pledges, now).await
}

/// A unit a demo account applies for and an official approves, with this year's obligation.
struct DemoUnit {
    applicant: &'static str,
    decider: &'static str,
    name: &'static str,
    kind: &'static str,
    region: &'static str,
    /// The index of the parent among the units seeded before it.
    parent: Option<usize>,
    contact: (&'static str, &'static str),
    obligation: ObligationInput,
}

/// The other buyers the demo's policy runs on, applied for and approved as people would: the
/// province's 农业农村厅 with two subordinate units, each with its reserved share; 达州's
/// union with its welfare budget per member and a member; and a 杭州 unit helping 乡城 under
/// 东西部协作. Returns the pledges the department and the 杭州 unit make to the campaign.
async fn seed_more_units(
    txn: &impl ConnectionTrait,
    year: i32,
    now: DateTime<Utc>,
) -> anyhow::Result<Vec<(&'static str, i64, i64)>> {
    use crate::buyers::{obligations, relations, units};
    let share = |purchases_fen: i64, share_bp: i32| ObligationInput {
        kind: "share".into(),
        purchases_fen: Some(purchases_fen),
        share_bp: Some(share_bp),
        note: Some("预留份额".into()),
        ..Default::default()
    };
    let seeded = [
        DemoUnit {
            applicant: "dept-sichuan",
            decider: "official-sichuan",
            name: "四川省农业农村厅",
            kind: "budget_unit",
            region: "510000",
            parent: None,
            contact: ("周处长", "028-85505000"),
            obligation: share(300_000_000, 1_000),
        },
        DemoUnit {
            applicant: "dept-sichuan",
            decider: "official-sichuan",
            name: "四川省农业科学院",
            kind: "budget_unit",
            region: "510104",
            parent: Some(0),
            contact: ("吴老师", "028-84504000"),
            obligation: share(150_000_000, 1_000),
        },
        DemoUnit {
            applicant: "dept-sichuan",
            decider: "official-sichuan",
            name: "四川省农业农村厅机关食堂",
            kind: "canteen",
            region: "510107",
            parent: Some(0),
            contact: ("赵师傅", "028-85505100"),
            obligation: share(80_000_000, 1_500),
        },
        DemoUnit {
            applicant: "union-dazhou",
            decider: "official-dazhou",
            name: "达州市总工会",
            kind: "union",
            region: "511700",
            parent: None,
            contact: ("陈主席", "0818-2380000"),
            obligation: ObligationInput {
                kind: "fixed".into(),
                per_member_fen: Some(50_000),
                members: Some(1_200),
                note: Some("工会福利 每人 500 元".into()),
                ..Default::default()
            },
        },
        DemoUnit {
            applicant: "buyer-hangzhou",
            decider: "admin",
            name: "杭州市余杭区机关事务服务中心",
            kind: "budget_unit",
            region: "330110",
            parent: None,
            contact: ("沈主任", "0571-86220000"),
            obligation: ObligationInput {
                kind: "fixed".into(),
                amount_fen: Some(50_000_000),
                note: Some("东西部协作 消费帮扶".into()),
                ..Default::default()
            },
        },
    ];
    let mut ids: Vec<i64> = Vec::new();
    for u in &seeded {
        let applicant = demo_actor(txn, u.applicant).await?;
        let input = units::UnitInput {
            name: u.name.into(),
            kind: u.kind.into(),
            region_code: u.region.into(),
            parent_id: u.parent.map(|i| ids[i]),
            counts_members: None,
            contact_name: u.contact.0.into(),
            contact_phone: u.contact.1.into(),
        };
        let unit = units::apply(txn, &applicant, &input, now).await?;
        let decider = demo_actor(txn, u.decider).await?;
        units::decide(txn, &decider, unit.id, true, None, now).await?;
        obligations::declare(txn, &applicant, unit.id, year, &u.obligation, now).await?;
        ids.push(unit.id);
    }
    let chair = demo_actor(txn, "union-dazhou").await?;
    let member = units::MemberInput {
        username: "union-member".into(),
        role: "member".into(),
    };
    units::add_member(txn, &chair, ids[3], &member, now).await?;
    let official = demo_actor(txn, "official-sichuan").await?;
    let input = relations::RelationInput {
        kind: "east_west".into(),
        helper_unit_id: Some(ids[4]),
        helper_region_code: None,
        helped_county_code: "513336".into(),
        starts_on: format!("{}-01-01", year - 1),
        ends_on: None,
    };
    relations::record(txn, &official, &input, now).await?;
    Ok(vec![
        ("dept-sichuan", ids[0], 5_000_000),
        ("buyer-hangzhou", ids[4], 2_000_000),
    ])
}

/// This month's 消费帮扶月 across the demo's four counties, organized by the province: 阆中's
/// listings signed up, the canteen's pledge.
async fn seed_campaign(
    txn: &impl ConnectionTrait,
    canteen: i64,
    pledges: &[(&str, i64, i64)],
    now: DateTime<Utc>,
) -> anyhow::Result<()> {
    use crate::buyers::campaigns;
    let official = demo_actor(txn, "official-sichuan").await?;
    let admin = demo_actor(txn, "admin").await?;
    let buyer = demo_actor(txn, "buyer").await?;
    let today = crate::days::local_date(now);
    let input = campaigns::CampaignInput {
        name: format!("{} 四川消费帮扶月", today.year()),
        kind: "month".into(),
        description: Some("机关、企事业单位和工会集中采购脱贫地区农产品。".into()),
        starts_on: (today - chrono::Duration::days(15)).to_string(),
        ends_on: (today + chrono::Duration::days(15)).to_string(),
        counties: ["511723", "513326", "513336", "511381"]
            .map(str::to_string)
            .to_vec(),
    };
    let month = campaigns::organize(txn, &official, &input, now).await?;
    let signed = listing::Entity::find()
        .filter(listing::Column::OriginRegionCode.starts_with("511381"))
        .all(txn)
        .await?;
    for l in signed {
        campaigns::sign_up(txn, &admin, month.id, l.id, now).await?;
    }
    campaigns::pledge(txn, &buyer, month.id, canteen, 3_000_000, now).await?;
    for (admin, unit, fen) in pledges {
        let actor = demo_actor(txn, admin).await?;
        campaigns::pledge(txn, &actor, month.id, *unit, *fen, now).await?;
    }
    Ok(())
}

/// The two cooperatives' delivery, set up as their staff would on their delivery page: 孜龙村
/// sends by post with the cold chain (its fresh yak meat needs it) and keeps a pickup point in
/// 道孚; 盘石村 sends by express, drives to buyers within 达州 itself, and takes bulk lots to a
/// consolidation warehouse in 成都. Its bamboo baskets weigh 600 g each.
async fn seed_delivery(txn: &impl ConnectionTrait) -> anyhow::Result<()> {
    use crate::delivery::freight::Rate;
    use crate::delivery::methods::{self, MethodRequest, Shipping};
    let rate = |province: &str, first_fen, step_fen| Rate {
        province_code: province.into(),
        first_weight_g: 1000,
        first_fee_fen: first_fen,
        step_weight_g: 1000,
        step_fee_fen: step_fen,
    };
    let methods = [
        (
            "coop-zilong",
            MethodRequest {
                kind: "express".into(),
                name: "中国邮政 冷链".into(),
                cold_chain: true,
                cold_surcharge_fen: 1500,
                rates: vec![rate("510000", 1000, 300), rate("", 1800, 800)],
                ..MethodRequest::default()
            },
        ),
        (
            "coop-zilong",
            MethodRequest {
                kind: "pickup".into(),
                name: "道孚县城自提点".into(),
                region_code: "513326".into(),
                address: "鲜水镇团结路 12 号 孜龙村合作社门市".into(),
                hours: "每天 9:00–19:00".into(),
                ..MethodRequest::default()
            },
        ),
        (
            "coop-panshi",
            MethodRequest {
                kind: "express".into(),
                name: "顺丰速运".into(),
                rates: vec![rate("510000", 800, 200), rate("", 1200, 500)],
                ..MethodRequest::default()
            },
        ),
        (
            "coop-panshi",
            MethodRequest {
                kind: "own".into(),
                name: "合作社货车送达".into(),
                fee_fen: 2000,
                area: vec!["511700".into()],
                ..MethodRequest::default()
            },
        ),
        (
            "coop-panshi",
            MethodRequest {
                kind: "warehouse".into(),
                name: "成都集采仓".into(),
                fee_fen: 8000,
                region_code: "510104".into(),
                address: "锦江区三圣街道 农产品集采中心 3 号库".into(),
                min_weight_g: 500_000,
                ..MethodRequest::default()
            },
        ),
    ];
    for (username, m) in &methods {
        let actor = demo_actor(txn, username).await?;
        methods::create(txn, &actor, m).await?;
    }
    let needs = [
        ("coop-zilong", "道孚牦牛肉 鲜切", true, None),
        ("coop-panshi", "盘石竹编果篮", false, Some(600)),
    ];
    for (username, title, cold_chain, piece_weight_g) in needs {
        let actor = demo_actor(txn, username).await?;
        let l = listing::Entity::find()
            .filter(listing::Column::Title.eq(title))
            .one(txn)
            .await?
            .ok_or_else(|| anyhow::anyhow!("demo listing {title} missing"))?;
        let s = Shipping {
            cold_chain,
            piece_weight_g,
        };
        methods::set_shipping(txn, &actor, l.id, &s).await?;
    }
    Ok(())
}

/// A signed-in demo account, for the steps the demo takes as people would.
async fn demo_actor(txn: &impl ConnectionTrait, username: &str) -> anyhow::Result<Actor> {
    let user = user::Entity::find()
        .filter(user::Column::Username.eq(username))
        .one(txn)
        .await?
        .ok_or_else(|| anyhow::anyhow!("demo account {username} missing"))?;
    Ok(Actor {
        role: user.role,
        user,
        credential: Credential::Token { id: 0 },
    })
}

/// Each certification the demo's listings carry, as a certificate that went the whole way:
/// recorded for the cooperative by the platform's admin with a scan, submitted, verified by
/// the province's official two months ago (认定 through its public notice), so in effect now.
async fn seed_certificates(
    txn: &impl ConnectionTrait,
    claims: &[(i64, Vec<Claimed>)],
    now: DateTime<Utc>,
) -> anyhow::Result<()> {
    let admin = demo_actor(txn, "admin").await?;
    let official = demo_actor(txn, "official-sichuan").await?;
    let issued = now - chrono::Duration::days(400);
    let decided = now - chrono::Duration::days(60);
    let today = crate::days::local_date(now);
    let from = crate::days::local_date(issued);
    for (org, listings) in claims {
        for &kind in Certification::ALL {
            let covered: Vec<i64> = listings
                .iter()
                .filter(|(_, kinds)| kinds.contains(&kind))
                .map(|(id, _)| *id)
                .collect();
            if covered.is_empty() {
                continue;
            }
            let (issuer, prefix) = demo_issuer(kind);
            let input = certificates::CertificateInput {
                kind: Some(kind.code().into()),
                number: Some(format!("{prefix}{}{org:04}", from.format("%Y%m"))),
                issuer: Some(issuer.into()),
                products: Some(format!("{}种产品", covered.len())),
                bases: Some(String::new()),
                listing_ids: Some(covered),
                valid_from: Some(from.to_string()),
                valid_until: Some((today + chrono::Duration::days(3 * 365 - 400)).to_string()),
            };
            let c = certificates::record(txn, &admin, *org, &input, issued).await?;
            let scan = format!(
                "%PDF-1.4\n% qudao demo: scan of certificate {}\n%%EOF\n",
                c.number
            );
            certificates::add_file(
                txn,
                &admin,
                c.id,
                "证书扫描件.pdf",
                scan.into_bytes(),
                issued,
            )
            .await?;
            certificates::submit(txn, &admin, c.id, issued).await?;
            certificates::decide(
                txn,
                &official,
                c.id,
                certificates::Decision::Approve,
                decided,
            )
            .await?;
        }
    }
    certificates::sweep_in(txn, now).await?;
    // The notices of that history were heard when it happened: none is news today.
    outbox::entity::Entity::update_many()
        .col_expr(
            outbox::entity::Column::DeliveredAt,
            sea_orm::sea_query::Expr::value(now),
        )
        .filter(outbox::entity::Column::Channel.eq("notify"))
        .filter(outbox::entity::Column::DeliveredAt.is_null())
        .exec(txn)
        .await?;
    Ok(())
}

/// Who issues certificates of a kind, and how their numbers begin.
fn demo_issuer(kind: Certification) -> (&'static str, &'static str) {
    match kind {
        Certification::Organic => ("中绿华夏有机产品认证中心", "ORG-"),
        Certification::GreenFood => ("中国绿色食品发展中心", "LB-"),
        Certification::GeographicalIndication => ("农业农村部", "AGI-"),
        Certification::GiTrademark => ("国家知识产权局", "GI-"),
        Certification::Featured => ("农业农村部农产品质量安全中心", "MTYX-"),
        Certification::PollutionFree => ("农业农村部农产品质量安全中心", "WGH-"),
        Certification::Compliance => ("生产经营主体自行开具", "HGZ-"),
        Certification::PovertyAlleviation => ("四川省乡村振兴局", "XFBF-"),
    }
}

/// A listing's id and the certifications its certificates give it.
type Claimed = (i64, &'static [Certification]);

/// One cooperative or company with its households and listings; its id, and its listings'
/// certifications to record.
async fn seed_organization(
    txn: &impl ConnectionTrait,
    org: &DemoOrg,
    now: DateTime<Utc>,
) -> anyhow::Result<(i64, Vec<Claimed>)> {
    let region = regions::find(txn, org.region)
        .await?
        .ok_or_else(|| anyhow::anyhow!("demo region {} missing", org.region))?;
    let row = organization::ActiveModel {
        name: Set(org.name.into()),
        kind: Set(org.kind),
        region_code: Set(org.region.into()),
        status: Set(org.status),
        description: Set(org.description.into()),
        contact_name: Set(org.contact.0.into()),
        contact_phone: Set(org.contact.1.into()),
        decided_at: Set((org.status == VerificationStatus::Approved).then_some(now)),
        created_at: Set(now),
        updated_at: Set(now),
        ..Default::default()
    }
    .insert(txn)
    .await?;
    for (i, (members, registered, share)) in org.households.iter().enumerate() {
        household::ActiveModel {
            organization_id: Set(row.id),
            region_code: Set(org.region.into()),
            head_name: Set(format!("{}户{}", org.contact.0, i + 1)),
            members: Set(*members),
            registered: Set(*registered),
            benefit_share_bp: Set(*share),
            created_at: Set(now),
            ..Default::default()
        }
        .insert(txn)
        .await?;
    }
    let mut claimed = Vec::new();
    for l in org.listings {
        let id = seed_listing(txn, row.id, org, &region, l, now).await?;
        claimed.push((id, l.certifications));
    }
    Ok((row.id, claimed))
}

/// One listing, active and queued for the search index; its id.
async fn seed_listing(
    txn: &impl ConnectionTrait,
    organization_id: i64,
    org: &DemoOrg,
    region: &crate::catalog::entity::region::Model,
    l: &DemoListing,
    now: DateTime<Utc>,
) -> anyhow::Result<i64> {
    let cat = categories::by_slug(txn, l.category)
        .await?
        .ok_or_else(|| anyhow::anyhow!("demo category {} missing", l.category))?;
    let q = |s: &str| {
        s.parse::<Quantity>()
            .map_err(|e| anyhow::anyhow!("demo quantity {s}: {e:?}"))
    };
    let row = listing::ActiveModel {
        organization_id: Set(organization_id),
        category_id: Set(cat.id),
        title: Set(l.title.into()),
        description: Set(l.description.into()),
        unit: Set(l.unit),
        price_fen: Set(l.price_fen),
        stock_milli: Set(q(l.stock)?.milli()),
        min_order_milli: Set(q(l.min_order)?.milli()),
        sold_milli: Set(0),
        grade: Set(l.grade),
        season_start: Set(l.season.map(|s| s.0)),
        season_end: Set(l.season.map(|s| s.1)),
        certifications: Set(Certifications::default()),
        origin_region_code: Set(org.region.into()),
        latitude: Set(region.latitude),
        longitude: Set(region.longitude),
        status: Set(ListingStatus::Active),
        version: Set(1),
        created_at: Set(now),
        updated_at: Set(now),
        deleted_at: Set(None),
        ..Default::default()
    }
    .insert(txn)
    .await?;
    let indexed = SearchEvent::Listing {
        news: ListingNews::Created,
        listing_id: row.id,
        version: row.version,
        offered: false,
    };
    outbox::enqueue(txn, &indexed).await?;
    Ok(row.id)
}

/// The demo accounts, one per role, all with the demo password.
async fn seed_accounts(
    txn: &impl ConnectionTrait,
    org_ids: &[i64],
    demo_password: &str,
    now: DateTime<Utc>,
) -> anyhow::Result<()> {
    // (username, display name, role, organization, region scope); the officials are the
    // reporting staff of their region (the 成效统计表 goes 开江 → 达州 → 四川).
    type Account<'a> = (&'a str, &'a str, Role, Option<i64>, Option<&'a str>);
    let accounts: [Account; 11] = [
        ("admin", "平台管理员", Role::Admin, None, None),
        ("buyer", "成都蓉城职工食堂采购部", Role::Buyer, None, None),
        (
            "coop-zilong",
            "孜龙村合作社 泽仁",
            Role::Producer,
            Some(org_ids[0]),
            None,
        ),
        (
            "coop-panshi",
            "盘石村合作社 李明华",
            Role::Producer,
            Some(org_ids[1]),
            None,
        ),
        (
            "official-kaijiang",
            "开江县经信局",
            Role::Official,
            None,
            Some("511723"),
        ),
        (
            "official-dazhou",
            "达州市经信局",
            Role::Official,
            None,
            Some("511700"),
        ),
        (
            "official-sichuan",
            "四川省经济和信息化厅",
            Role::Official,
            None,
            Some("510000"),
        ),
        (
            "dept-sichuan",
            "四川省农业农村厅办公室",
            Role::Buyer,
            None,
            None,
        ),
        (
            "union-dazhou",
            "达州市总工会 陈主席",
            Role::Buyer,
            None,
            None,
        ),
        (
            "union-member",
            "达州市总工会会员 李静",
            Role::Buyer,
            None,
            None,
        ),
        (
            "buyer-hangzhou",
            "杭州市余杭区机关事务服务中心 沈主任",
            Role::Buyer,
            None,
            None,
        ),
    ];
    for (username, display, role, org, region) in accounts {
        let pw = demo_password.to_string();
        let hash = tokio::task::spawn_blocking(move || password::hash(&pw)).await??;
        user::ActiveModel {
            username: Set(username.into()),
            password_hash: Set(hash),
            display_name: Set(display.into()),
            role: Set(role),
            organization_id: Set(org),
            region_code: Set(region.map(Into::into)),
            language: Set(Language::Zh),
            email: Set(Some(format!("{username}@demo.qudao.example"))),
            disabled: Set(false),
            reporter: Set(role == Role::Official),
            created_at: Set(now),
            ..Default::default()
        }
        .insert(txn)
        .await?;
    }
    Ok(())
}
