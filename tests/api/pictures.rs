//! Every listing card, search result and listing page leads with a picture: the listing's
//! photo, offered in two sizes, or its category's drawing; small, and lazy below the first row.

use reqwest::StatusCode;

use crate::helpers::{Backend, TestApp, spawn_app};
use crate::on_both_databases;
use crate::photos::{png, upload};

on_both_databases!(every_listing_leads_with_its_photo_or_its_category_s_drawing,);

/// The `<img class="pic" …>` tags of a page, in order.
fn pictures(html: &str) -> Vec<&str> {
    html.split("<img class=\"pic\"")
        .skip(1)
        .map(|rest| &rest[..rest.find('>').unwrap()])
        .collect()
}

/// The value of attribute `name` in a tag's text, its character references read.
fn attr(tag: &str, name: &str) -> Option<String> {
    let at = tag.find(&format!(" {name}=\""))? + name.len() + 3;
    let raw = &tag[at..at + tag[at..].find('"')?];
    Some(raw.replace("&#x2f;", "/").replace("&amp;", "&"))
}

/// The page at the full address `url`.
async fn html(app: &TestApp, url: impl reqwest::IntoUrl) -> String {
    app.client
        .get(url)
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap()
}

/// Fetches `path` and returns its content type and size.
async fn fetched(app: &TestApp, path: &str) -> (StatusCode, String, usize) {
    let r = app
        .client
        .get(format!("{}{path}", app.address))
        .send()
        .await
        .unwrap();
    let status = r.status();
    let kind = r
        .headers()
        .get("content-type")
        .map(|v| v.to_str().unwrap().to_string())
        .unwrap_or_default();
    (status, kind, r.bytes().await.unwrap().len())
}

async fn every_listing_leads_with_its_photo_or_its_category_s_drawing(backend: Backend) {
    let Some(app) = spawn_app(backend).await else {
        return;
    };
    let (panshi, listing) = app.panshi_sells_rice("500").await;
    let r = upload(&app, &panshi, listing, "image/png", png(2400, 1800)).await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.text);

    // The home page: every card has a picture; the first row loads at once, the rest lazily.
    let home = html(&app, &app.address).await;
    let cards = home.matches("<li class=\"card\">").count();
    let pics = pictures(&home);
    assert!(cards > 4, "{cards} cards");
    assert_eq!(pics.len(), cards, "a picture on every card");
    for (i, tag) in pics.iter().enumerate() {
        assert_eq!(
            attr(tag, "loading").as_deref() == Some("lazy"),
            i >= 4,
            "card {i}: {tag}"
        );
        assert_eq!(
            attr(tag, "alt").as_deref(),
            Some(""),
            "the title beside it names it"
        );
        assert!(attr(tag, "width").is_some() && attr(tag, "height").is_some());
    }
    // The listing with a photo offers its two sizes; the others their category's drawing,
    // which is small SVG.
    let with_photo: Vec<&&str> = pics
        .iter()
        .filter(|t| attr(t, "srcset").is_some())
        .collect();
    assert_eq!(with_photo.len(), 1, "{pics:?}");
    let srcset = attr(with_photo[0], "srcset").unwrap();
    let sizes: Vec<(&str, &str)> = srcset
        .split(", ")
        .map(|c| c.split_once(' ').unwrap())
        .collect();
    assert_eq!(
        sizes.iter().map(|s| s.1).collect::<Vec<_>>(),
        ["320w", "1280w"]
    );
    let (status, kind, thumb) = fetched(&app, &attr(with_photo[0], "src").unwrap()).await;
    assert_eq!((status, kind.as_str()), (StatusCode::OK, "image/jpeg"));
    assert!(thumb <= 30 * 1024, "the thumbnail weighs {thumb} bytes");
    let mut drawings = std::collections::BTreeSet::new();
    for tag in pics.iter().filter(|t| attr(t, "srcset").is_none()) {
        let src = attr(tag, "src").unwrap();
        assert!(src.starts_with("/images/categories/"), "{src}");
        drawings.insert(src.to_string());
    }
    assert!(
        drawings.len() > 2,
        "drawings of several categories: {drawings:?}"
    );
    for src in &drawings {
        let (status, kind, size) = fetched(&app, src).await;
        assert_eq!(
            (status, kind.as_str()),
            (StatusCode::OK, "image/svg+xml"),
            "{src}"
        );
        assert!(size <= 30 * 1024, "{src} weighs {size} bytes");
    }
    let (status, _, _) = fetched(&app, "/images/categories/99999.svg").await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    let (status, _, _) = fetched(&app, "/images/categories/rice.png").await;
    assert_eq!(status, StatusCode::NOT_FOUND);

    // Search results lead with pictures the same way.
    let search = html(&app, format!("{}/search?q=%E5%A4%A7%E7%B1%B3", app.address)).await;
    let hits = pictures(&search);
    assert!(!hits.is_empty(), "{search}");
    assert_eq!(hits.len(), search.matches("<li class=\"card\">").count());
    for tag in hits {
        let src = attr(tag, "src").unwrap();
        assert!(
            attr(tag, "srcset").is_some() || src.starts_with("/images/categories/"),
            "{tag}"
        );
    }

    // The listing's page leads with its photo, large; one without a photo with its drawing.
    let page = html(&app, format!("{}/listings/{listing}", app.address)).await;
    let hero = &page[page.find("<img class=\"hero\"").expect("a picture")..];
    let hero = &hero[..hero.find('>').unwrap()];
    assert_eq!(attr(hero, "srcset"), Some(srcset), "{hero}");
    assert!(attr(hero, "src").unwrap().ends_with("/large"), "{hero}");
    assert!(attr(hero, "alt").is_some_and(|a| !a.is_empty()));
    let other = home
        .split("href=\"/listings/")
        .skip(1)
        .filter_map(|s| s.split('"').next())
        .find(|id| *id != listing.to_string())
        .unwrap();
    let page = html(&app, format!("{}/listings/{other}", app.address)).await;
    let hero = &page[page.find("<img class=\"hero\"").expect("a picture")..];
    let hero = &hero[..hero.find('>').unwrap()];
    assert!(
        attr(hero, "src").is_some_and(|s| s.starts_with("/images/categories/")),
        "{hero}"
    );
}
