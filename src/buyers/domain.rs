//! The words of the buyer side, free of I/O: kinds of unit, roles in a unit, kinds of yearly
//! obligation, and the arithmetic of a target and its completion.

use crate::catalog::domain::Fen;

vocabulary! {
    /// What kind of buyer a unit is.
    UnitKind {
        BudgetUnit => "budget_unit", "预算单位", "budget unit";
        Canteen => "canteen", "食堂", "canteen";
        Union => "union", "工会", "trade union";
        StateEnterprise => "state_enterprise", "国有企业", "state-owned enterprise";
        PrivateEnterprise => "private_enterprise", "民营企业", "private enterprise";
        Supermarket => "supermarket", "商超", "supermarket";
        Wholesaler => "wholesaler", "批发商", "wholesaler";
        Ecommerce => "ecommerce", "电商平台", "e-commerce platform";
        SocialOrganization => "social_organization", "社会组织", "social organization";
        Individual => "individual", "个人", "individual";
    }
}

impl UnitKind {
    /// Whether members' own purchases count for the unit unless it says otherwise: a union
    /// spends its members' welfare budget through them.
    pub fn counts_members_by_default(self) -> bool {
        self == UnitKind::Union
    }
}

vocabulary! {
    /// What a person may do for a unit.
    UnitRole {
        Admin => "admin", "单位管理员", "unit admin";
        Purchaser => "purchaser", "采购员", "purchaser";
        Member => "member", "成员", "member";
    }
}

impl UnitRole {
    /// Whether this role orders in the unit's name.
    pub fn buys_for_unit(self) -> bool {
        matches!(self, UnitRole::Admin | UnitRole::Purchaser)
    }
}

vocabulary! {
    /// Whether a unit is approved.
    UnitStatus {
        Applied => "applied", "已申请", "applied";
        Approved => "approved", "已认证", "approved";
        Rejected => "rejected", "未通过", "rejected";
    }
}

vocabulary! {
    /// Why an order counts for a unit.
    BuyerBasis {
        Purchase => "purchase", "单位采购", "bought by the unit";
        Member => "member", "成员个人购买", "a member's own purchase";
    }
}

vocabulary! {
    /// How a helper helps a county.
    HelpKind {
        Designated => "designated", "定点帮扶", "designated assistance";
        EastWest => "east_west", "东西部协作", "east–west cooperation";
        Paired => "paired", "对口支援", "paired support";
        Twinning => "twinning", "结对共建", "twinning";
        Resident => "resident", "驻村帮扶", "resident village team";
    }
}

vocabulary! {
    /// What kind of campaign.
    CampaignKind {
        Month => "month", "消费帮扶月", "consumption assistance month";
        NewYear => "new_year", "年货节", "new-year goods fair";
        Fair => "fair", "展销会", "trade fair";
        Other => "other", "其他活动", "other campaign";
    }
}

vocabulary! {
    /// How a unit's yearly obligation is set.
    ObligationKind {
        Share => "share", "预留份额(比例)", "reserved share";
        Fixed => "fixed", "固定金额", "fixed amount";
    }
}

/// The most basis points a share may be: all of the declared purchases.
pub const FULL_SHARE_BP: i32 = 10_000;

/// A share's target: `share_bp` basis points of `purchases_fen`, rounded up to the fen (a
/// quota is never met by rounding).
pub fn share_target(purchases_fen: Fen, share_bp: i32) -> Option<Fen> {
    let product = i128::from(purchases_fen).checked_mul(i128::from(share_bp))?;
    let target = (product + i128::from(FULL_SHARE_BP) - 1) / i128::from(FULL_SHARE_BP);
    Fen::try_from(target).ok()
}

/// A per-member budget's target: `per_member_fen` for each of `members`.
pub fn member_target(per_member_fen: Fen, members: i32) -> Option<Fen> {
    per_member_fen.checked_mul(Fen::from(members))
}

/// How far `done_fen` goes towards `target_fen`, in basis points (capped at nothing: a unit
/// may buy more than its quota). None when there is no target.
pub fn completion_bp(done_fen: Fen, target_fen: Fen) -> Option<i64> {
    (target_fen > 0).then(|| {
        let bp = i128::from(done_fen) * i128::from(FULL_SHARE_BP) / i128::from(target_fen);
        i64::try_from(bp).unwrap_or(i64::MAX)
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn a_ten_percent_share_of_a_canteens_purchases() {
        assert_eq!(share_target(1_234_567, 1_000), Some(123_457));
        assert_eq!(share_target(1_000_000, 1_000), Some(100_000));
        assert_eq!(member_target(50_000, 120), Some(6_000_000));
        assert_eq!(completion_bp(50_000, 100_000), Some(5_000));
        assert_eq!(completion_bp(1, 0), None);
    }

    proptest! {
        #[test]
        fn a_share_target_is_the_least_fen_not_below_the_exact_share(
            purchases in 0i64..10_000_000_000, bp in 0i32..=10_000
        ) {
            let t = share_target(purchases, bp).unwrap();
            let exact = i128::from(purchases) * i128::from(bp);
            prop_assert!(i128::from(t) * 10_000 >= exact);
            prop_assert!(i128::from(t - 1) * 10_000 < exact || t == 0);
            prop_assert!(t <= purchases);
        }
    }
}
