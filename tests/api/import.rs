//! Listings imported from a spreadsheet on the producers' page: every row checked, nothing
//! kept when one is wrong, and a report naming each bad row, column and reason.

use reqwest::StatusCode;
use sea_orm::{ColumnTrait, EntityTrait, PaginatorTrait, QueryFilter};

use qudao::catalog::domain::{CertificateStatus, Certification};
use qudao::catalog::entity::{certificate, listing};

use crate::helpers::{Backend, hidden, spawn_app};
use crate::on_both_databases;
use crate::pages::signed_in;

on_both_databases!(a_sheet_is_imported_whole_or_not_at_all);

async fn listings_titled(app: &crate::helpers::TestApp, prefix: &str) -> u64 {
    listing::Entity::find()
        .filter(listing::Column::Title.starts_with(prefix))
        .count(&app.db)
        .await
        .unwrap()
}

/// Uploads `sheet` with the page's form token (or `token` when given); the status and page.
async fn upload(
    client: &reqwest::Client,
    url: &str,
    name: &str,
    sheet: Vec<u8>,
    token: Option<&str>,
) -> (StatusCode, String) {
    let page = client
        .get(format!("{url}/producer/import"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let token = token.map_or_else(|| hidden(&page, "csrf_token"), str::to_string);
    let form = reqwest::multipart::Form::new()
        .text("csrf_token", token)
        .part(
            "sheet",
            reqwest::multipart::Part::bytes(sheet).file_name(name.to_string()),
        );
    let r = client
        .post(format!("{url}/producer/import"))
        .multipart(form)
        .send()
        .await
        .unwrap();
    (r.status(), r.text().await.unwrap())
}

async fn a_sheet_is_imported_whole_or_not_at_all(backend: Backend) {
    let Some(app) = spawn_app(backend).await else {
        return;
    };
    let panshi = signed_in(&app.address, "coop-panshi").await;
    let header = "title,category,unit,price_yuan,stock,min_order,grade,certifications\n";
    let good = "盘石导入 黄心洋芋,马铃薯,斤,2.2,800,10,,\n";
    let graded = "盘石导入 有机大米,rice,公斤,6.80,300,5,一级,有机;绿色食品\n";

    // Row 3 has an unknown category and a price that is not one: both are named, nothing kept.
    let bad = "盘石导入 火星土豆,火星作物,斤,两块,100,1,,\n";
    let (status, page) = upload(
        &panshi,
        &app.address,
        "listings.csv",
        format!("{header}{good}{bad}{graded}").into_bytes(),
        None,
    )
    .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{page}");
    assert!(page.contains("id=\"import-errors\""), "{page}");
    assert_eq!(page.matches("class=\"row-error\"").count(), 2, "{page}");
    for needle in [
        "<td>3</td><td>category</td>",
        "<td>3</td><td>price_yuan</td>",
        "火星作物",
    ] {
        assert!(page.contains(needle), "{needle} in {page}");
    }
    assert_eq!(listings_titled(&app, "盘石导入").await, 0);

    // Corrected, all three go in, the Chinese grade and certifications read as theirs.
    let fixed = "盘石导入 红皮洋芋,马铃薯,斤,1.9,100,1,,\n";
    let (status, page) = upload(
        &panshi,
        &app.address,
        "listings.csv",
        format!("\u{feff}{header}{good}{fixed}{graded}").into_bytes(),
        None,
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{page}");
    assert!(page.contains("已导入 3 件商品"), "{page}");
    assert_eq!(listings_titled(&app, "盘石导入").await, 3);
    let rice = listing::Entity::find()
        .filter(listing::Column::Title.eq("盘石导入 有机大米"))
        .one(&app.db)
        .await
        .unwrap()
        .unwrap();
    assert_eq!((rice.price_fen, rice.grade.code()), (680, "first"));
    assert_eq!(rice.unit.code(), "kg");
    // The sheet's certifications are claims: drafts of the cooperative's to complete and
    // submit, covering the listing; until verified, the listing carries none.
    assert!(
        rice.certifications.list().is_empty(),
        "{}",
        rice.certifications
    );
    let claimed: Vec<Certification> = certificate::Entity::find()
        .filter(certificate::Column::OrganizationId.eq(rice.organization_id))
        .filter(certificate::Column::Status.eq(CertificateStatus::Draft))
        .all(&app.db)
        .await
        .unwrap()
        .into_iter()
        .map(|c| c.kind)
        .collect();
    for kind in [Certification::Organic, Certification::GreenFood] {
        assert!(claimed.contains(&kind), "{kind} in {claimed:?}");
    }

    // A sheet without a required column, a sheet of too many rows, and a file that is not one.
    let (status, page) = upload(
        &panshi,
        &app.address,
        "a.csv",
        "title,unit\n盘石导入 x,斤\n".into(),
        None,
    )
    .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(page.contains("category, price_yuan, stock"), "{page}");
    let many: String = std::iter::once(header.to_string())
        .chain((0..1001).map(|i| format!("盘石导入 第{i}件,马铃薯,斤,2,10,1,,\n")))
        .collect();
    let (status, page) = upload(&panshi, &app.address, "many.csv", many.into(), None).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(page.contains("1000"), "{page}");
    let (status, _) = upload(
        &panshi,
        &app.address,
        "photo.xlsx",
        b"PK\x03\x04 not a workbook".to_vec(),
        None,
    )
    .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(listings_titled(&app, "盘石导入").await, 3);

    // A forged form, and a buyer, are refused.
    let (status, _) = upload(
        &panshi,
        &app.address,
        "listings.csv",
        format!("{header}{fixed}").into_bytes(),
        Some("forged"),
    )
    .await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    let buyer = signed_in(&app.address, "buyer").await;
    let r = buyer
        .get(format!("{}/producer/import", app.address))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::FORBIDDEN);
    assert_eq!(listings_titled(&app, "盘石导入").await, 3);
}
