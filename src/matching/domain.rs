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
