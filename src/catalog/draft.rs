//! A listing's fields as a producer sends them (the API's JSON, a page's form, a sheet's row),
//! checked all at once and applied onto the listing they change.

use serde::{Deserialize, Deserializer};
use utoipa::ToSchema;

use super::domain::{
    Certification, Grade, ListingStatus, MAX_PRICE_FEN, Quantity, QuantityInput, Unit, region_level,
};
use super::listings::{CERTIFICATIONS_MAX, DESCRIPTION_MAX, ListingDraft, Origin, TITLE_MAX};
use crate::error::{AppResult, Validator};
use crate::fields::text;

/// Distinguishes a field set to `null` from a field left out.
fn nullable<'de, D: Deserializer<'de>, T: Deserialize<'de>>(
    d: D,
) -> Result<Option<Option<T>>, D::Error> {
    Option::<T>::deserialize(d).map(Some)
}

/// A listing's fields. Creating needs `category_id`, `title`, `unit`, `price_fen` and `stock`;
/// a change (PATCH) sends only what changes, and `null` clears a season or coordinates.
#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ListingRequest {
    pub category_id: Option<i64>,
    #[schema(max_length = 60)]
    pub title: Option<String>,
    #[schema(max_length = 5000)]
    pub description: Option<String>,
    /// `jin` (斤), `kg`, `ton` (吨) or `piece` (件).
    pub unit: Option<String>,
    /// Unit price in fen (分), 1 to 100000000.
    pub price_fen: Option<i64>,
    /// Exact decimal, e.g. "2000" or "12.5".
    #[schema(value_type = Option<String>, example = "2000")]
    pub stock: Option<QuantityInput>,
    /// Smallest quantity one order may take (default 1).
    #[schema(value_type = Option<String>, example = "10")]
    pub min_order: Option<QuantityInput>,
    /// `special` (特级), `first` (一级), `second`, `third` or `ungraded`.
    pub grade: Option<String>,
    #[serde(default, deserialize_with = "nullable")]
    #[schema(value_type = Option<i32>)]
    pub season_start: Option<Option<i32>>,
    #[serde(default, deserialize_with = "nullable")]
    #[schema(value_type = Option<i32>)]
    pub season_end: Option<Option<i32>>,
    /// Any of `organic`, `green_food`, `geographical_indication`, `poverty_alleviation`.
    pub certifications: Option<Vec<String>>,
    /// Defaults to the organization's own region; must lie in its county.
    pub origin_region_code: Option<String>,
    #[serde(default, deserialize_with = "nullable")]
    #[schema(value_type = Option<f64>)]
    pub latitude: Option<Option<f64>>,
    #[serde(default, deserialize_with = "nullable")]
    #[schema(value_type = Option<f64>)]
    pub longitude: Option<Option<f64>>,
    /// `active` (default) or `paused`.
    pub status: Option<String>,
}

/// A vocabulary code, or a field error naming the codes allowed.
pub fn code_of<T>(
    field: &str,
    raw: &str,
    parse: fn(&str) -> Option<T>,
    codes: String,
    v: &mut Validator,
) -> Option<T> {
    let parsed = parse(raw.trim());
    if parsed.is_none() {
        v.add(field, "unknown_value", format!("must be one of: {codes}"));
    }
    parsed
}

fn quantity(field: &str, input: &QuantityInput, v: &mut Validator) -> Option<Quantity> {
    v.check(field, input.parse().map_err(|e| e.field_error()))
}

impl ListingRequest {
    /// Applies the request onto `base` (the current listing, or nothing when creating),
    /// checking every field and reporting all problems at once.
    pub fn into_draft(self, base: Option<ListingDraft>) -> AppResult<ListingDraft> {
        let mut v = Validator::default();
        if base.is_none() {
            for (field, present) in [
                ("category_id", self.category_id.is_some()),
                ("title", self.title.is_some()),
                ("unit", self.unit.is_some()),
                ("price_fen", self.price_fen.is_some()),
                ("stock", self.stock.is_some()),
            ] {
                if !present {
                    v.add(field, "required", format!("{field} is required"));
                }
            }
        }
        let checked = self.checked(&mut v);
        self.check_ranges(&mut v);
        v.finish()?;

        let mut d = base.unwrap_or(ListingDraft {
            category_id: 0,
            title: String::new(),
            description: String::new(),
            unit: Unit::Jin,
            price_fen: 0,
            stock: Quantity::default(),
            min_order: Quantity::from_units(1),
            grade: Grade::Ungraded,
            season: None,
            certifications: Vec::new(),
            origin: None,
            status: ListingStatus::Active,
        });
        checked.apply_to(&mut d);
        let mut v = Validator::default();
        self.apply_season_and_origin(&mut d, &mut v);
        if d.unit == Unit::Piece {
            if !d.stock.is_whole() {
                v.add(
                    "stock",
                    "not_whole",
                    "items sold by the piece need a whole number",
                );
            }
            if !d.min_order.is_whole() {
                v.add(
                    "min_order",
                    "not_whole",
                    "items sold by the piece need a whole number",
                );
            }
        }
        v.finish()?;
        Ok(d)
    }

    /// Checks the fields that carry values.
    fn checked(&self, v: &mut Validator) -> Checked {
        let category_id = self.category_id.filter(|id| {
            let ok = *id > 0;
            if !ok {
                v.add("category_id", "unknown", "no category has this id");
            }
            ok
        });
        let title = self
            .title
            .as_deref()
            .and_then(|t| v.check("title", text(t, 1, TITLE_MAX)));
        let description = self
            .description
            .as_deref()
            .and_then(|t| v.check("description", text(t, 0, DESCRIPTION_MAX)));
        let unit = self
            .unit
            .as_deref()
            .and_then(|u| code_of("unit", u, Unit::from_code, Unit::codes(), v));
        let price_fen = self.price_fen.filter(|p| {
            let ok = (1..=MAX_PRICE_FEN).contains(p);
            if !ok {
                v.add(
                    "price_fen",
                    "out_of_range",
                    format!("must be between 1 and {MAX_PRICE_FEN} fen"),
                );
            }
            ok
        });
        let stock = self.stock.as_ref().and_then(|q| quantity("stock", q, v));
        let min_order = self
            .min_order
            .as_ref()
            .and_then(|q| quantity("min_order", q, v));
        if min_order == Some(Quantity::default()) {
            v.add("min_order", "out_of_range", "must be greater than zero");
        }
        if min_order.is_some_and(|q| q > Quantity::from_units(1_000_000)) {
            v.add("min_order", "out_of_range", "must be at most 1000000");
        }
        let grade = self
            .grade
            .as_deref()
            .and_then(|g| code_of("grade", g, Grade::from_code, Grade::codes(), v));
        let status = self.status.as_deref().and_then(|s| {
            code_of(
                "status",
                s,
                ListingStatus::from_code,
                ListingStatus::codes(),
                v,
            )
        });
        let certifications = self.certifications.as_ref().map(|list| {
            if list.len() > CERTIFICATIONS_MAX {
                v.add(
                    "certifications",
                    "too_many",
                    format!("at most {CERTIFICATIONS_MAX}"),
                );
            }
            let list = list
                .iter()
                .filter_map(|c| {
                    code_of(
                        "certifications",
                        c,
                        Certification::from_code,
                        Certification::codes(),
                        v,
                    )
                })
                .collect::<Vec<_>>();
            if list.iter().any(|c| !c.is_current()) {
                v.add(
                    "certifications",
                    "abolished",
                    "无公害农产品认证 ended by law",
                );
            }
            list
        });
        Checked {
            category_id,
            title,
            description,
            unit,
            price_fen,
            stock,
            min_order,
            grade,
            status,
            certifications,
        }
    }

    /// Checks the fields whose value is only a range: months, coordinates, region code.
    fn check_ranges(&self, v: &mut Validator) {
        for (field, value) in [
            ("season_start", self.season_start),
            ("season_end", self.season_end),
        ] {
            if let Some(Some(m)) = value
                && !(1..=12).contains(&m)
            {
                v.add(field, "out_of_range", "a month from 1 to 12");
            }
        }
        if let Some(Some(lat)) = self.latitude
            && !(-90.0..=90.0).contains(&lat)
        {
            v.add("latitude", "out_of_range", "between -90 and 90");
        }
        if let Some(Some(lng)) = self.longitude
            && !(-180.0..=180.0).contains(&lng)
        {
            v.add("longitude", "out_of_range", "between -180 and 180");
        }
        if let Some(code) = &self.origin_region_code
            && region_level(code).is_none()
        {
            v.add("origin_region_code", "unknown", "no region has this code");
        }
    }

    /// The season and the origin as the request leaves them: a pair given whole or not at
    /// all, coordinates forgotten when the region changes.
    fn apply_season_and_origin(self, d: &mut ListingDraft, v: &mut Validator) {
        let (old_start, old_end) = d.season.map_or((None, None), |(a, b)| {
            (Some(i32::from(a)), Some(i32::from(b)))
        });
        let start = self.season_start.unwrap_or(old_start);
        let end = self.season_end.unwrap_or(old_end);
        d.season = match (start, end) {
            (Some(a), Some(b)) => Some((a as u8, b as u8)),
            (None, None) => None,
            _ => {
                v.add(
                    "season_end",
                    "incomplete",
                    "give both season_start and season_end, or neither",
                );
                None
            }
        };
        let old_coords = d.origin.as_ref().and_then(|o| o.coordinates);
        let region_changed = self.origin_region_code.is_some();
        let (old_lat, old_lng) = if region_changed {
            (None, None)
        } else {
            (old_coords.map(|c| c.0), old_coords.map(|c| c.1))
        };
        let lat = self.latitude.unwrap_or(old_lat);
        let lng = self.longitude.unwrap_or(old_lng);
        let coordinates = match (lat, lng) {
            (Some(a), Some(b)) => Some((a, b)),
            (None, None) => None,
            _ => {
                v.add(
                    "longitude",
                    "incomplete",
                    "give both latitude and longitude, or neither",
                );
                None
            }
        };
        let region_code = self
            .origin_region_code
            .or_else(|| d.origin.as_ref().map(|o| o.region_code.clone()));
        d.origin = match region_code {
            Some(region_code) => Some(Origin {
                region_code,
                coordinates,
            }),
            None if coordinates.is_some() => {
                v.add(
                    "origin_region_code",
                    "required",
                    "coordinates need an origin region",
                );
                None
            }
            None => None,
        };
    }
}

/// The fields a request sets, each checked (`None` where it sets none or it was refused).
struct Checked {
    category_id: Option<i64>,
    title: Option<String>,
    description: Option<String>,
    unit: Option<Unit>,
    price_fen: Option<i64>,
    stock: Option<Quantity>,
    min_order: Option<Quantity>,
    grade: Option<Grade>,
    status: Option<ListingStatus>,
    certifications: Option<Vec<Certification>>,
}

impl Checked {
    /// Sets what the request sets onto `d`.
    fn apply_to(self, d: &mut ListingDraft) {
        if let Some(x) = self.category_id {
            d.category_id = x;
        }
        if let Some(x) = self.title {
            d.title = x;
        }
        if let Some(x) = self.description {
            d.description = x;
        }
        if let Some(x) = self.unit {
            d.unit = x;
        }
        if let Some(x) = self.price_fen {
            d.price_fen = x;
        }
        if let Some(x) = self.stock {
            d.stock = x;
        }
        if let Some(x) = self.min_order {
            d.min_order = x;
        }
        if let Some(x) = self.grade {
            d.grade = x;
        }
        if let Some(x) = self.status {
            d.status = x;
        }
        if let Some(x) = self.certifications {
            d.certifications = x;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::AppError;

    fn req(json: serde_json::Value) -> ListingRequest {
        serde_json::from_value(json).unwrap()
    }

    fn codes(e: AppError) -> Vec<(String, &'static str)> {
        match e {
            AppError::Validation(f) => f.into_iter().map(|(k, v)| (k, v.code)).collect(),
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn creating_needs_the_essentials() {
        let e = req(serde_json::json!({})).into_draft(None).unwrap_err();
        let fields: Vec<_> = codes(e).into_iter().map(|(f, _)| f).collect();
        assert_eq!(
            fields,
            ["category_id", "price_fen", "stock", "title", "unit"]
        );
    }

    #[test]
    fn bad_values_are_named() {
        let e = req(serde_json::json!({
            "category_id": 1, "title": "   ", "unit": "bushel", "price_fen": -5,
            "stock": "-3", "min_order": "0", "grade": "best", "season_start": 13, "season_end": 2,
            "certifications": ["organic", "magic"], "latitude": 91.0, "longitude": 10.0
        }))
        .into_draft(None)
        .unwrap_err();
        assert_eq!(
            codes(e),
            vec![
                ("certifications".into(), "unknown_value"),
                ("grade".into(), "unknown_value"),
                ("latitude".into(), "out_of_range"),
                ("min_order".into(), "out_of_range"),
                ("price_fen".into(), "out_of_range"),
                ("season_start".into(), "out_of_range"),
                ("stock".into(), "out_of_range"),
                ("title".into(), "required"),
                ("unit".into(), "unknown_value"),
            ]
        );
    }

    #[test]
    fn a_patch_changes_only_what_it_names() {
        let base = req(serde_json::json!({
            "category_id": 3, "title": "开江大米", "unit": "jin", "price_fen": 520, "stock": "20000",
            "season_start": 9, "season_end": 11, "origin_region_code": "511723102210"
        }))
        .into_draft(None)
        .unwrap();
        let patched =
            req(serde_json::json!({"price_fen": 498, "season_start": null, "season_end": null}))
                .into_draft(Some(base.clone()))
                .unwrap();
        assert_eq!(patched.price_fen, 498);
        assert_eq!(patched.season, None);
        assert_eq!(patched.title, base.title);
        assert_eq!(patched.stock, Quantity::from_units(20_000));
        let e = req(serde_json::json!({"season_start": null}))
            .into_draft(Some(base))
            .unwrap_err();
        assert_eq!(codes(e), vec![("season_end".into(), "incomplete")]);
    }

    #[test]
    fn pieces_are_whole() {
        let e = req(serde_json::json!({"category_id": 1, "title": "竹篮", "unit": "piece", "price_fen": 8800, "stock": "2.5"}))
            .into_draft(None)
            .unwrap_err();
        assert_eq!(codes(e), vec![("stock".into(), "not_whole")]);
    }
}
