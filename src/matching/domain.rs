//! Statuses of purchase requests and proposals.

vocabulary! {
    /// Where a purchase request is.
    RequestStatus {
        Open => "open", "征集中", "open";
        Closed => "closed", "已关闭", "closed";
        Expired => "expired", "已过期", "expired";
    }
}

vocabulary! {
    /// Where a proposal is.
    ProposalStatus {
        Pending => "pending", "待确认", "waiting for both sides";
        Ordered => "ordered", "已成单", "became an order";
        Contracted => "contracted", "已签合同", "became a season contract";
        Declined => "declined", "已拒绝", "declined";
        Expired => "expired", "已过期", "expired";
        Withdrawn => "withdrawn", "已撤回", "withdrawn";
    }
}

vocabulary! {
    /// Why a purchase request closed.
    ClosedReason {
        Fulfilled => "fulfilled", "已满足", "fulfilled";
        Cancelled => "cancelled", "采购方取消", "cancelled by the buyer";
    }
}

vocabulary! {
    /// What a proposal becomes once both sides accept it.
    ProposalKind {
        Order => "order", "现货订单", "an order from stock";
        Contract => "contract", "订单农业合同", "a season contract";
    }
}
