//! The order state machine and money arithmetic, free of I/O.

use crate::catalog::domain::{Fen, MILLI, Quantity};

vocabulary! {
    /// Where an order is in its life.
    OrderStatus {
        Placed => "placed", "已下单", "placed";
        Confirmed => "confirmed", "已确认", "confirmed";
        Shipped => "shipped", "已发货", "shipped";
        Delivered => "delivered", "已收货", "delivered";
        Disputed => "disputed", "纠纷处理中", "in dispute";
        Completed => "completed", "已完成", "completed";
        Cancelled => "cancelled", "已取消", "cancelled";
    }
}

vocabulary! {
    /// Whether the buyer has paid (outside the platform, for now).
    PaymentStatus {
        Unpaid => "unpaid", "未付款", "unpaid";
        PaidOffline => "paid_offline", "已线下付款", "paid offline";
        Refunded => "refunded", "已退款", "refunded";
    }
}

vocabulary! {
    /// Something a person (or the clock) can do to an order.
    Action {
        Confirm => "confirm", "确认订单", "confirm";
        Ship => "ship", "发货", "ship";
        Receive => "receive", "确认收货", "confirm receipt";
        AutoDeliver => "auto_deliver", "自动确认收货", "delivered automatically";
        Complete => "complete", "完成", "complete";
        AutoComplete => "auto_complete", "自动完成", "completed automatically";
        BuyerCancel => "buyer_cancel", "买方取消", "cancelled by the buyer";
        SellerCancel => "seller_cancel", "卖方取消", "cancelled by the seller";
        Dispute => "dispute", "申请纠纷处理", "open a dispute";
        ResolveComplete => "resolve_complete", "纠纷裁定:完成", "dispute resolved: complete";
        ResolveRefund => "resolve_refund", "纠纷裁定:退款", "dispute resolved: refund";
    }
}

vocabulary! {
    /// Who is acting on an order.
    Party {
        Buyer => "buyer", "买方", "buyer";
        Seller => "seller", "卖方", "seller";
        Admin => "admin", "平台管理员", "administrator";
        System => "system", "系统", "system";
    }
}

/// One step in an order's timeline: the placing, an action, or a change of payment. Stored
/// as `place`, the action's code, or `payment_` and the payment status's code.
#[derive(Debug, Clone, Copy, PartialEq, Eq, sea_orm::DeriveValueType)]
#[sea_orm(value_type = "String")]
pub enum Step {
    Place,
    Act(Action),
    Payment(PaymentStatus),
}

const PAYMENT_PREFIX: &str = "payment_";

impl std::fmt::Display for Step {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Step::Place => f.write_str("place"),
            Step::Act(action) => f.write_str(action.code()),
            Step::Payment(to) => write!(f, "{PAYMENT_PREFIX}{}", to.code()),
        }
    }
}

impl std::str::FromStr for Step {
    type Err = crate::vocab::UnknownCode;

    fn from_str(code: &str) -> Result<Step, Self::Err> {
        let step = match code.strip_prefix(PAYMENT_PREFIX) {
            _ if code == "place" => Some(Step::Place),
            Some(to) => PaymentStatus::from_code(to).map(Step::Payment),
            None => Action::from_code(code).map(Step::Act),
        };
        step.ok_or_else(|| crate::vocab::UnknownCode {
            vocabulary: "Step",
            code: code.to_string(),
        })
    }
}

impl serde::Serialize for Step {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

impl<'de> serde::Deserialize<'de> for Step {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Step, D::Error> {
        let code = <std::borrow::Cow<'de, str>>::deserialize(d)?;
        code.parse().map_err(serde::de::Error::custom)
    }
}

impl From<Action> for Step {
    fn from(action: Action) -> Step {
        Step::Act(action)
    }
}

impl From<PaymentStatus> for Step {
    fn from(to: PaymentStatus) -> Step {
        Step::Payment(to)
    }
}

impl OrderStatus {
    /// Orders only move forward: a later stage never returns to an earlier one.
    pub fn rank(self) -> u8 {
        match self {
            OrderStatus::Placed => 0,
            OrderStatus::Confirmed => 1,
            OrderStatus::Shipped => 2,
            OrderStatus::Delivered => 3,
            OrderStatus::Disputed => 4,
            OrderStatus::Completed | OrderStatus::Cancelled => 5,
        }
    }

    /// True when nothing more can happen.
    pub fn is_final(self) -> bool {
        matches!(self, OrderStatus::Completed | OrderStatus::Cancelled)
    }
}

/// What a transition does besides changing the status.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Effect {
    pub to: OrderStatus,
    /// Put the reserved stock back on the listings (only before the goods leave).
    pub return_stock: bool,
    /// Mark a paid order refunded.
    pub refund: bool,
}

/// Why a transition was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TransitionError {
    /// This party may never take this action.
    NotAllowed,
    /// The action does not apply in the order's current status.
    WrongStatus,
}

impl Action {
    /// True for the steps that must say why: a dispute and its settling.
    pub fn needs_reason(self) -> bool {
        matches!(
            self,
            Action::Dispute | Action::ResolveComplete | Action::ResolveRefund
        )
    }
}

/// Whether `party` may ever take `action`, whatever the order's status.
pub fn may_take(action: Action, party: Party) -> bool {
    use Action as A;
    match action {
        A::Confirm | A::Ship | A::SellerCancel => party == Party::Seller,
        A::Receive | A::Complete | A::BuyerCancel | A::Dispute => party == Party::Buyer,
        A::AutoDeliver | A::AutoComplete => party == Party::System,
        A::ResolveComplete | A::ResolveRefund => party == Party::Admin,
    }
}

/// The whole state machine: who may do what, from which status, with which effect.
pub fn transition(
    from: OrderStatus,
    action: Action,
    party: Party,
) -> Result<Effect, TransitionError> {
    use Action as A;
    use OrderStatus as S;
    if !may_take(action, party) {
        return Err(TransitionError::NotAllowed);
    }
    let plain = |to| Effect {
        to,
        return_stock: false,
        refund: false,
    };
    match (action, from) {
        (A::Confirm, S::Placed) => Ok(plain(S::Confirmed)),
        (A::Ship, S::Confirmed) => Ok(plain(S::Shipped)),
        (A::Receive | A::AutoDeliver, S::Shipped) => Ok(plain(S::Delivered)),
        (A::Complete | A::AutoComplete, S::Delivered) => Ok(plain(S::Completed)),
        (A::BuyerCancel, S::Placed) | (A::SellerCancel, S::Placed | S::Confirmed) => Ok(Effect {
            to: S::Cancelled,
            return_stock: true,
            refund: true,
        }),
        (A::Dispute, S::Shipped | S::Delivered) => Ok(plain(S::Disputed)),
        (A::ResolveComplete, S::Disputed) => Ok(plain(S::Completed)),
        // The goods have left: a refund settles the money, the stock stays sold.
        (A::ResolveRefund, S::Disputed) => Ok(Effect {
            to: S::Cancelled,
            return_stock: false,
            refund: true,
        }),
        _ => Err(TransitionError::WrongStatus),
    }
}

/// The actions `party` could take now.
pub fn available(from: OrderStatus, party: Party) -> Vec<Action> {
    Action::ALL
        .iter()
        .copied()
        .filter(|a| transition(from, *a, party).is_ok())
        .collect()
}

/// Price × quantity in fen, rounded half up to the fen; `None` if absurdly large.
pub fn line_amount(unit_price: Fen, quantity: Quantity) -> Option<Fen> {
    let exact = i128::from(unit_price) * i128::from(quantity.milli());
    let rounded = (exact + i128::from(MILLI / 2)) / i128::from(MILLI);
    i64::try_from(rounded).ok()
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn every_step_reads_back_from_its_stored_code() {
        let steps = std::iter::once(Step::Place)
            .chain(Action::ALL.iter().map(|&a| Step::from(a)))
            .chain(PaymentStatus::ALL.iter().map(|&p| Step::from(p)));
        let mut codes = std::collections::HashSet::new();
        for step in steps {
            let code = step.to_string();
            assert!(codes.insert(code.clone()), "two steps share {code}");
            assert_eq!(code.parse::<Step>(), Ok(step));
            let json = serde_json::to_string(&step).unwrap();
            assert_eq!(serde_json::from_str::<Step>(&json).unwrap(), step);
        }
        assert_eq!(
            Step::from(PaymentStatus::PaidOffline).to_string(),
            "payment_paid_offline"
        );
        for unknown in ["", "payment_", "payment_confirm", "teleport", "Place"] {
            assert!(
                unknown.parse::<Step>().is_err(),
                "{unknown:?} read as a step"
            );
        }
    }

    #[test]
    fn amounts_round_half_up_to_the_fen() {
        assert_eq!(line_amount(480, Quantity::from_units(100)), Some(48_000));
        assert_eq!(line_amount(333, Quantity::from_milli(500)), Some(167)); // 166.5 → 167
        assert_eq!(
            line_amount(18_000_000, Quantity::from_milli(50)),
            Some(900_000)
        );
        assert_eq!(line_amount(1, Quantity::from_milli(1)), Some(0));
        assert_eq!(line_amount(i64::MAX, Quantity::from_units(1_000_000)), None);
    }

    #[test]
    fn the_happy_path_and_who_may_walk_it() {
        let s = OrderStatus::Placed;
        let s = transition(s, Action::Confirm, Party::Seller).unwrap().to;
        assert_eq!(
            transition(s, Action::Ship, Party::Buyer),
            Err(TransitionError::NotAllowed)
        );
        let s = transition(s, Action::Ship, Party::Seller).unwrap().to;
        let s = transition(s, Action::Receive, Party::Buyer).unwrap().to;
        let s = transition(s, Action::Complete, Party::Buyer).unwrap().to;
        assert_eq!(s, OrderStatus::Completed);
        assert!(available(s, Party::Buyer).is_empty());
    }

    #[test]
    fn cancelling_returns_stock_only_before_shipping() {
        assert!(
            transition(OrderStatus::Placed, Action::BuyerCancel, Party::Buyer)
                .unwrap()
                .return_stock
        );
        assert_eq!(
            transition(OrderStatus::Confirmed, Action::BuyerCancel, Party::Buyer),
            Err(TransitionError::WrongStatus)
        );
        assert!(
            transition(OrderStatus::Confirmed, Action::SellerCancel, Party::Seller)
                .unwrap()
                .return_stock
        );
        assert_eq!(
            transition(OrderStatus::Shipped, Action::SellerCancel, Party::Seller),
            Err(TransitionError::WrongStatus)
        );
        let refund =
            transition(OrderStatus::Disputed, Action::ResolveRefund, Party::Admin).unwrap();
        assert!(!refund.return_stock && refund.refund);
    }

    fn any_action() -> impl Strategy<Value = Action> {
        proptest::sample::select(Action::ALL.to_vec())
    }

    fn any_party() -> impl Strategy<Value = Party> {
        proptest::sample::select(vec![
            Party::Buyer,
            Party::Seller,
            Party::Admin,
            Party::System,
        ])
    }

    proptest! {
        /// No sequence of calls moves an order backwards, past a final state, or returns stock twice.
        #[test]
        fn orders_only_move_forward_and_return_stock_at_most_once(
            calls in proptest::collection::vec((any_action(), any_party()), 0..40)
        ) {
            let mut status = OrderStatus::Placed;
            let mut returned = 0;
            for (action, party) in calls {
                if let Ok(effect) = transition(status, action, party) {
                    prop_assert!(!status.is_final(), "{status:?} is final but {action:?} applied");
                    prop_assert!(effect.to.rank() > status.rank(), "{status:?} -> {:?} goes backwards", effect.to);
                    if effect.return_stock {
                        returned += 1;
                        prop_assert!(status.rank() < OrderStatus::Shipped.rank(), "stock returned after shipping");
                    }
                    status = effect.to;
                }
            }
            prop_assert!(returned <= 1);
        }
    }
}
