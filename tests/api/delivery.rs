//! Delivery and freight: sellers keep methods with rate tables, checkout charges each seller's
//! order the freight of the method chosen (or its cheapest that fits), reproducible from the
//! order's snapshot, and officials' figures count the goods alone.

use std::collections::BTreeMap;

use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use reqwest::StatusCode;
use serde_json::{Value, json};

use qudao::stats::domain::Basis;
use qudao::stats::entity::fact;
use sea_orm::{ColumnTrait, EntityTrait, QueryFilter};

use crate::forms::page;
use crate::helpers::{Backend, TestApp, hidden, spawn_app};
use crate::on_both_databases;
use crate::pages::signed_in;
use crate::stats::{milli_to_text, parse_milli, public_listings};

on_both_databases!(
    freight_follows_the_rate_table_for_random_carts_and_totals_are_goods_plus_freight,
    delivery_refuses_what_cannot_be_carried_and_who_may_not_change_it,
    the_pages_keep_methods_and_the_cart_charges_the_one_chosen,
    a_seller_packs_the_day_s_orders_from_its_oldest_lots,
);

/// A method as the test knows it, to compute what it should charge.
#[derive(Debug, Clone)]
struct Known {
    id: i64,
    kind: &'static str,
    cold_chain: bool,
    fee: i64,
    surcharge: i64,
    area: Vec<String>,
    /// (province code or "", first g, first fee, step g, step fee)
    rates: Vec<(String, i64, i64, i64, i64)>,
}

impl Known {
    /// What the method charges for `weight` grams (None: a piece without weight), cold or
    /// not, to `region`; None where it cannot carry it.
    fn charge(&self, weight: Option<i64>, cold: bool, region: &str) -> Option<i64> {
        if cold && !self.cold_chain {
            return None;
        }
        match self.kind {
            "pickup" => Some(self.fee),
            "own" => self
                .area
                .iter()
                .any(|a| region.starts_with(a.trim_end_matches('0')))
                .then_some(self.fee),
            _ => {
                let w = weight?;
                let row = self
                    .rates
                    .iter()
                    .find(|r| !r.0.is_empty() && r.0[..2] == region[..2])
                    .or_else(|| self.rates.iter().find(|r| r.0.is_empty()))?;
                let beyond = (w - row.1).max(0);
                let steps = (beyond + row.3 - 1) / row.3;
                Some(row.2 + steps * row.4 + if cold { self.surcharge } else { 0 })
            }
        }
    }
}

async fn add_method(app: &TestApp, token: &str, body: Value) -> i64 {
    let r = app
        .post("/api/v1/delivery-methods", Some(token), body)
        .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.text);
    r.body["id"].as_i64().unwrap()
}

/// A random express method with a row for Sichuan and a default row.
async fn random_express(app: &TestApp, token: &str, rng: &mut StdRng, cold_chain: bool) -> Known {
    let mut rates = vec![
        ("510000".to_string(), 0, 0, 0, 0),
        (String::new(), 0, 0, 0, 0),
    ];
    for r in &mut rates {
        *r = (
            r.0.clone(),
            rng.gen_range(1..=3) * 500,
            rng.gen_range(300..=1500),
            rng.gen_range(1..=4) * 250,
            rng.gen_range(50..=600),
        );
    }
    let surcharge = rng.gen_range(0..=2000);
    let body = json!({
        "kind": "express", "name": "顺丰", "cold_chain": cold_chain, "cold_surcharge_fen": surcharge,
        "rates": rates.iter().map(|r| json!({"province_code": r.0, "first_weight_g": r.1, "first_fee_fen": r.2, "step_weight_g": r.3, "step_fee_fen": r.4})).collect::<Vec<_>>(),
    });
    Known {
        id: add_method(app, token, body).await,
        kind: "express",
        cold_chain,
        fee: 0,
        surcharge,
        area: Vec::new(),
        rates,
    }
}

fn grams(unit: &str, milli: i64, piece: Option<i64>) -> Option<i64> {
    let g = match unit {
        "jin" => 500,
        "kg" => 1000,
        "ton" => 1_000_000,
        _ => piece?,
    };
    Some((milli * g + 999) / 1000)
}

async fn freight_follows_the_rate_table_for_random_carts_and_totals_are_goods_plus_freight(
    backend: Backend,
) {
    let Some(app) = spawn_app(backend).await else {
        return;
    };
    let mut rng = StdRng::seed_from_u64(33);
    let mut methods: BTreeMap<i64, Vec<Known>> = BTreeMap::new();
    // 盘石村: express with the cold chain and a pickup point; 孜龙村: express without it and
    // its own delivery within 成都市.
    let panshi = app.login("coop-panshi").await;
    let zilong = app.login("coop-zilong").await;
    let (p_org, z_org) = (
        app.organization_of(&panshi).await,
        app.organization_of(&zilong).await,
    );
    let express = random_express(&app, &panshi, &mut rng, true).await;
    let pickup_fee = rng.gen_range(0..=500);
    let pickup = Known {
        id: add_method(&app, &panshi, json!({"kind": "pickup", "name": "新宁镇自提点", "fee_fen": pickup_fee, "region_code": "511723", "address": "新宁镇幸福路 8 号", "hours": "每天 8:00–18:00"})).await,
        kind: "pickup", cold_chain: false, fee: pickup_fee, surcharge: 0, area: Vec::new(), rates: Vec::new(),
    };
    methods.insert(p_org, vec![express, pickup]);
    let express = random_express(&app, &zilong, &mut rng, false).await;
    let own_fee = rng.gen_range(0..=3000);
    let own = Known {
        id: add_method(&app, &zilong, json!({"kind": "own", "name": "合作社货车", "cold_chain": true, "fee_fen": own_fee, "area": ["510100"]})).await,
        kind: "own", cold_chain: true, fee: own_fee, surcharge: 0, area: vec!["510100".into()], rates: Vec::new(),
    };
    methods.insert(z_org, vec![express, own]);

    // Some of their listings need the cold chain; pieces get a weight.
    let listings = public_listings(&app).await;
    let mut needs: BTreeMap<i64, (bool, Option<i64>)> = BTreeMap::new();
    for l in &listings {
        let org = l["organization"]["id"].as_i64().unwrap();
        let token = match org {
            o if o == p_org => &panshi,
            o if o == z_org => &zilong,
            _ => continue,
        };
        let cold = rng.gen_bool(0.3);
        let piece = (l["unit"] == "piece").then(|| rng.gen_range(100..=3000));
        let id = l["id"].as_i64().unwrap();
        let r = app
            .call(
                reqwest::Method::PUT,
                &format!("/api/v1/listings/{id}/shipping"),
                Some(token),
                Some(json!({"cold_chain": cold, "piece_weight_g": piece})),
            )
            .await;
        assert_eq!(r.status, StatusCode::OK, "{}", r.text);
        needs.insert(id, (cold, piece));
    }

    let buyer = app.login("buyer").await;
    let regions = ["510104", "511723", "330110", "513326"];
    let mut placed = Vec::new();
    for round in 0..14 {
        let region = regions[rng.gen_range(0..regions.len())];
        let lines: Vec<Value> = (0..rng.gen_range(1..=4))
            .map(|_| {
                let l = &listings[rng.gen_range(0..listings.len())];
                let min = parse_milli(l["min_order"].as_str().unwrap()).max(1000);
                json!({"listing_id": l["id"], "quantity": milli_to_text(min * rng.gen_range(1..=2))})
            })
            .collect();
        // Per seller: its weight, coldness and goods.
        let mut parcels: BTreeMap<i64, (Option<i64>, bool, i64)> = BTreeMap::new();
        for line in &lines {
            let l = listings
                .iter()
                .find(|l| l["id"] == line["listing_id"])
                .unwrap();
            let org = l["organization"]["id"].as_i64().unwrap();
            let (cold, piece) = needs
                .get(&l["id"].as_i64().unwrap())
                .copied()
                .unwrap_or((false, None));
            let milli = parse_milli(line["quantity"].as_str().unwrap());
            let p = parcels.entry(org).or_insert((Some(0), false, 0));
            p.0 =
                p.0.zip(grams(l["unit"].as_str().unwrap(), milli, piece))
                    .map(|(a, b)| a + b);
            p.1 |= cold;
            p.2 += l["price_fen"].as_i64().unwrap() * milli / 1000;
        }
        // The buyer chooses a method for some sellers, at random, perhaps one that cannot go.
        let mut choices = Vec::new();
        let mut expected: BTreeMap<i64, Option<(i64, i64)>> = BTreeMap::new();
        let mut refused = None;
        for (org, (w, cold, _)) in &parcels {
            let Some(known) = methods.get(org) else {
                expected.insert(*org, None);
                continue;
            };
            let fits: Vec<(i64, i64)> = known
                .iter()
                .filter_map(|m| m.charge(*w, *cold, region).map(|f| (f, m.id)))
                .collect();
            if rng.gen_bool(0.5) {
                let m = &known[rng.gen_range(0..known.len())];
                choices.push(json!({"organization_id": org, "method_id": m.id}));
                match m.charge(*w, *cold, region) {
                    Some(f) => expected.insert(*org, Some((m.id, f))),
                    None => {
                        refused = Some(format!("delivery[{}].method_id", choices.len() - 1));
                        None
                    }
                };
            } else {
                match fits.iter().min() {
                    Some(&(f, id)) => expected.insert(*org, Some((id, f))),
                    None => {
                        refused.get_or_insert("delivery".to_string());
                        None
                    }
                };
            }
        }
        let r = app
            .call_with(
                reqwest::Method::POST,
                "/api/v1/checkout",
                Some(&buyer),
                Some(json!({
                    "address": {"recipient_name": "王师傅", "phone": "13800001234", "region_code": region, "line": "幸福路 8 号"},
                    "lines": lines, "delivery": choices,
                })),
                &[("idempotency-key", &format!("freight-{round}"))],
            )
            .await;
        if let Some(field) = refused {
            assert_eq!(
                r.status,
                StatusCode::UNPROCESSABLE_ENTITY,
                "round {round}: {}",
                r.text
            );
            assert!(
                r.fields().contains(&field),
                "round {round}: {field} in {}",
                r.text
            );
            continue;
        }
        assert_eq!(r.status, StatusCode::CREATED, "round {round}: {}", r.text);
        let mut sum = 0;
        for o in r.body["orders"].as_array().unwrap() {
            let org = o["seller"]["id"].as_i64().unwrap();
            let goods: i64 = o["lines"]
                .as_array()
                .unwrap()
                .iter()
                .map(|l| l["amount_fen"].as_i64().unwrap())
                .sum();
            assert_eq!(o["goods_fen"], goods, "{o}");
            let want = expected[&org];
            assert_eq!(
                o["freight_fen"].as_i64().unwrap(),
                want.map_or(0, |w| w.1),
                "round {round}, seller {org}: {o}"
            );
            assert_eq!(
                o["delivery"]["method_id"].as_i64(),
                want.map(|w| w.0),
                "{o}"
            );
            assert_eq!(
                o["total_fen"].as_i64().unwrap(),
                goods + want.map_or(0, |w| w.1)
            );
            assert_eq!(
                o["delivery"]["quote"]["weight_g"].as_i64(),
                want.and(parcels[&org].0),
                "{o}"
            );
            sum += o["total_fen"].as_i64().unwrap();
            placed.push((
                o["id"].as_i64().unwrap(),
                o["total_fen"].clone(),
                o["delivery"].clone(),
                goods,
            ));
        }
        assert_eq!(r.body["total_fen"], sum);
    }
    assert!(
        placed.iter().any(|p| !p.2.is_null()),
        "some orders were charged freight"
    );

    // A changed rate table leaves the orders placed as they were charged.
    let p_express = methods[&p_org][0].id;
    let r = app
        .call(reqwest::Method::PUT, &format!("/api/v1/delivery-methods/{p_express}"), Some(&panshi), Some(json!({"kind": "express", "name": "顺丰", "rates": [{"province_code": "", "first_weight_g": 1000, "first_fee_fen": 99_900, "step_weight_g": 1000, "step_fee_fen": 99_900}]})))
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    for (id, total, delivery, goods) in &placed {
        let o = app
            .get(&format!("/api/v1/orders/{id}"), Some(&buyer))
            .await
            .body;
        assert_eq!(&o["total_fen"], total);
        assert_eq!(&o["delivery"], delivery);
        // The snapshot reproduces the charge.
        if let Some(q) = delivery.get("quote") {
            let fee = q["fee_fen"].as_i64().unwrap();
            if let Some(rate) = q.get("rate").filter(|r| !r.is_null()) {
                let steps = q["steps"].as_i64().unwrap();
                assert_eq!(
                    fee,
                    rate["first_fee_fen"].as_i64().unwrap()
                        + steps * rate["step_fee_fen"].as_i64().unwrap()
                        + q["cold_surcharge_fen"].as_i64().unwrap()
                );
            }
            assert_eq!(o["total_fen"].as_i64().unwrap(), goods + fee);
        }
    }

    // Officials count the goods alone: complete every order, and the facts add up to goods.
    for (id, ..) in &placed {
        app.advance(*id, "complete").await;
    }
    app.project().await;
    let goods: i64 = placed.iter().map(|p| p.3).sum();
    let ids: Vec<i64> = placed.iter().map(|p| p.0).collect();
    let facts: i64 = fact::Entity::find()
        .filter(fact::Column::OrderId.is_in(ids))
        .filter(fact::Column::Kind.eq(Basis::Completed))
        .all(&app.db)
        .await
        .unwrap()
        .iter()
        .map(|f| f.amount_fen)
        .sum();
    assert_eq!(facts, goods, "sales are the goods, without the freight");
}

async fn delivery_refuses_what_cannot_be_carried_and_who_may_not_change_it(backend: Backend) {
    let Some(app) = spawn_app(backend).await else {
        return;
    };
    let panshi = app.login("coop-panshi").await;
    let zilong = app.login("coop-zilong").await;
    let buyer = app.login("buyer").await;
    let official = app.login("official-kaijiang").await;
    let good = json!({"kind": "express", "name": "邮政", "rates": [{"province_code": "510000", "first_weight_g": 1000, "first_fee_fen": 800, "step_weight_g": 1000, "step_fee_fen": 200}]});
    for (token, status) in [
        (None, StatusCode::UNAUTHORIZED),
        (Some(&buyer), StatusCode::FORBIDDEN),
        (Some(&official), StatusCode::FORBIDDEN),
    ] {
        let r = app
            .post(
                "/api/v1/delivery-methods",
                token.map(|t| t.as_str()),
                json!({}),
            )
            .await;
        assert_eq!(r.status, status, "{}", r.text);
    }
    for (body, field, code) in [
        (
            json!({"kind": "boat", "name": "船"}),
            "kind",
            "unknown_value",
        ),
        (
            json!({"kind": "express", "name": "邮政"}),
            "rates",
            "required",
        ),
        (
            json!({"kind": "express", "name": "", "rates": good["rates"]}),
            "name",
            "required",
        ),
        (
            json!({"kind": "express", "name": "邮政", "rates": [good["rates"][0], good["rates"][0]]}),
            "rates[1].province_code",
            "duplicate",
        ),
        (
            json!({"kind": "express", "name": "邮政", "rates": [{"province_code": "510100", "first_weight_g": 1000, "first_fee_fen": 800, "step_weight_g": 1000, "step_fee_fen": 200}]}),
            "rates[0].province_code",
            "unknown",
        ),
        (
            json!({"kind": "express", "name": "邮政", "rates": [{"province_code": "", "first_weight_g": 0, "first_fee_fen": -1, "step_weight_g": 1000, "step_fee_fen": 200}]}),
            "rates[0].first_weight_g",
            "out_of_range",
        ),
        (json!({"kind": "own", "name": "货车"}), "area", "required"),
        (
            json!({"kind": "own", "name": "货车", "area": ["519999"]}),
            "area[0]",
            "unknown",
        ),
        (
            json!({"kind": "own", "name": "货车", "radius_km": 0}),
            "radius_km",
            "out_of_range",
        ),
        (
            json!({"kind": "pickup", "name": "自提点", "region_code": "511723"}),
            "address",
            "required",
        ),
        (
            json!({"kind": "pickup", "name": "自提点", "region_code": "510000", "address": "幸福路 8 号", "hours": "8-18"}),
            "region_code",
            "unknown",
        ),
        (
            json!({"kind": "warehouse", "name": "仓", "region_code": "511723", "address": "幸福路 8 号", "min_weight_g": -5}),
            "min_weight_g",
            "out_of_range",
        ),
    ] {
        let r = app
            .post("/api/v1/delivery-methods", Some(&panshi), body.clone())
            .await;
        assert_eq!(
            r.status,
            StatusCode::UNPROCESSABLE_ENTITY,
            "{body}: {}",
            r.text
        );
        assert_eq!(
            r.body["error"]["fields"][field]["code"], code,
            "{body}: {}",
            r.text
        );
    }
    assert!(
        app.get("/api/v1/delivery-methods", Some(&panshi))
            .await
            .body
            .as_array()
            .unwrap()
            .is_empty(),
        "nothing refused was kept"
    );

    // A method without the cold chain; another seller cannot touch it.
    let id = add_method(&app, &panshi, good.clone()).await;
    for method in [reqwest::Method::PUT, reqwest::Method::DELETE] {
        let r = app
            .call(
                method,
                &format!("/api/v1/delivery-methods/{id}"),
                Some(&zilong),
                Some(good.clone()),
            )
            .await;
        assert_eq!(r.status, StatusCode::NOT_FOUND, "{}", r.text);
    }
    assert!(
        app.audited("delivery_method.create", id).await,
        "delivery_method.create of {id} in the audit log"
    );
    let public = app
        .get(
            &format!(
                "/api/v1/organizations/{}/delivery-methods",
                app.organization_of(&panshi).await
            ),
            None,
        )
        .await;
    assert_eq!(
        public.body[0]["rates"][0]["first_fee_fen"], 800,
        "{}",
        public.text
    );

    // 盘石村's rice needs the cold chain now: no method of its can carry it.
    let (_, rice) = app.panshi_rice_all_year().await;
    let r = app
        .call(
            reqwest::Method::PUT,
            &format!("/api/v1/listings/{rice}/shipping"),
            Some(&zilong),
            Some(json!({"cold_chain": true})),
        )
        .await;
    assert_eq!(
        r.status,
        StatusCode::NOT_FOUND,
        "another seller's listing: {}",
        r.text
    );
    let r = app
        .call(
            reqwest::Method::PUT,
            &format!("/api/v1/listings/{rice}/shipping"),
            Some(&panshi),
            Some(json!({"cold_chain": true, "piece_weight_g": 0})),
        )
        .await;
    assert_eq!(
        r.body["error"]["fields"]["piece_weight_g"]["code"], "out_of_range",
        "{}",
        r.text
    );
    let r = app
        .call(
            reqwest::Method::PUT,
            &format!("/api/v1/listings/{rice}/shipping"),
            Some(&panshi),
            Some(json!({"cold_chain": true})),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    let lines = json!([{"listing_id": rice, "quantity": "100"}]);
    let r = app.checkout(&buyer, "cold-1", lines.clone()).await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", r.text);
    assert_eq!(
        r.body["error"]["fields"]["delivery"]["code"], "no_delivery_method",
        "{}",
        r.text
    );
    let address = json!({"recipient_name": "王师傅", "phone": "13800001234", "region_code": "510104", "line": "红星路 70 号"});
    for (delivery, field, code) in [
        (
            json!([{"organization_id": app.organization_of(&panshi).await, "method_id": id}]),
            "delivery[0].method_id",
            "cold_chain_required",
        ),
        (
            json!([{"organization_id": app.organization_of(&zilong).await, "method_id": id}]),
            "delivery[0].organization_id",
            "not_in_order",
        ),
        (
            json!([{"organization_id": app.organization_of(&panshi).await, "method_id": id + 1000}]),
            "delivery[0].method_id",
            "unknown",
        ),
    ] {
        let r = app
            .call_with(
                reqwest::Method::POST,
                "/api/v1/checkout",
                Some(&buyer),
                Some(json!({"address": address, "lines": lines, "delivery": delivery})),
                &[("idempotency-key", &format!("cold-{code}"))],
            )
            .await;
        assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", r.text);
        assert_eq!(r.body["error"]["fields"][field]["code"], code, "{}", r.text);
    }
    // Nothing was sold.
    assert_eq!(app.listing_row(rice).await.sold_milli, 0);

    // The cart's freight: each method with its fee or why not.
    let r = app
        .post(
            "/api/v1/cart/items",
            Some(&buyer),
            json!({"listing_id": rice, "quantity": "100"}),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    let r = app
        .get("/api/v1/cart/freight?region_code=510104", Some(&buyer))
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    assert_eq!(
        r.body[0]["options"][0]["unfit"], "cold_chain_required",
        "{}",
        r.text
    );
    let r = app
        .get("/api/v1/cart/freight?region_code=990000", Some(&buyer))
        .await;
    assert_eq!(
        r.body["error"]["fields"]["region_code"]["code"], "unknown",
        "{}",
        r.text
    );
    let r = app
        .get("/api/v1/cart/freight?region_code=510104", Some(&panshi))
        .await;
    assert_eq!(r.status, StatusCode::FORBIDDEN, "{}", r.text);

    // Deleting the method: the seller arranges delivery again, without freight.
    let r = app
        .call(
            reqwest::Method::DELETE,
            &format!("/api/v1/delivery-methods/{id}"),
            Some(&panshi),
            None,
        )
        .await;
    assert_eq!(r.status, StatusCode::NO_CONTENT, "{}", r.text);
    let r = app.checkout(&buyer, "cold-2", lines).await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.text);
    assert_eq!(r.body["orders"][0]["freight_fen"], 0);
    assert!(r.body["orders"][0]["delivery"].is_null());
}

async fn the_pages_keep_methods_and_the_cart_charges_the_one_chosen(backend: Backend) {
    let Some(app) = spawn_app(backend).await else {
        return;
    };
    let url = &app.address;
    let (_, rice) = app.panshi_rice_all_year().await;
    let producer = signed_in(url, "coop-panshi").await;
    let r = producer
        .get(format!("{url}/producer/delivery"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    let html = r.text().await.unwrap();
    let token = hidden(&html, "csrf_token");
    // A rate table line that is not one comes back beside the table, as typed.
    let form = |rates: &str| {
        vec![
            ("csrf_token", token.clone()),
            ("kind", "express".to_string()),
            ("name", "顺丰冷运".to_string()),
            ("cold_chain", "on".to_string()),
            ("cold_surcharge_yuan", "5".to_string()),
            ("rates", rates.to_string()),
        ]
    };
    let r = producer
        .post(format!("{url}/producer/delivery"))
        .form(&form("四川 一公斤 8 1000 2"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let html = r.text().await.unwrap();
    assert!(html.contains("id=\"rates-error\""), "{html}");
    assert!(html.contains("四川 一公斤 8 1000 2"), "{html}");
    let r = producer
        .post(format!("{url}/producer/delivery"))
        .form(&form("四川 1000 8 1000 2\n其他 1000 12 500 3"))
        .send()
        .await
        .unwrap();
    assert_eq!(
        r.status(),
        StatusCode::SEE_OTHER,
        "{}",
        r.text().await.unwrap()
    );
    let html = page(&producer, &format!("{url}/producer/delivery")).await.1;
    assert!(
        html.contains("顺丰冷运") && html.contains("¥8.00"),
        "{html}"
    );
    // The pickup point beside it.
    let r = producer
        .post(format!("{url}/producer/delivery"))
        .form(&[
            ("csrf_token", token.as_str()),
            ("kind", "pickup"),
            ("name", "新宁镇自提点"),
            ("fee_yuan", "0"),
            ("region_code", "511723"),
            ("address", "新宁镇幸福路 8 号"),
            ("hours", "每天 8:00–18:00"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    let methods = app
        .get(
            "/api/v1/delivery-methods",
            Some(&app.login("coop-panshi").await),
        )
        .await
        .body;
    let express = methods[0]["id"].as_i64().unwrap();
    let pickup = methods[1]["id"].as_i64().unwrap();
    assert_eq!(methods[0]["rates"][0]["province_code"], "510000");
    assert_eq!(methods[0]["rates"][1]["step_weight_g"], 500);

    // The buyer puts 100 斤 of rice (50 kg) in the cart, asks for the freight to 成都, and
    // chooses express: 8 + 49 × 2 yuan within Sichuan.
    let buyer = signed_in(url, "buyer").await;
    let r = app
        .post(
            "/api/v1/cart/items",
            Some(&app.login("buyer").await),
            json!({"listing_id": rice, "quantity": "100"}),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    let html = page(&buyer, &format!("{url}/cart")).await.1;
    assert!(html.contains("id=\"freight-hint\""), "{html}");
    let token = hidden(&html, "csrf_token");
    let key = hidden(&html, "key");
    let org = app.organization_of(&app.login("coop-panshi").await).await;
    let mut fields = vec![
        ("csrf_token", token.clone()),
        ("key", key),
        ("recipient_name", "王师傅".to_string()),
        ("phone", "13800001234".to_string()),
        ("region_code", "510104".to_string()),
        ("line", "红星路二段 70 号".to_string()),
        ("quote", "1".to_string()),
    ];
    let html = buyer
        .post(format!("{url}/checkout"))
        .form(&fields)
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(html.contains(&format!("name=\"delivery_{org}\"")), "{html}");
    assert!(html.contains("¥106.00"), "express 8 + 49 × 2 yuan: {html}");
    // The pickup point is the cheapest, and chosen unless the buyer says otherwise.
    assert!(
        html.contains(&format!(
            "id=\"method-{pickup}\" value=\"{pickup}\" checked"
        )),
        "{html}"
    );
    // With it, the buyer pays the goods alone: 100 斤 at the listing's price.
    let goods = app.listing_row(rice).await.price_fen * 100;
    let to_pay = format!(
        "<span class=\"price\">¥{}.{:02}</span>",
        goods / 100,
        goods % 100
    );
    assert!(
        html.contains("id=\"to-pay\"") && html.contains(&to_pay),
        "{to_pay}: {html}"
    );
    fields.retain(|(k, _)| *k != "quote");
    let field = format!("delivery_{org}");
    fields.push((field.as_str(), express.to_string()));
    let r = buyer
        .post(format!("{url}/checkout"))
        .form(&fields)
        .send()
        .await
        .unwrap();
    assert_eq!(
        r.status(),
        StatusCode::SEE_OTHER,
        "{}",
        r.text().await.unwrap()
    );
    let orders = app
        .get("/api/v1/orders", Some(&app.login("buyer").await))
        .await
        .body;
    let o = &orders["items"][0];
    assert_eq!(o["freight_fen"], 10_600, "{o}");
    assert_eq!(
        o["total_fen"].as_i64().unwrap(),
        o["goods_fen"].as_i64().unwrap() + 10_600
    );
    let html = page(&buyer, &format!("{url}/orders/{}", o["id"])).await.1;
    assert!(
        html.contains("id=\"freight\"") && html.contains("¥106.00") && html.contains("顺丰冷运"),
        "{html}"
    );
}

async fn a_seller_packs_the_day_s_orders_from_its_oldest_lots(backend: Backend) {
    let Some(app) = spawn_app(backend).await else {
        return;
    };
    let (panshi, rice) = app.panshi_rice_all_year().await;
    let buyer = app.login("buyer").await;
    let day = |d: i64| (crate::stats::today() + chrono::Duration::days(d)).to_string();
    for (harvested, quantity) in [(-3, "120"), (-30, "30")] {
        let r = app
            .post(&format!("/api/v1/listings/{rice}/lots"), Some(&panshi), json!({"harvested_on": day(harvested), "village_code": "511723102210", "quantity": quantity}))
            .await;
        assert_eq!(r.status, StatusCode::CREATED, "{}", r.text);
    }
    let mut ids = Vec::new();
    for n in 0..3 {
        let r = app
            .checkout(
                &buyer,
                &format!("pack-{n}"),
                json!([{"listing_id": rice, "quantity": "100"}]),
            )
            .await;
        assert_eq!(r.status, StatusCode::CREATED, "{}", r.text);
        ids.push(r.body["orders"][0]["id"].as_i64().unwrap());
    }
    // One confirmed, one cancelled: the cancelled one is not packed.
    app.advance(ids[0], "confirm").await;
    app.advance(ids[2], "cancel").await;

    let today = crate::stats::today();
    let r = app
        .get(&format!("/api/v1/packing-list?day={today}"), Some(&panshi))
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    let packed: Vec<i64> = r.body["orders"]
        .as_array()
        .unwrap()
        .iter()
        .map(|o| o["order_id"].as_i64().unwrap())
        .collect();
    assert_eq!(packed, ids[..2].to_vec(), "{}", r.text);
    assert_eq!(r.body["orders"][0]["lines"][0]["quantity"], "100");
    // 200 斤 to pick: the 30 of the older lot first, then 120 of the newer, 50 on no lot.
    let pick = &r.body["picks"][0];
    assert_eq!(
        (pick["quantity"].as_str(), pick["orders"].as_i64()),
        (Some("200"), Some(2)),
        "{pick}"
    );
    let takes: Vec<&str> = pick["lots"]
        .as_array()
        .unwrap()
        .iter()
        .map(|l| l["take"].as_str().unwrap())
        .collect();
    assert_eq!(takes, ["30", "120"], "{pick}");
    assert_eq!(pick["uncovered"], "50");
    // The day before the orders: nothing to pack.
    let r = app
        .get(
            &format!("/api/v1/packing-list?day={}", day(-2)),
            Some(&panshi),
        )
        .await;
    assert!(
        r.body["orders"].as_array().unwrap().is_empty(),
        "{}",
        r.text
    );
    // The sheets.
    let r = app
        .get(
            &format!("/api/v1/packing-list?day={today}&list=picking&format=csv"),
            Some(&panshi),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK);
    assert!(
        r.text.contains(",120\r\n") && r.text.contains(",50\r\n"),
        "{}",
        r.text
    );
    let r = app
        .get(
            &format!("/api/v1/packing-list?day={today}&format=csv"),
            Some(&panshi),
        )
        .await;
    assert_eq!(r.text.matches("王师傅").count(), 2, "{}", r.text);
    assert!(r.text.contains("510104 锦江区"), "{}", r.text);
    let r = app
        .get(
            &format!("/api/v1/packing-list?day={today}&format=xlsx"),
            Some(&panshi),
        )
        .await;
    assert!(
        r.headers["content-type"]
            .to_str()
            .unwrap()
            .contains("spreadsheetml")
    );
    // Refusals.
    for (path, token, status, field) in [
        (
            "/api/v1/packing-list",
            Some(&buyer),
            StatusCode::FORBIDDEN,
            None,
        ),
        ("/api/v1/packing-list", None, StatusCode::UNAUTHORIZED, None),
        (
            "/api/v1/packing-list?day=2026-13-01",
            Some(&panshi),
            StatusCode::UNPROCESSABLE_ENTITY,
            Some("day"),
        ),
        (
            "/api/v1/packing-list?list=boxes",
            Some(&panshi),
            StatusCode::UNPROCESSABLE_ENTITY,
            Some("list"),
        ),
    ] {
        let r = app.get(path, token.map(|t| t.as_str())).await;
        assert_eq!(r.status, status, "{path}: {}", r.text);
        if let Some(f) = field {
            assert!(r.fields().contains(&f.to_string()), "{}", r.text);
        }
    }
    // The page and its print view.
    let url = &app.address;
    let producer = signed_in(url, "coop-panshi").await;
    let html = page(&producer, &format!("{url}/producer/packing?day={today}"))
        .await
        .1;
    assert!(
        html.contains(&format!("id=\"pack-{}\"", ids[0]))
            && !html.contains(&format!("id=\"pack-{}\"", ids[2])),
        "{html}"
    );
    assert!(
        html.contains("id=\"picking-csv\"") && html.contains("锦江区"),
        "{html}"
    );
    let html = page(
        &producer,
        &format!("{url}/producer/packing?day={today}&print=1"),
    )
    .await
    .1;
    assert!(
        html.contains(&format!("id=\"pack-{}\"", ids[1])) && !html.contains("id=\"picking-csv\""),
        "{html}"
    );
}
