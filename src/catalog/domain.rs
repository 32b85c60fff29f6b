//! Pure catalog vocabulary: exact quantities, units, grades, certifications,
//! money and region codes. No I/O here.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

pub use crate::division::{RegionLevel, county_of, region_contains, region_level};

use crate::error::FieldError;

/// Thousandths in one unit: quantities are exact to three decimal places.
pub const MILLI: i64 = 1000;

/// An exact, non-negative quantity in a listing's unit, stored as thousandths.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct Quantity(i64);

impl Quantity {
    /// The largest quantity qudao accepts: one billion units.
    pub const MAX: Quantity = Quantity(1_000_000_000 * MILLI);

    /// From a count of thousandths.
    pub const fn from_milli(milli: i64) -> Self {
        Quantity(milli)
    }

    /// From whole units.
    pub const fn from_units(units: i64) -> Self {
        Quantity(units * MILLI)
    }

    /// The count of thousandths.
    pub const fn milli(self) -> i64 {
        self.0
    }

    /// True when the quantity has no fractional part.
    pub fn is_whole(self) -> bool {
        self.0 % MILLI == 0
    }
}

/// Why a quantity text was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum QuantityError {
    Empty,
    NotANumber,
    Negative,
    TooPrecise,
    TooLarge,
}

impl QuantityError {
    /// As a field error.
    pub fn field_error(self) -> FieldError {
        match self {
            QuantityError::Empty => FieldError::new("required", "a quantity is required"),
            QuantityError::NotANumber => {
                FieldError::new("invalid", "must be a decimal number such as 12.5")
            }
            QuantityError::Negative => FieldError::new("out_of_range", "must not be negative"),
            QuantityError::TooPrecise => {
                FieldError::new("too_precise", "at most three decimal places")
            }
            QuantityError::TooLarge => {
                FieldError::new("out_of_range", "must be at most 1000000000")
            }
        }
    }
}

impl FromStr for Quantity {
    type Err = QuantityError;

    /// Parses plain decimal text ("12", "12.5", "0.125") exactly; no exponent, no sign but `+`.
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let s = s.trim();
        if s.is_empty() {
            return Err(QuantityError::Empty);
        }
        let s = s.strip_prefix('+').unwrap_or(s);
        if let Some(rest) = s.strip_prefix('-') {
            return if rest.parse::<Quantity>().is_ok_and(|q| q.0 == 0) {
                Ok(Quantity(0))
            } else if rest.parse::<Quantity>().is_ok() {
                Err(QuantityError::Negative)
            } else {
                Err(QuantityError::NotANumber)
            };
        }
        let (whole, frac) = match s.split_once('.') {
            Some((w, f)) => (w, f),
            None => (s, ""),
        };
        let digits = |t: &str| t.bytes().all(|b| b.is_ascii_digit());
        if (whole.is_empty() && frac.is_empty()) || !digits(whole) || !digits(frac) {
            return Err(QuantityError::NotANumber);
        }
        let frac = frac.trim_end_matches('0');
        if frac.len() > 3 {
            return Err(QuantityError::TooPrecise);
        }
        let whole = whole.trim_start_matches('0');
        if whole.len() > 10 {
            return Err(QuantityError::TooLarge);
        }
        let units: i64 = if whole.is_empty() {
            0
        } else {
            whole.parse().map_err(|_| QuantityError::TooLarge)?
        };
        let mut thousandths: i64 = 0;
        for (i, b) in frac.bytes().enumerate() {
            thousandths += i64::from(b - b'0') * 10_i64.pow(2 - i as u32);
        }
        let q = Quantity(units * MILLI + thousandths);
        if q > Quantity::MAX {
            return Err(QuantityError::TooLarge);
        }
        Ok(q)
    }
}

impl fmt::Display for Quantity {
    /// Shortest exact decimal: 12, 12.5, 0.125.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let whole = self.0 / MILLI;
        let frac = self.0 % MILLI;
        if frac == 0 {
            write!(f, "{whole}")
        } else {
            let s = format!("{frac:03}");
            write!(f, "{whole}.{}", s.trim_end_matches('0'))
        }
    }
}

impl Serialize for Quantity {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

/// A quantity as sent by a client: decimal text, or a JSON number read back to its shortest text.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(untagged)]
pub enum QuantityInput {
    Text(String),
    Integer(i64),
    Number(serde_json::Number),
}

impl QuantityInput {
    /// Parses into an exact quantity.
    pub fn parse(&self) -> Result<Quantity, QuantityError> {
        match self {
            QuantityInput::Text(s) => s.parse(),
            QuantityInput::Integer(i) => i.to_string().parse(),
            // A JSON number that is not an integer: its shortest round-trip text is what was typed.
            QuantityInput::Number(n) => {
                let text = n.to_string();
                if text.contains(['e', 'E']) {
                    Err(QuantityError::TooPrecise)
                } else {
                    text.parse()
                }
            }
        }
    }
}

/// Money in fen (分), the smallest unit of the yuan.
pub type Fen = i64;

/// The largest unit price accepted: ¥1 000 000.
pub const MAX_PRICE_FEN: Fen = 100_000_000;

/// Renders fen as yuan with two decimals, e.g. `¥5.20`.
pub fn format_yuan(fen: Fen) -> String {
    let sign = if fen < 0 { "-" } else { "" };
    let fen = fen.unsigned_abs();
    format!("{sign}¥{}.{:02}", fen / 100, fen % 100)
}

vocabulary! {
    /// What another name of a category is.
    AliasKind {
        Alias => "alias", "别名", "other name";
        English => "english", "英文名", "English name";
    }
}

vocabulary! {
    /// The unit a listing is sold in.
    Unit {
        Jin => "jin", "斤", "jin (500 g)";
        Kg => "kg", "公斤", "kg";
        Ton => "ton", "吨", "tonne";
        Piece => "piece", "件", "piece";
    }
}

vocabulary! {
    /// Quality grade, best first.
    Grade {
        Special => "special", "特级", "premium";
        First => "first", "一级", "grade 1";
        Second => "second", "二级", "grade 2";
        Third => "third", "三级", "grade 3";
        Ungraded => "ungraded", "未分级", "ungraded";
    }
}

impl Grade {
    /// This grade and every better one, best first: what "at least 一级" admits.
    pub fn at_least(self) -> impl Iterator<Item = Grade> {
        Grade::ALL.iter().copied().filter(move |g| *g <= self)
    }
}

vocabulary! {
    /// Kinds of certificate: what a verified certificate in effect lets a listing show.
    Certification {
        Organic => "organic", "有机产品", "organic";
        GreenFood => "green_food", "绿色食品", "green food";
        GeographicalIndication => "geographical_indication", "农产品地理标志", "agricultural geographical indication";
        GiTrademark => "gi_trademark", "地理标志证明商标", "geographical indication trademark";
        Featured => "featured", "名特优新农产品", "distinctive quality product";
        PollutionFree => "pollution_free", "无公害农产品", "pollution-free product (abolished)";
        Compliance => "compliance", "承诺达标合格证", "compliance commitment certificate";
        PovertyAlleviation => "poverty_alleviation", "消费帮扶产品认定", "recognised 消费帮扶 product";
    }
}

impl Certification {
    /// Whether approval puts it on public notice (公示) before it takes effect: 认定 does.
    pub fn takes_notice(self) -> bool {
        self == Certification::PovertyAlleviation
    }

    /// The kind a sheet names in Chinese: its full name or the short one people write
    /// (有机, 地理标志, 扶贫产品认定 …).
    pub fn from_words(words: &str) -> Option<Certification> {
        Certification::from_name_zh(words).or(match words {
            "有机" | "有机食品" => Some(Certification::Organic),
            "地理标志" | "地标" => Some(Certification::GeographicalIndication),
            "名特优新" => Some(Certification::Featured),
            "无公害" => Some(Certification::PollutionFree),
            "合格证" => Some(Certification::Compliance),
            "扶贫产品认定" | "消费帮扶认定" | "扶贫产品" => {
                Some(Certification::PovertyAlleviation)
            }
            _ => None,
        })
    }

    /// Whether new certificates of this kind may be recorded: 无公害 ended by law, and its
    /// certificates have all run out.
    pub fn is_current(self) -> bool {
        self != Certification::PollutionFree
    }
}

vocabulary! {
    /// Where a certificate stands: recorded, submitted for review, on public notice, in
    /// effect, rejected or run out.
    CertificateStatus {
        Draft => "draft", "待提交", "draft";
        Submitted => "submitted", "待审核", "awaiting review";
        Notice => "notice", "公示中", "on public notice";
        Effective => "effective", "有效", "in effect";
        Rejected => "rejected", "未通过", "rejected";
        Expired => "expired", "已过期", "expired";
    }
}

vocabulary! {
    /// Where an objection lodged during a public notice stands.
    ObjectionStatus {
        Open => "open", "待处理", "open";
        Upheld => "upheld", "异议成立", "upheld";
        Dismissed => "dismissed", "异议不成立", "dismissed";
    }
}

vocabulary! {
    /// What kind of producer an organization is.
    OrganizationKind {
        Cooperative => "cooperative", "农民专业合作社", "cooperative";
        Enterprise => "enterprise", "龙头企业", "leading enterprise";
        FamilyFarm => "family_farm", "家庭农场", "family farm";
        VillageAgent => "village_agent", "村级代办点", "village agent";
    }
}

vocabulary! {
    /// Where an organization is in onboarding: apply → county recommends → admin approves.
    VerificationStatus {
        Applied => "applied", "已申请", "applied";
        Recommended => "recommended", "县级已推荐", "recommended by county";
        Approved => "approved", "已认证", "approved";
        Rejected => "rejected", "未通过", "rejected";
    }
}

vocabulary! {
    /// Whether a listing is on sale.
    ListingStatus {
        Active => "active", "在售", "on sale";
        Paused => "paused", "已暂停", "paused";
    }
}

/// A listing's certifications: sorted, each once, stored as one comma-separated text column
/// of codes. A stored code that [`Certification`] does not know is an error when read.
#[derive(Debug, Clone, Default, PartialEq, Eq, sea_orm::DeriveValueType)]
#[sea_orm(value_type = "String")]
pub struct Certifications(Vec<Certification>);

impl Certifications {
    /// The set of `certs`, sorted and without repeats.
    pub fn of(certs: &[Certification]) -> Certifications {
        let mut certs = certs.to_vec();
        certs.sort();
        certs.dedup();
        Certifications(certs)
    }

    /// The certifications, in code order.
    pub fn list(&self) -> &[Certification] {
        &self.0
    }
}

impl fmt::Display for Certifications {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, c) in self.0.iter().enumerate() {
            if i > 0 {
                f.write_str(",")?;
            }
            f.write_str(c.code())?;
        }
        Ok(())
    }
}

impl std::str::FromStr for Certifications {
    type Err = crate::vocab::UnknownCode;

    fn from_str(column: &str) -> Result<Self, Self::Err> {
        let certs = column
            .split(',')
            .filter(|code| !code.is_empty())
            .map(str::parse)
            .collect::<Result<Vec<Certification>, _>>()?;
        Ok(Certifications::of(&certs))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn quantities_parse_exactly() {
        assert_eq!("12".parse::<Quantity>(), Ok(Quantity::from_units(12)));
        assert_eq!("12.5".parse::<Quantity>(), Ok(Quantity::from_milli(12_500)));
        assert_eq!("0.125".parse::<Quantity>(), Ok(Quantity::from_milli(125)));
        assert_eq!(".5".parse::<Quantity>(), Ok(Quantity::from_milli(500)));
        assert_eq!(
            "3.1400".parse::<Quantity>(),
            Ok(Quantity::from_milli(3_140))
        );
        assert_eq!("-1".parse::<Quantity>(), Err(QuantityError::Negative));
        assert_eq!("0.0001".parse::<Quantity>(), Err(QuantityError::TooPrecise));
        assert_eq!("1e3".parse::<Quantity>(), Err(QuantityError::NotANumber));
        assert_eq!("".parse::<Quantity>(), Err(QuantityError::Empty));
        assert_eq!(".".parse::<Quantity>(), Err(QuantityError::NotANumber));
        assert_eq!(
            "1000000001".parse::<Quantity>(),
            Err(QuantityError::TooLarge)
        );
        assert_eq!(
            "99999999999999999999".parse::<Quantity>(),
            Err(QuantityError::TooLarge)
        );
    }

    #[test]
    fn json_numbers_keep_what_was_typed() {
        let q: QuantityInput = serde_json::from_str("0.1").unwrap();
        assert_eq!(q.parse(), Ok(Quantity::from_milli(100)));
        let q: QuantityInput = serde_json::from_str("2000").unwrap();
        assert_eq!(q.parse(), Ok(Quantity::from_units(2000)));
        let q: QuantityInput = serde_json::from_str("\"7.25\"").unwrap();
        assert_eq!(q.parse(), Ok(Quantity::from_milli(7_250)));
        let q: QuantityInput = serde_json::from_str("1e300").unwrap();
        assert!(q.parse().is_err());
    }

    #[test]
    fn yuan_formatting() {
        assert_eq!(format_yuan(520), "¥5.20");
        assert_eq!(format_yuan(7), "¥0.07");
        assert_eq!(format_yuan(-150), "-¥1.50");
    }

    #[test]
    fn certifications_round_trip_sorted_and_unique() {
        let set = Certifications::of(&[
            Certification::PovertyAlleviation,
            Certification::Organic,
            Certification::Organic,
        ]);
        assert_eq!(set.to_string(), "organic,poverty_alleviation");
        assert_eq!(
            "poverty_alleviation,organic".parse::<Certifications>(),
            Ok(set)
        );
        assert!("".parse::<Certifications>().unwrap().list().is_empty());
    }

    #[test]
    fn a_stored_certification_nobody_knows_is_an_error() {
        let err = "organic,magic".parse::<Certifications>().unwrap_err();
        assert_eq!(err.code, "magic");
    }

    proptest! {
        #[test]
        fn quantity_text_round_trips(milli in 0i64..=Quantity::MAX.milli()) {
            let q = Quantity::from_milli(milli);
            prop_assert_eq!(q.to_string().parse::<Quantity>(), Ok(q));
        }

    }
}
