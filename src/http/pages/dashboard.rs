//! The dashboard atop a region's page for officials: key figures as cards with the change
//! from the previous period, progress against the year's targets with the pace expected by
//! today, the trend with its target line, ranked bars of child regions and products, and a
//! tile map of the child regions shaded by sales. All drawn here as SVG; no script.

use chrono::{Datelike, NaiveDate};
use minijinja::{Value, context};

use crate::catalog::domain::{RegionLevel, format_yuan};
use crate::catalog::entity::region;
use crate::http::pages::Lang;
use crate::stats::chart::{self, Bar, Tile};
use crate::stats::domain::{change_bp, progress_bp};
use crate::stats::reports::ReportRow;
use crate::stats::rollup::Figures;
use crate::stats::targets::Progress;
use crate::stats::views::{RollupView, TrendView};

/// How many products the ranked bars show.
const TOP_PRODUCTS: usize = 12;

/// What the dashboard is drawn from.
pub struct Inputs<'a> {
    pub lang: Lang,
    pub view: &'a RollupView,
    pub by_category: &'a RollupView,
    pub trend: &'a TrendView,
    pub progress: &'a Progress,
    /// The region's child regions, in code order (none below villages).
    pub children: &'a [region::Model],
    pub today: NaiveDate,
}

/// `zh` or `en` text, as the page's language asks.
fn say(lang: Lang, zh: &'static str, en: &'static str) -> &'static str {
    if lang == Lang::Zh { zh } else { en }
}

/// A change in basis points as the cards show it: `+12.50%`, `-3.00%` or `—`.
pub fn percent(bp: Option<i64>) -> String {
    match bp {
        Some(bp) => {
            let sign = if bp < 0 { "-" } else { "+" };
            format!(
                "{sign}{}.{:02}%",
                bp.unsigned_abs() / 100,
                bp.unsigned_abs() % 100
            )
        }
        None => "—".into(),
    }
}

/// A row's name in the page's language.
pub fn row_name(lang: Lang, r: &ReportRow) -> &str {
    if lang == Lang::En && !r.name_en.is_empty() {
        &r.name_en
    } else {
        &r.name
    }
}

/// A place's name short enough for a tile: without its kind (县, 市, 自治州, County, Town…).
pub fn short_name(lang: Lang, name: &str) -> String {
    if lang == Lang::En {
        const KINDS: [&str; 10] = [
            " Tibetan",
            " Yi ",
            " Qiang",
            " Autonomous",
            " County",
            " City",
            " District",
            " Township",
            " Town",
            " Subdistrict",
        ];
        let cut = KINDS
            .iter()
            .filter_map(|k| name.find(k))
            .filter(|&at| at > 0)
            .min()
            .unwrap_or(name.len());
        return name[..cut].to_string();
    }
    let chars: Vec<char> = name.chars().collect();
    if name.ends_with("自治州") || name.ends_with("自治县") {
        return chars.iter().take(2).collect();
    }
    match chars.last() {
        Some('市' | '县' | '区' | '镇' | '乡' | '村') if chars.len() > 2 => {
            chars[..chars.len() - 1].iter().collect()
        }
        _ => name.to_string(),
    }
}

/// How much of `year` has gone by `today`, in basis points: the pace a yearly target expects.
pub fn year_pace_bp(year: i32, today: NaiveDate) -> i64 {
    match year.cmp(&today.year()) {
        std::cmp::Ordering::Less => 10_000,
        std::cmp::Ordering::Greater => 0,
        std::cmp::Ordering::Equal => {
            let days = if today.leap_year() { 366 } else { 365 };
            i64::from(today.ordinal()) * 10_000 / days
        }
    }
}

/// The key figures as cards: each with its label's key in the page's phrases, this period's
/// and the previous period's values as read, and the change between them.
fn cards(f: &Figures, p: &Figures) -> Vec<Value> {
    let money = |now: i64, before: i64| (now, before, format_yuan(now), format_yuan(before));
    let count = |now: i64, before: i64| (now, before, now.to_string(), before.to_string());
    [
        ("stats_sales", money(f.sales_fen, p.sales_fen)),
        ("stats_orders", count(f.orders, p.orders)),
        ("stats_buyers", count(f.buyers, p.buyers)),
        ("stats_households", count(f.households, p.households)),
        ("stats_household_income", money(f.household_fen, p.household_fen)),
    ]
    .into_iter()
    .map(|(key, (now, before, value, previous))| {
        let bp = change_bp(now, before);
        context! {
            key,
            value,
            previous,
            change => percent(bp),
            direction => match bp { Some(b) if b > 0 => "up", Some(b) if b < 0 => "down", _ => "flat" },
        }
    })
    .collect()
}

/// Progress towards each of the year's targets that is set, with its bar and whether it lags
/// the year's pace.
fn goals(progress: &Progress, pace: i64) -> Vec<Value> {
    let Some(t) = progress.targets.as_ref() else {
        return Vec::new();
    };
    let a = &progress.actual;
    let count = |actual: i64, target: i64| (actual, target, actual.to_string(), target.to_string());
    [
        (
            "stats_sales",
            (
                a.sales_fen,
                t.sales_fen,
                format_yuan(a.sales_fen),
                format_yuan(t.sales_fen),
            ),
        ),
        ("stats_households", count(a.households, t.households)),
        (
            "stats_new_organizations",
            count(a.new_organizations, t.new_organizations),
        ),
    ]
    .into_iter()
    .filter(|(_, g)| g.1 > 0)
    .map(|(key, (actual, target, a_shown, t_shown))| {
        let bp = progress_bp(actual, target).unwrap_or(0);
        let shown = percent(Some(bp)).trim_start_matches('+').to_string();
        let title = format!("{a_shown} / {t_shown}");
        context! {
            key,
            actual => a_shown,
            target => t_shown,
            reached => shown.clone(),
            behind => bp < pace,
            svg => Value::from_safe_string(chart::progress(&title, bp, Some(pace), &shown)),
        }
    })
    .collect()
}

/// The tile map of the child regions, shaded by what each sold in the period; none when the
/// region has no children.
fn map(i: &Inputs) -> Option<String> {
    let lang = i.lang;
    let drillable = i.view.region.level < RegionLevel::Village;
    let (period, basis) = (&i.view.period, i.view.basis.code());
    let tiles: Vec<Tile> = i
        .children
        .iter()
        .map(|c| {
            let sales = i
                .view
                .breakdown
                .iter()
                .find(|r| r.code == c.code && !r.direct)
                .map_or(0, |r| r.figures.sales_fen);
            let label = if lang == Lang::En {
                &c.name_en
            } else {
                &c.name
            };
            Tile {
                short: short_name(lang, label),
                label: label.clone(),
                value: sales,
                shown: format_yuan(sales),
                at: c.latitude.zip(c.longitude),
                href: drillable.then(|| {
                    format!(
                        "/officials/regions/{}?period={period}&basis={basis}",
                        c.code
                    )
                }),
            }
        })
        .collect();
    (!tiles.is_empty()).then(|| {
        chart::tiles(
            say(lang, "下级地区销售额分布", "Sales across the child regions"),
            &tiles,
            [say(lang, "销售额", "Sales"), say(lang, "高", "high")],
        )
    })
}

/// Ranked bars of `rows` by sales, largest first, at most `top` of them.
fn ranked(lang: Lang, rows: &[ReportRow], top: usize) -> Vec<Bar> {
    let mut rows: Vec<&ReportRow> = rows.iter().collect();
    rows.sort_by(|a, b| {
        b.figures
            .sales_fen
            .cmp(&a.figures.sales_fen)
            .then(a.code.cmp(&b.code))
    });
    rows.into_iter()
        .take(top)
        .map(|r| Bar {
            label: row_name(lang, r).to_string(),
            value: r.figures.sales_fen,
            shown: format_yuan(r.figures.sales_fen),
        })
        .collect()
}

/// The dashboard's context: `cards`, `goals` (with their progress bars) and the SVGs `trend`,
/// `map`, `regions` and `products`.
pub fn dashboard(i: &Inputs) -> Value {
    let lang = i.lang;
    let pace = year_pace_bp(i.progress.year, i.today);
    let quarter_target = i.progress.targets.as_ref().map(|t| Bar {
        label: format!(
            "{} {}",
            i.progress.year,
            say(lang, "季度目标", "quarterly target")
        ),
        value: t.sales_fen / 4,
        shown: format_yuan(t.sales_fen / 4),
    });
    let trend = chart::columns(
        say(lang, "销售额趋势(按季度)", "Sales by quarter"),
        &i.trend
            .points
            .iter()
            .map(|p| Bar {
                label: p.period.clone(),
                value: p.figures.sales_fen,
                shown: format_yuan(p.figures.sales_fen),
            })
            .collect::<Vec<_>>(),
        quarter_target.as_ref(),
    );
    let regions = chart::rows(
        say(lang, "下级地区销售额排名", "Child regions by sales"),
        &ranked(lang, &i.view.breakdown, usize::MAX),
    );
    let products = chart::rows(
        say(lang, "品类销售额排名", "Categories by sales"),
        &ranked(lang, &i.by_category.breakdown, TOP_PRODUCTS),
    );
    context! {
        cards => cards(&i.view.figures, &i.view.previous),
        goals => goals(i.progress, pace),
        pace => percent(Some(pace)).trim_start_matches('+').to_string(),
        trend => Value::from_safe_string(trend),
        map => map(i).map(Value::from_safe_string),
        regions => Value::from_safe_string(regions),
        products => Value::from_safe_string(products),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_pace_is_the_share_of_the_year_gone() {
        let day = |y, m, d| NaiveDate::from_ymd_opt(y, m, d).unwrap();
        assert_eq!(year_pace_bp(2026, day(2026, 1, 1)), 27);
        assert_eq!(year_pace_bp(2026, day(2026, 12, 31)), 10_000);
        assert_eq!(year_pace_bp(2024, day(2024, 7, 1)), 183 * 10_000 / 366);
        assert_eq!(year_pace_bp(2025, day(2026, 3, 1)), 10_000);
        assert_eq!(year_pace_bp(2027, day(2026, 3, 1)), 0);
    }

    #[test]
    fn tiles_name_places_without_their_kind() {
        assert_eq!(short_name(Lang::Zh, "甘孜藏族自治州"), "甘孜");
        assert_eq!(short_name(Lang::Zh, "开江县"), "开江");
        assert_eq!(short_name(Lang::Zh, "达州市"), "达州");
        assert_eq!(short_name(Lang::Zh, "普安镇"), "普安");
        assert_eq!(short_name(Lang::Zh, "城区"), "城区");
        assert_eq!(
            short_name(Lang::En, "Garzê Tibetan Autonomous Prefecture"),
            "Garzê"
        );
        assert_eq!(short_name(Lang::En, "Kaijiang County"), "Kaijiang");
        assert_eq!(short_name(Lang::En, "Zhangling Town"), "Zhangling");
        assert_eq!(short_name(Lang::En, "Town"), "Town");
    }

    #[test]
    fn changes_read_with_their_sign() {
        assert_eq!(percent(Some(1250)), "+12.50%");
        assert_eq!(percent(Some(-300)), "-3.00%");
        assert_eq!(percent(None), "—");
    }
}
