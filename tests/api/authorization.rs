//! Every route, every role: the answer, and that nothing changed where it must not.

use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

use crate::helpers::{Backend, TestApp, purchase_request, spawn_app, spawn_copy};
use crate::on_both_databases;

/// The roles, in the order each route is tried.
const ROLES: [&str; 6] = [
    "anonymous",
    "buyer",
    "producer_b",
    "producer_a",
    "county_official",
    "admin",
];

fn account(role: &str) -> Option<&'static str> {
    match role {
        "buyer" => Some("buyer"),
        "producer_a" => Some("coop-panshi"),
        "producer_b" => Some("coop-zilong"),
        "county_official" => Some("official-kaijiang"),
        "admin" => Some("admin"),
        _ => None,
    }
}

type Body = fn(&Ids, &str) -> Value;

struct Route {
    method: Method,
    path: &'static str,
    body: Option<Body>,
    /// Send an `Idempotency-Key` (unique per role).
    keyed: bool,
    /// Expected status per role, in the order of ROLES.
    expect: [u16; 6],
}

fn r(method: Method, path: &'static str, body: Option<Body>, expect: [u16; 6]) -> Route {
    Route {
        method,
        path,
        body,
        keyed: false,
        expect,
    }
}

fn keyed(method: Method, path: &'static str, body: Option<Body>, expect: [u16; 6]) -> Route {
    Route {
        method,
        path,
        body,
        keyed: true,
        expect,
    }
}

/// A weekly order of 100 of `listing` from tomorrow, to the canteen.
fn standing_order(listing: i64) -> Value {
    let tomorrow = qudao::days::local_date(chrono::Utc::now()) + chrono::Days::new(1);
    json!({"listing_id": listing, "quantity": "100", "period": "weekly", "next_on": tomorrow.to_string(),
           "address": {"recipient_name": "王师傅", "phone": "028-86630890", "region_code": "510104", "line": "红星路二段 70 号"}})
}

/// A season contract for 1 000 of `listing` over the next two months, at 3 yuan fixed.
fn season_contract(listing: i64) -> Value {
    let today = qudao::days::local_date(chrono::Utc::now());
    json!({"listing_id": listing, "quantity": "1000", "window_start": today.to_string(),
           "window_end": (today + chrono::Days::new(60)).to_string(), "pricing": "fixed", "price_fen": 300,
           "deposit_fen": 10000,
           "address": {"recipient_name": "王师傅", "phone": "028-86630890", "region_code": "510104", "line": "红星路二段 70 号"}})
}

/// Ids the paths and bodies refer to, filled in from the running app.
struct Ids {
    listing_a: i64,
    org_a: i64,
    pending_org: i64,
    rice: i64,
    buyer_user: i64,
    order_a: i64,
    cart_item: i64,
    request_a: i64,
    proposal_a: i64,
    webhook_a: i64,
    saved_a: i64,
    certificate_a: i64,
    unit_a: i64,
    campaign_a: i64,
    method_a: i64,
    recurring_a: i64,
    contract_a: i64,
    year: i32,
}

fn fill(text: &str, ids: &Ids) -> String {
    text.replace("{listing_a}", &ids.listing_a.to_string())
        .replace("{org_a}", &ids.org_a.to_string())
        .replace("{pending_org}", &ids.pending_org.to_string())
        .replace("{buyer_user}", &ids.buyer_user.to_string())
        .replace("{order_a}", &ids.order_a.to_string())
        .replace("{cart_item}", &ids.cart_item.to_string())
        .replace("{request_a}", &ids.request_a.to_string())
        .replace("{proposal_a}", &ids.proposal_a.to_string())
        .replace("{webhook_a}", &ids.webhook_a.to_string())
        .replace("{saved_a}", &ids.saved_a.to_string())
        .replace("{certificate_a}", &ids.certificate_a.to_string())
        .replace("{unit_a}", &ids.unit_a.to_string())
        .replace("{campaign_a}", &ids.campaign_a.to_string())
        .replace("{method_a}", &ids.method_a.to_string())
        .replace("{recurring_a}", &ids.recurring_a.to_string())
        .replace("{contract_a}", &ids.contract_a.to_string())
        .replace("{year}", &ids.year.to_string())
        .replace("{rice}", &ids.rice.to_string())
}

fn routes() -> Vec<Route> {
    use Method as M;
    let listing: Body = |ids, _| json!({"category_id": ids.rice, "title": "新米", "unit": "jin", "price_fen": 500, "stock": "100"});
    let household: Body = |_, _| json!({"head_name": "张三", "region_code": "511723102210", "members": 2, "registered": true, "benefit_share_bp": 100});
    let unit: Body = |_, _| json!({"name": "锦江区教育工会", "kind": "union", "region_code": "510104", "contact_name": "刘主席", "contact_phone": "028-86630891"});
    let apply: Body = |_, _| json!({"name": "开江县新合作社", "kind": "cooperative", "region_code": "511723", "contact_name": "张", "contact_phone": "13800000000"});
    let new_user: Body = |_, role| json!({"username": format!("made-by-{role}"), "password": "一个足够长的密码", "display_name": "新用户", "role": "buyer"});
    let register: Body = |_, role| json!({"username": format!("self-{role}"), "password": "一个足够长的密码", "display_name": "新用户"});
    let login: Body = |_, _| json!({"username": "buyer", "password": crate::helpers::PASSWORD});
    let rename: Body = |_, _| json!({"display_name": "改名"});
    let price: Body = |_, _| json!({"price_fen": 470});
    let alias: Body = |_, _| json!({"alias": "新别名"});
    let cart_line: Body = |ids, _| json!({"listing_id": ids.listing_a, "quantity": "100"});
    let quantity: Body = |_, _| json!({"quantity": "150"});
    let saved_search: Body =
        |_, _| json!({"name": "开江大米", "query": {"q": "大米", "region": "511723"}});
    let daily: Body = |_, _| json!({"alert": "daily"});
    let checkout: Body = |ids, _| {
        json!({"address": {"recipient_name": "王师傅", "phone": "02886630890", "region_code": "510104", "line": "红星路二段 70 号"},
               "lines": [{"listing_id": ids.listing_a, "quantity": "10"}]})
    };
    let shipping: Body = |_, _| json!({"carrier": "中国邮政", "tracking_number": "EMS1"});
    let why: Body = |_, _| json!({"reason": "货不对板"});
    let outcome: Body = |_, _| json!({"outcome": "refund", "reason": "核实"});
    let paid: Body = |_, _| json!({"status": "paid_offline"});
    let targets: Body =
        |_, _| json!({"year": 2026, "sales_fen": 1000000, "households": 5, "new_organizations": 1});
    let close: Body = |_, _| json!({"quarter": "2025Q4"});
    let request: Body = |ids, _| purchase_request(ids.rice);
    let note: Body = |_, _| json!({"note": "周一上午送到"});
    let declared: Body =
        |_, _| json!({"indicators": {"new_jobs": {"value": 12, "note": "扶贫车间"}}});
    let comments: Body = |_, _| json!({"comments": {"general": "请核对"}});
    let reason: Body = |_, _| json!({"reason": "更正新增就业人数"});
    let no_proposal_emails: Body =
        |_, _| json!({"preferences": [{"kind": "proposal", "email": false}]});
    let webhook: Body = |_, role| json!({"url": format!("https://hooks.example.com/{role}")});
    let certificate: Body = |ids, _| json!({"kind": "featured", "number": "MTYX-1", "issuer": "农业农村部", "products": "大米", "listing_ids": [ids.listing_a]});
    let objection: Body = |_, _| json!({"uphold": false, "reason": "核实不实"});
    let lot: Body = |_, _| json!({"harvested_on": "2026-01-15", "quantity": "5", "households": 3});
    let method: Body = |_, _| json!({"kind": "pickup", "name": "自提点", "region_code": "511723", "address": "幸福路 8 号", "hours": "8:00–18:00"});
    let needs: Body = |_, _| json!({"cold_chain": false});
    let standing: Body = |ids, _| standing_order(ids.listing_a);
    let contract: Body = |ids, _| season_contract(ids.listing_a);
    let deposit: Body = |_, _| json!({"amount_fen": 100, "paid_on": qudao::days::local_date(chrono::Utc::now()).to_string()});
    let delivery: Body = |_, _| json!({"quantity": "100"});
    let invoice: Body = |_, _| {
        let today = qudao::days::local_date(chrono::Utc::now()).to_string();
        json!({"kind": "plain", "number": "25512000000000000001", "amount_fen": 1, "issued_on": today})
    };
    vec![
        // Invoices: the seller's staff (or an admin for them) record an order's invoice and
        // attach its file; the order's people read the file.
        r(
            M::PUT,
            "/api/v1/orders/{order_a}/invoice",
            Some(invoice),
            [401, 403, 404, 200, 404, 200],
        ),
        r(
            M::POST,
            "/api/v1/orders/{order_a}/invoice/file",
            None,
            [401, 403, 404, 409, 404, 409],
        ),
        r(
            M::GET,
            "/api/v1/orders/{order_a}/invoice/file",
            None,
            [401, 404, 404, 404, 404, 404],
        ),
        // A delivery's photo: the buyer adds it once the goods arrived (order A has not);
        // the order's people and the officials over its seller read it.
        r(
            M::POST,
            "/api/v1/orders/{order_a}/receipt-photo",
            None,
            [401, 409, 404, 403, 404, 403],
        ),
        r(
            M::GET,
            "/api/v1/orders/{order_a}/receipt-photo",
            None,
            [401, 404, 404, 404, 404, 404],
        ),
        // Recurring orders: buyers set them up and change their own (the setup's is active,
        // so it cannot be resumed); the seller's staff and admins read them.
        r(
            M::GET,
            "/api/v1/recurring-orders",
            None,
            [401, 200, 200, 200, 200, 200],
        ),
        r(
            M::POST,
            "/api/v1/recurring-orders",
            Some(standing),
            [401, 201, 403, 403, 403, 403],
        ),
        r(
            M::GET,
            "/api/v1/recurring-orders/{recurring_a}",
            None,
            [401, 200, 404, 200, 404, 200],
        ),
        r(
            M::PUT,
            "/api/v1/recurring-orders/{recurring_a}",
            Some(standing),
            [401, 200, 404, 403, 404, 403],
        ),
        r(
            M::POST,
            "/api/v1/recurring-orders/{recurring_a}/pause",
            None,
            [401, 200, 404, 403, 404, 403],
        ),
        r(
            M::POST,
            "/api/v1/recurring-orders/{recurring_a}/resume",
            None,
            [401, 409, 404, 403, 404, 403],
        ),
        r(
            M::DELETE,
            "/api/v1/recurring-orders/{recurring_a}",
            None,
            [401, 200, 404, 403, 404, 403],
        ),
        // Season contracts: buyers propose (and withdraw until signed), the cooperative signs
        // or declines and records the deposit, either side calls deliveries once signed
        // (contract A is only proposed); officials over the seller read them and their
        // coverage.
        r(
            M::GET,
            "/api/v1/contracts",
            None,
            [401, 200, 200, 200, 200, 200],
        ),
        r(
            M::POST,
            "/api/v1/contracts",
            Some(contract),
            [401, 201, 403, 403, 403, 403],
        ),
        r(
            M::GET,
            "/api/v1/contracts/{contract_a}",
            None,
            [401, 200, 404, 200, 200, 200],
        ),
        r(
            M::POST,
            "/api/v1/contracts/{contract_a}/sign",
            None,
            [401, 403, 404, 200, 403, 403],
        ),
        r(
            M::POST,
            "/api/v1/contracts/{contract_a}/decline",
            None,
            [401, 403, 404, 200, 403, 403],
        ),
        r(
            M::POST,
            "/api/v1/contracts/{contract_a}/cancel",
            None,
            [401, 200, 404, 403, 403, 403],
        ),
        r(
            M::POST,
            "/api/v1/contracts/{contract_a}/deposit",
            Some(deposit),
            [401, 403, 404, 409, 403, 403],
        ),
        r(
            M::POST,
            "/api/v1/contracts/{contract_a}/deliveries",
            Some(delivery),
            [401, 409, 404, 409, 403, 403],
        ),
        r(
            M::GET,
            "/api/v1/stats/regions/511723/contracts",
            None,
            [401, 403, 403, 403, 200, 200],
        ),
        // Delivery: sellers keep their own methods and listings' needs; anyone reads a
        // seller's methods; buyers price their cart; sellers read their packing list.
        r(
            M::GET,
            "/api/v1/organizations/{org_a}/delivery-methods",
            None,
            [200; 6],
        ),
        r(
            M::GET,
            "/api/v1/delivery-methods",
            None,
            [401, 403, 200, 200, 403, 403],
        ),
        r(
            M::POST,
            "/api/v1/delivery-methods",
            Some(method),
            [401, 403, 201, 201, 403, 403],
        ),
        r(
            M::PUT,
            "/api/v1/delivery-methods/{method_a}",
            Some(method),
            [401, 403, 404, 200, 403, 403],
        ),
        r(
            M::DELETE,
            "/api/v1/delivery-methods/{method_a}",
            None,
            [401, 403, 404, 204, 403, 403],
        ),
        r(
            M::PUT,
            "/api/v1/listings/{listing_a}/shipping",
            Some(needs),
            [401, 403, 404, 200, 403, 403],
        ),
        r(
            M::GET,
            "/api/v1/cart/freight?region_code=510104",
            None,
            [401, 200, 403, 403, 403, 403],
        ),
        r(
            M::GET,
            "/api/v1/packing-list",
            None,
            [401, 403, 200, 200, 403, 403],
        ),
        // Lots: the organization records them; anyone reads a listing's lots and a lot's trace;
        // an order's lots are its parties'; the trust figures are officials'.
        r(M::GET, "/api/v1/listings/{listing_a}/lots", None, [200; 6]),
        r(
            M::POST,
            "/api/v1/listings/{listing_a}/lots",
            Some(lot),
            [401, 403, 403, 201, 403, 201],
        ),
        r(M::GET, "/api/v1/lots/nosuchcode", None, [404; 6]),
        r(
            M::GET,
            "/api/v1/orders/{order_a}/lots",
            None,
            [401, 200, 404, 200, 404, 200],
        ),
        r(
            M::GET,
            "/api/v1/stats/regions/511723/trust",
            None,
            [401, 403, 403, 403, 200, 200],
        ),
        // Certificates: the organization (or an admin for it) records them, the county
        // verifies; verified ones are public, their evidence is not; a verified certificate
        // (the demo's, in effect) no longer changes and is past its notice.
        r(
            M::GET,
            "/api/v1/organizations/{org_a}/certificates",
            None,
            [200; 6],
        ),
        r(
            M::POST,
            "/api/v1/organizations/{org_a}/certificates",
            Some(certificate),
            [401, 403, 403, 201, 403, 201],
        ),
        r(
            M::GET,
            "/api/v1/certificates/{certificate_a}",
            None,
            [200; 6],
        ),
        r(
            M::PATCH,
            "/api/v1/certificates/{certificate_a}",
            Some(certificate),
            [401, 403, 403, 409, 403, 409],
        ),
        r(
            M::POST,
            "/api/v1/certificates/{certificate_a}/files",
            None,
            [401, 403, 403, 409, 403, 409],
        ),
        r(
            M::GET,
            "/api/v1/certificates/{certificate_a}/files/999999",
            None,
            [401, 404, 404, 404, 404, 404],
        ),
        r(
            M::DELETE,
            "/api/v1/certificates/{certificate_a}/files/999999",
            None,
            [401, 403, 403, 409, 403, 409],
        ),
        r(
            M::POST,
            "/api/v1/certificates/{certificate_a}/submit",
            None,
            [401, 403, 403, 409, 403, 409],
        ),
        r(
            M::POST,
            "/api/v1/certificates/{certificate_a}/approve",
            None,
            [401, 403, 403, 403, 409, 403],
        ),
        r(
            M::POST,
            "/api/v1/certificates/{certificate_a}/reject",
            Some(reason),
            [401, 403, 403, 403, 409, 403],
        ),
        r(
            M::POST,
            "/api/v1/certificates/{certificate_a}/objections",
            Some(reason),
            [401, 409, 409, 403, 409, 403],
        ),
        r(
            M::POST,
            "/api/v1/certificates/{certificate_a}/objections/999999/decide",
            Some(objection),
            [401, 403, 403, 403, 404, 403],
        ),
        r(M::GET, "/api/v1/certificates/notices", None, [200; 6]),
        // Buyer units: the demo buyer runs the demo canteen.
        r(
            M::GET,
            "/api/v1/units",
            None,
            [401, 200, 200, 200, 200, 200],
        ),
        r(
            M::POST,
            "/api/v1/units",
            Some(unit),
            [401, 201, 403, 403, 403, 403],
        ),
        r(
            M::GET,
            "/api/v1/units/queue",
            None,
            [401, 403, 403, 403, 200, 200],
        ),
        r(
            M::GET,
            "/api/v1/units/{unit_a}",
            None,
            [401, 200, 200, 200, 200, 200],
        ),
        r(
            M::POST,
            "/api/v1/units/{unit_a}/decision",
            Some(|_, _| json!({"approve": true})),
            [401, 403, 403, 403, 403, 409],
        ),
        r(
            M::POST,
            "/api/v1/units/{unit_a}/members",
            Some(|_, _| json!({"username": "no-such-buyer", "role": "member"})),
            [401, 422, 403, 403, 403, 422],
        ),
        r(
            M::DELETE,
            "/api/v1/units/{unit_a}/members/999999",
            None,
            [401, 404, 403, 403, 403, 404],
        ),
        r(
            M::PUT,
            "/api/v1/units/{unit_a}/obligations/{year}",
            Some(|_, _| json!({"kind": "fixed", "amount_fen": 1_000_000})),
            [401, 200, 403, 403, 403, 200],
        ),
        r(
            M::GET,
            "/api/v1/units/{unit_a}/progress",
            None,
            [401, 200, 403, 403, 403, 200],
        ),
        r(
            M::GET,
            "/api/v1/stats/regions/511723/units",
            None,
            [401, 403, 403, 403, 200, 200],
        ),
        r(
            M::GET,
            "/api/v1/stats/regions/511723/units/report",
            None,
            [401, 403, 403, 403, 200, 200],
        ),
        r(
            M::POST,
            "/api/v1/help-relations",
            Some(
                |_, _| json!({"kind": "east_west", "helper_region_code": "330100", "helped_county_code": "511723", "starts_on": "2026-01-01"}),
            ),
            [401, 403, 403, 403, 201, 201],
        ),
        r(
            M::GET,
            "/api/v1/stats/regions/511723/help",
            None,
            [401, 403, 403, 403, 200, 200],
        ),
        r(
            M::GET,
            "/api/v1/stats/regions/511723/buyers",
            None,
            [401, 403, 403, 403, 200, 200],
        ),
        // Campaigns: officials organize, producers sign up, unit admins pledge; all can read.
        r(M::GET, "/api/v1/campaigns", None, [200; 6]),
        r(
            M::POST,
            "/api/v1/campaigns",
            Some(
                |_, _| json!({"name": "开江年货节", "kind": "new_year", "starts_on": "2026-12-20", "ends_on": "2027-01-20", "counties": ["511723"]}),
            ),
            [401, 403, 403, 403, 201, 201],
        ),
        r(M::GET, "/api/v1/campaigns/{campaign_a}", None, [200; 6]),
        r(
            M::POST,
            "/api/v1/campaigns/{campaign_a}/listings",
            Some(|ids, _| json!({"listing_id": ids.listing_a})),
            [401, 403, 422, 200, 403, 409],
        ),
        r(
            M::POST,
            "/api/v1/campaigns/{campaign_a}/pledges",
            Some(|ids, _| json!({"unit_id": ids.unit_a, "amount_fen": 100_000})),
            [401, 200, 403, 403, 403, 200],
        ),
        r(
            M::GET,
            "/api/v1/certificates/queue",
            None,
            [401, 403, 403, 403, 200, 403],
        ),
        // Public reading.
        r(M::GET, "/healthz", None, [200; 6]),
        r(M::GET, "/readyz", None, [200; 6]),
        r(M::GET, "/metrics", None, [200; 6]),
        r(M::GET, "/", None, [200; 6]),
        r(M::GET, "/listings/{listing_a}", None, [200; 6]),
        r(M::GET, "/api/v1/openapi.json", None, [200; 6]),
        // Matching: buyers post requests; producers see those they could serve, without the
        // buyer's contact; both sides answer proposals; admins run the batch.
        r(
            M::GET,
            "/api/v1/purchase-requests",
            None,
            [401, 200, 200, 200, 403, 200],
        ),
        r(
            M::POST,
            "/api/v1/purchase-requests",
            Some(request),
            [401, 201, 403, 403, 403, 403],
        ),
        r(
            M::GET,
            "/api/v1/purchase-requests/{request_a}",
            None,
            [401, 200, 404, 200, 403, 200],
        ),
        r(
            M::PATCH,
            "/api/v1/purchase-requests/{request_a}",
            Some(note),
            [401, 200, 404, 403, 403, 403],
        ),
        r(
            M::POST,
            "/api/v1/purchase-requests/{request_a}/cancel",
            None,
            [401, 200, 404, 403, 403, 403],
        ),
        r(
            M::GET,
            "/api/v1/proposals",
            None,
            [401, 200, 200, 200, 403, 200],
        ),
        r(
            M::GET,
            "/api/v1/proposals/{proposal_a}",
            None,
            [401, 200, 404, 200, 404, 200],
        ),
        r(
            M::POST,
            "/api/v1/proposals/{proposal_a}/accept",
            None,
            [401, 200, 404, 200, 404, 403],
        ),
        r(
            M::POST,
            "/api/v1/proposals/{proposal_a}/decline",
            None,
            [401, 200, 404, 409, 404, 409],
        ),
        r(
            M::POST,
            "/api/v1/matching/runs",
            None,
            [401, 403, 403, 403, 403, 200],
        ),
        r(M::GET, "/api/v1/regions", None, [200; 6]),
        r(M::GET, "/api/v1/regions/511723", None, [200; 6]),
        r(M::GET, "/api/v1/categories", None, [200; 6]),
        r(M::GET, "/api/v1/listings", None, [200; 6]),
        r(M::GET, "/api/v1/listings/{listing_a}", None, [200; 6]),
        r(
            M::GET,
            "/api/v1/listings/{listing_a}/photos",
            None,
            [200; 6],
        ),
        r(M::GET, "/api/v1/photos/999999/large", None, [404; 6]),
        r(M::GET, "/api/v1/search", None, [200; 6]),
        r(
            M::GET,
            "/api/v1/search/queries",
            None,
            [401, 403, 403, 403, 403, 200],
        ),
        r(M::GET, "/api/v1/organizations", None, [200; 6]),
        r(M::GET, "/api/v1/organizations/{org_a}", None, [200; 6]),
        // A pending application is visible to its county's officials and admins only.
        r(
            M::GET,
            "/api/v1/organizations/{pending_org}",
            None,
            [404, 404, 404, 404, 200, 200],
        ),
        // Accounts.
        r(M::POST, "/api/v1/auth/register", Some(register), [201; 6]),
        r(M::POST, "/api/v1/auth/login", Some(login), [200; 6]),
        r(
            M::GET,
            "/api/v1/auth/me",
            None,
            [401, 200, 200, 200, 200, 200],
        ),
        r(
            M::POST,
            "/api/v1/auth/logout",
            None,
            [401, 204, 204, 204, 204, 204],
        ),
        r(
            M::GET,
            "/api/v1/users",
            None,
            [401, 403, 403, 403, 403, 200],
        ),
        r(
            M::POST,
            "/api/v1/users",
            Some(new_user),
            [401, 403, 403, 403, 403, 201],
        ),
        r(
            M::PATCH,
            "/api/v1/users/{buyer_user}",
            Some(rename),
            [401, 403, 403, 403, 403, 200],
        ),
        // Listings: only the owning organization's staff change them; another producer gets 404.
        r(
            M::POST,
            "/api/v1/listings",
            Some(listing),
            [401, 403, 201, 201, 403, 403],
        ),
        r(
            M::PATCH,
            "/api/v1/listings/{listing_a}",
            Some(price),
            [401, 403, 404, 200, 403, 403],
        ),
        // Who may add a photo is settled before the body is looked at (JSON is no image).
        r(
            M::POST,
            "/api/v1/listings/{listing_a}/photos",
            Some(price),
            [401, 403, 404, 422, 403, 403],
        ),
        r(
            M::DELETE,
            "/api/v1/listings/{listing_a}/photos/999999",
            None,
            [401, 403, 404, 404, 403, 403],
        ),
        r(
            M::POST,
            "/api/v1/listings/{listing_a}/pause",
            None,
            [401, 403, 404, 200, 403, 403],
        ),
        r(
            M::POST,
            "/api/v1/listings/{listing_a}/resume",
            None,
            [401, 403, 404, 200, 403, 403],
        ),
        r(
            M::DELETE,
            "/api/v1/listings/{listing_a}",
            None,
            [401, 403, 404, 204, 403, 403],
        ),
        // Organizations and onboarding.
        r(
            M::POST,
            "/api/v1/organizations",
            Some(apply),
            [401, 403, 409, 409, 403, 403],
        ),
        r(
            M::POST,
            "/api/v1/organizations/{pending_org}/recommend",
            None,
            [401, 404, 404, 404, 200, 403],
        ),
        r(
            M::POST,
            "/api/v1/organizations/{pending_org}/approve",
            None,
            [401, 404, 404, 404, 403, 409],
        ),
        r(
            M::POST,
            "/api/v1/organizations/{pending_org}/reject",
            None,
            [401, 404, 404, 404, 200, 409],
        ),
        r(
            M::GET,
            "/api/v1/organizations/{org_a}/households",
            None,
            [401, 403, 403, 200, 200, 200],
        ),
        r(
            M::POST,
            "/api/v1/organizations/{org_a}/households",
            Some(household),
            [401, 403, 403, 201, 403, 403],
        ),
        // Cart and checkout: buyers only.
        r(M::GET, "/api/v1/cart", None, [401, 200, 403, 403, 403, 403]),
        r(
            M::POST,
            "/api/v1/cart/items",
            Some(cart_line),
            [401, 200, 403, 403, 403, 403],
        ),
        r(
            M::PATCH,
            "/api/v1/cart/items/{cart_item}",
            Some(quantity),
            [401, 200, 403, 403, 403, 403],
        ),
        r(
            M::DELETE,
            "/api/v1/cart/items/{cart_item}",
            None,
            [401, 200, 403, 403, 403, 403],
        ),
        keyed(
            M::POST,
            "/api/v1/checkout",
            Some(checkout),
            [401, 201, 403, 403, 403, 403],
        ),
        // Orders: the buyer, the selling organization and admins; another producer is told it does not exist.
        r(
            M::GET,
            "/api/v1/orders",
            None,
            [401, 200, 200, 200, 403, 200],
        ),
        r(
            M::GET,
            "/api/v1/orders/{order_a}",
            None,
            [401, 200, 404, 200, 404, 200],
        ),
        r(
            M::POST,
            "/api/v1/orders/{order_a}/confirm",
            None,
            [401, 403, 404, 200, 404, 403],
        ),
        r(
            M::POST,
            "/api/v1/orders/{order_a}/ship",
            Some(shipping),
            [401, 403, 404, 409, 404, 403],
        ),
        r(
            M::POST,
            "/api/v1/orders/{order_a}/receive",
            None,
            [401, 409, 404, 403, 404, 403],
        ),
        r(
            M::POST,
            "/api/v1/orders/{order_a}/complete",
            None,
            [401, 409, 404, 403, 404, 403],
        ),
        keyed(
            M::POST,
            "/api/v1/orders/{order_a}/cancel",
            None,
            [401, 200, 404, 409, 404, 403],
        ),
        r(
            M::POST,
            "/api/v1/orders/{order_a}/dispute",
            Some(why),
            [401, 409, 404, 403, 404, 403],
        ),
        r(
            M::POST,
            "/api/v1/orders/{order_a}/resolve",
            Some(outcome),
            [401, 403, 404, 403, 404, 409],
        ),
        r(
            M::POST,
            "/api/v1/orders/{order_a}/payment",
            Some(paid),
            [401, 403, 404, 200, 404, 403],
        ),
        // Statistics: officials inside their region and admins read; officials set their targets;
        // admins (and province officials) close quarters.
        r(
            M::GET,
            "/api/v1/stats/regions/511723",
            None,
            [401, 403, 403, 403, 200, 200],
        ),
        r(
            M::GET,
            "/api/v1/stats/regions/511723/trend",
            None,
            [401, 403, 403, 403, 200, 200],
        ),
        r(
            M::GET,
            "/api/v1/stats/regions/511723/households",
            None,
            [401, 403, 403, 403, 200, 200],
        ),
        r(
            M::GET,
            "/api/v1/stats/regions/511723/targets",
            None,
            [401, 403, 403, 403, 200, 200],
        ),
        r(
            M::PUT,
            "/api/v1/stats/regions/511723/targets",
            Some(targets),
            [401, 403, 403, 403, 200, 403],
        ),
        r(
            M::GET,
            "/api/v1/stats/regions/511723/report",
            None,
            [401, 403, 403, 403, 200, 200],
        ),
        r(
            M::GET,
            "/api/v1/stats/regions/511723/ledger",
            None,
            [401, 403, 403, 403, 200, 200],
        ),
        r(
            M::GET,
            "/api/v1/stats/regions/511723/warnings",
            None,
            [401, 403, 403, 403, 200, 200],
        ),
        r(
            M::POST,
            "/api/v1/stats/warnings/999999/acknowledge",
            Some(note),
            [401, 403, 403, 403, 404, 404],
        ),
        // The 成效统计表 chain: the county's reporting staff fill in theirs (submitting wants
        // all seven indicators), the prefecture's review, the province's sign off; admins read.
        r(
            M::GET,
            "/api/v1/stats/filings/511723/2026Q3",
            None,
            [401, 403, 403, 403, 200, 200],
        ),
        r(
            M::PUT,
            "/api/v1/stats/filings/511723/2026Q3",
            Some(declared),
            [401, 403, 403, 403, 200, 403],
        ),
        r(
            M::POST,
            "/api/v1/stats/filings/511723/2026Q3/submit",
            None,
            [401, 403, 403, 403, 422, 403],
        ),
        r(
            M::POST,
            "/api/v1/stats/filings/511723/2026Q3/return",
            Some(comments),
            [401, 403, 403, 403, 403, 403],
        ),
        r(
            M::POST,
            "/api/v1/stats/filings/511723/2026Q3/accept",
            None,
            [401, 403, 403, 403, 403, 403],
        ),
        r(
            M::POST,
            "/api/v1/stats/filings/511723/2026Q3/revise",
            Some(reason),
            [401, 403, 403, 403, 409, 403],
        ),
        r(
            M::POST,
            "/api/v1/stats/filings/511723/2026Q3/evidence?indicator=new_jobs",
            None,
            [401, 403, 403, 403, 422, 403],
        ),
        r(
            M::GET,
            "/api/v1/stats/filings/511723/2026Q3/evidence/999999",
            None,
            [401, 403, 403, 403, 404, 404],
        ),
        r(
            M::DELETE,
            "/api/v1/stats/filings/511723/2026Q3/evidence/999999",
            None,
            [401, 403, 403, 403, 404, 403],
        ),
        r(
            M::GET,
            "/api/v1/stats/regions/511723/filings/2026Q3",
            None,
            [401, 403, 403, 403, 200, 200],
        ),
        r(
            M::POST,
            "/api/v1/stats/regions/510000/filings/2026Q3/sign-off",
            None,
            [401, 403, 403, 403, 403, 403],
        ),
        r(
            M::GET,
            "/api/v1/stats/quarters",
            None,
            [401, 403, 403, 403, 200, 200],
        ),
        r(
            M::POST,
            "/api/v1/stats/quarters",
            Some(close),
            [401, 403, 403, 403, 403, 201],
        ),
        r(
            M::GET,
            "/officials/regions/511723",
            None,
            [401, 403, 403, 403, 200, 200],
        ),
        r(
            M::GET,
            "/officials/regions/511723/buyers",
            None,
            [303, 403, 403, 403, 200, 200],
        ),
        // Notifications: everyone signed in reads and clears their own; nobody can reach a
        // notice that is not theirs; admins see and retry deliveries that gave up.
        r(
            M::GET,
            "/api/v1/notifications",
            None,
            [401, 200, 200, 200, 200, 200],
        ),
        r(
            M::GET,
            "/api/v1/notifications/stream",
            None,
            [401, 200, 200, 200, 200, 200],
        ),
        r(
            M::POST,
            "/api/v1/notifications/999999/read",
            None,
            [401, 404, 404, 404, 404, 404],
        ),
        r(
            M::POST,
            "/api/v1/notifications/read-all",
            None,
            [401, 204, 204, 204, 204, 204],
        ),
        r(
            M::GET,
            "/api/v1/admin/dead-events",
            None,
            [401, 403, 403, 403, 403, 200],
        ),
        r(
            M::GET,
            "/api/v1/admin/audit-log",
            None,
            [401, 403, 403, 403, 403, 200],
        ),
        // 行情 is public; its outliers are for admins.
        r(M::GET, "/api/v1/prices?region=511723", None, [200; 6]),
        r(
            M::GET,
            "/api/v1/prices/hint?category={rice}&unit=jin",
            None,
            [200; 6],
        ),
        r(
            M::GET,
            "/api/v1/admin/price-outliers",
            None,
            [401, 403, 403, 403, 403, 200],
        ),
        r(
            M::POST,
            "/api/v1/admin/dead-events/999999/retry",
            None,
            [401, 403, 403, 403, 403, 404],
        ),
        r(
            M::GET,
            "/api/v1/notification-preferences",
            None,
            [401, 200, 200, 200, 200, 200],
        ),
        r(
            M::PUT,
            "/api/v1/notification-preferences",
            Some(no_proposal_emails),
            [401, 200, 200, 200, 200, 200],
        ),
        // Webhooks: producer staff register and remove their own organization's endpoints;
        // admins read them all.
        r(
            M::POST,
            "/api/v1/webhooks",
            Some(webhook),
            [401, 403, 201, 201, 403, 403],
        ),
        r(
            M::GET,
            "/api/v1/webhooks",
            None,
            [401, 403, 200, 200, 403, 200],
        ),
        r(
            M::DELETE,
            "/api/v1/webhooks/{webhook_a}",
            None,
            // The roles take turns on one copy: producer A removes it, so it is gone for the admin.
            [401, 403, 404, 204, 403, 404],
        ),
        // Saved searches: buyers keep their own; nobody else sees or changes them.
        r(
            M::POST,
            "/api/v1/saved-searches",
            Some(saved_search),
            [401, 201, 403, 403, 403, 403],
        ),
        r(
            M::GET,
            "/api/v1/saved-searches",
            None,
            [401, 200, 403, 403, 403, 403],
        ),
        r(
            M::PATCH,
            "/api/v1/saved-searches/{saved_a}",
            Some(daily),
            [401, 200, 403, 403, 403, 403],
        ),
        r(
            M::DELETE,
            "/api/v1/saved-searches/{saved_a}",
            None,
            [401, 204, 403, 403, 403, 403],
        ),
        // The taxonomy.
        r(
            M::POST,
            "/api/v1/categories/1/aliases",
            Some(alias),
            [401, 403, 403, 403, 403, 201],
        ),
        r(
            M::PUT,
            "/api/v1/regions/522327/standing",
            Some(|_, _| json!({"poverty_exit": 2020, "assistance_key": "national"})),
            [401, 403, 403, 403, 403, 200],
        ),
    ]
}

async fn ids(app: &TestApp) -> Ids {
    let a = app.login("coop-panshi").await;
    let org_a = app.organization_of(&a).await;
    let admin = app.login("admin").await;
    let pending = app
        .get("/api/v1/organizations?status=applied", Some(&admin))
        .await;
    let buyer = app.login("buyer").await;
    let listing_a = app.listings_of(org_a).await[0];
    let cart = app
        .post(
            "/api/v1/cart/items",
            Some(&buyer),
            json!({"listing_id": listing_a, "quantity": "100"}),
        )
        .await;
    let placed = app
        .checkout(
            &buyer,
            "matrix-setup",
            json!([{"listing_id": listing_a, "quantity": "100"}]),
        )
        .await;
    // Rice all year, so the request below finds it whatever the date.
    let season = app
        .patch(
            &format!("/api/v1/listings/{listing_a}"),
            Some(&a),
            json!({"season_start": null, "season_end": null}),
        )
        .await;
    assert_eq!(season.status, StatusCode::OK, "{}", season.text);
    let posted = app
        .post(
            "/api/v1/purchase-requests",
            Some(&buyer),
            purchase_request(app.category_id("rice").await),
        )
        .await;
    assert_eq!(posted.status, StatusCode::CREATED, "{}", posted.text);
    let hook = app
        .post(
            "/api/v1/webhooks",
            Some(&a),
            json!({"url": "https://hooks.panshi.example/qudao", "topics": ["order."]}),
        )
        .await;
    assert_eq!(hook.status, StatusCode::CREATED, "{}", hook.text);
    let saved = app
        .post(
            "/api/v1/saved-searches",
            Some(&buyer),
            json!({"name": "洋芋", "query": {"q": "洋芋"}}),
        )
        .await;
    assert_eq!(saved.status, StatusCode::CREATED, "{}", saved.text);
    let certificates = app
        .get(&format!("/api/v1/organizations/{org_a}/certificates"), None)
        .await;
    let units = app.get("/api/v1/units", Some(&buyer)).await;
    let method = app
        .post(
            "/api/v1/delivery-methods",
            Some(&a),
            json!({"kind": "own", "name": "合作社货车", "fee_fen": 2000, "area": ["510000"]}),
        )
        .await;
    assert_eq!(method.status, StatusCode::CREATED, "{}", method.text);
    let standing = app
        .post(
            "/api/v1/recurring-orders",
            Some(&buyer),
            standing_order(listing_a),
        )
        .await;
    assert_eq!(standing.status, StatusCode::CREATED, "{}", standing.text);
    let contract = app
        .post(
            "/api/v1/contracts",
            Some(&buyer),
            season_contract(listing_a),
        )
        .await;
    assert_eq!(contract.status, StatusCode::CREATED, "{}", contract.text);
    Ids {
        method_a: method.body["id"].as_i64().unwrap(),
        recurring_a: standing.body["id"].as_i64().unwrap(),
        contract_a: contract.body["id"].as_i64().unwrap(),
        unit_a: units.body[0]["id"].as_i64().expect("the demo's canteen"),
        campaign_a: app.get("/api/v1/campaigns", None).await.body[0]["id"]
            .as_i64()
            .expect("the demo's campaign"),
        year: qudao::days::local_date(chrono::Utc::now())
            .format("%Y")
            .to_string()
            .parse()
            .unwrap(),
        certificate_a: certificates.body[0]["id"]
            .as_i64()
            .expect("the demo's certificates"),
        saved_a: saved.body["id"].as_i64().unwrap(),
        webhook_a: hook.body["id"].as_i64().unwrap(),
        request_a: posted.body["request"]["id"].as_i64().unwrap(),
        proposal_a: posted.body["proposals"][0]["id"]
            .as_i64()
            .expect("setup proposal"),
        order_a: placed.body["orders"][0]["id"]
            .as_i64()
            .expect("setup order"),
        cart_item: cart.body["lines"][0]["id"]
            .as_i64()
            .expect("setup cart line"),
        listing_a: app.listings_of(org_a).await[0],
        org_a,
        pending_org: pending.body["items"][0]["id"].as_i64().unwrap(),
        rice: app.category_id("rice").await,
        buyer_user: app.get("/api/v1/auth/me", Some(&buyer)).await.body["id"]
            .as_i64()
            .unwrap(),
    }
}

on_both_databases!(
    every_route_answers_every_role_as_it_should,
    a_refused_caller_is_refused_whatever_the_body,
);

async fn every_route_answers_every_role_as_it_should(backend: Backend) {
    let mut failures = Vec::new();
    let count = routes().len();
    // Everyone logs in once; the fixtures and tokens are copied into a fresh database per route,
    // so one role's change cannot hide another's.
    let Some(setup) = spawn_app(backend).await else {
        return;
    };
    let ids = ids(&setup).await;
    let mut tokens = std::collections::HashMap::new();
    for role in ROLES {
        if let Some(user) = account(role) {
            tokens.insert(role, setup.login(user).await);
        }
    }
    let template = setup.into_template(backend).await;
    for route in routes() {
        let app = spawn_copy(&template).await;
        let path = fill(route.path, &ids);
        for (role, expected) in ROLES.iter().zip(route.expect) {
            let token = tokens.get(role).cloned();
            let body = route.body.map(|b| b(&ids, &role.replace('_', "-")));
            let before = app.snapshot().await;
            let key = format!("matrix-{role}");
            let headers: Vec<(&str, &str)> = if route.keyed {
                vec![("idempotency-key", key.as_str())]
            } else {
                vec![]
            };
            let reply = app
                .call_with(
                    route.method.clone(),
                    &path,
                    token.as_deref(),
                    body,
                    &headers,
                )
                .await;
            let after = app.snapshot().await;
            let ok = reply.status.is_success();
            if reply.status != StatusCode::from_u16(expected).unwrap() {
                failures.push(format!(
                    "{} {path} as {role}: expected {expected}, got {} {}",
                    route.method,
                    reply.status,
                    reply.text.chars().take(200).collect::<String>()
                ));
            }
            if !ok && before != after {
                failures.push(format!(
                    "{} {path} as {role}: refused with {} but data changed",
                    route.method, reply.status
                ));
            }
            if !ok
                && !reply.status.is_redirection()
                && reply.code().is_empty()
                && path.starts_with("/api/")
            {
                failures.push(format!(
                    "{} {path} as {role}: error without a code: {}",
                    route.method, reply.text
                ));
            }
            // Logging in and out, and clearing notices nobody has, may leave the data as it was.
            let writes = route.method != Method::GET
                && !path.contains("/auth/")
                && !path.ends_with("/read-all");
            if ok && writes && before == after {
                failures.push(format!(
                    "{} {path} as {role}: succeeded but changed nothing",
                    route.method
                ));
            }
        }
    }
    assert!(
        failures.is_empty(),
        "{} of {count} routes misbehaved:\n{}",
        failures.len(),
        failures.join("\n")
    );
}

/// Authorization comes before validation: whoever may not call a route gets 403 whether the
/// body is empty, of the wrong shape or not JSON at all, never a list of fields to fix.
async fn a_refused_caller_is_refused_whatever_the_body(backend: Backend) {
    let Some(app) = spawn_app(backend).await else {
        return;
    };
    let ids = ids(&app).await;
    let mut tokens = std::collections::HashMap::new();
    for role in ROLES {
        if let Some(user) = account(role) {
            tokens.insert(role, app.login(user).await);
        }
    }
    let before = app.snapshot().await;
    let bodies: [(&str, &[u8]); 4] = [
        ("an empty object", b"{}"),
        ("unknown fields", br#"{"zzz": [1, 2, 3]}"#),
        (
            "fields of the wrong type",
            br#"{"title": 5, "quantity": true, "lines": "x"}"#,
        ),
        ("no JSON at all", b"not json"),
    ];
    let mut failures = Vec::new();
    let mut tried = 0;
    for route in routes()
        .iter()
        .filter(|r| r.method != Method::GET && r.path.starts_with("/api/"))
    {
        let path = fill(route.path, &ids);
        for (role, expected) in ROLES.iter().zip(route.expect) {
            let Some(token) = tokens.get(role) else {
                continue;
            };
            if expected != 403 {
                continue;
            }
            for (what, body) in bodies {
                tried += 1;
                let reply = app
                    .call_raw(
                        route.method.clone(),
                        &path,
                        Some(token),
                        "application/json",
                        body.to_vec(),
                    )
                    .await;
                if reply.status != StatusCode::FORBIDDEN {
                    failures.push(format!(
                        "{} {path} as {role} with {what}: {} {}",
                        route.method,
                        reply.status,
                        reply.text.chars().take(160).collect::<String>()
                    ));
                }
            }
        }
    }
    assert!(tried > 40, "only {tried} refusals tried");
    assert_eq!(before, app.snapshot().await, "a refused call changed data");
    assert!(
        failures.is_empty(),
        "{} refusals depended on the body:\n{}",
        failures.len(),
        failures.join("\n")
    );
}

#[tokio::test]
async fn the_matrix_covers_every_api_route() {
    let Some(app) = spawn_app(Backend::Sqlite).await else {
        return;
    };
    let doc = app.get("/api/v1/openapi.json", None).await.body;
    let covered: Vec<(String, &'static str)> = routes()
        .iter()
        .map(|r| (r.method.as_str().to_lowercase(), r.path))
        .collect();
    let normalise = |p: &str| {
        let p = p.split('?').next().unwrap_or(p);
        p.replace("{listing_a}", "{id}")
            .replace("{org_a}", "{id}")
            .replace("{pending_org}", "{id}")
            .replace("{buyer_user}", "{id}")
            .replace("{order_a}", "{id}")
            .replace("{cart_item}", "{id}")
            .replace("{request_a}", "{id}")
            .replace("{proposal_a}", "{id}")
            .replace("{webhook_a}", "{id}")
            .replace("{saved_a}", "{id}")
            .replace("{certificate_a}", "{id}")
            .replace("{unit_a}", "{id}")
            .replace("{campaign_a}", "{id}")
            .replace("{method_a}", "{id}")
            .replace("{recurring_a}", "{id}")
            .replace("{contract_a}", "{id}")
            .replace("/members/999999", "/members/{user_id}")
            .replace("/files/999999", "/files/{file_id}")
            .replace("/lots/nosuchcode", "/lots/{code}")
            .replace("/objections/999999/", "/objections/{objection_id}/")
            .replace("/categories/1/", "/categories/{id}/")
            .replace("/999999/", "/{id}/")
            .replace("/photos/999999", "/photos/{photo_id}")
            .replace("/{id}/large", "/{id}/{variant}")
            .replace("/evidence/999999", "/evidence/{id}")
            .replace("/filings/511723/2026Q3", "/filings/{county}/{quarter}")
            .replace("/filings/2026Q3", "/filings/{quarter}")
            .replace("/regions/511723", "/regions/{code}")
            .replace("/regions/510000", "/regions/{code}")
            .replace("/regions/522327", "/regions/{code}")
    };
    let mut missing = Vec::new();
    for (path, ops) in doc["paths"].as_object().unwrap() {
        for method in ops.as_object().unwrap().keys() {
            if !covered
                .iter()
                .any(|(m, p)| m == method && normalise(p) == *path)
            {
                missing.push(format!("{method} {path}"));
            }
        }
    }
    assert!(
        missing.is_empty(),
        "routes missing from the authorization matrix: {missing:?}"
    );
}
