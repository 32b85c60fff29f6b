//! Listing photos: producers upload them (any JPEG, PNG or WebP, judged by content), everyone
//! who can see a listing lists them, and their re-encoded images are served by id.

use axum::Json;
use axum::extract::{DefaultBodyLimit, Path, Request, State};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::Serialize;
use utoipa::ToSchema;
use utoipa_axum::{router::OpenApiRouter, routes};

use crate::accounts::Actor;
use crate::catalog::entity::listing_photo;
use crate::catalog::{listings, photos};
use crate::error::{AppError, AppResult, ErrorBody};
use crate::http::api::extract::{ApiId, read_body};
use crate::http::auth::MaybeActor;
use crate::http::state::AppState;

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(upload_photo, list_photos))
        // Photos are larger than any other body.
        .layer(DefaultBodyLimit::max(photos::MAX_UPLOAD_BYTES))
        .routes(routes!(delete_photo))
        .routes(routes!(photo_image))
}

/// A listing photo and where its images are.
#[derive(Debug, Serialize, ToSchema)]
pub struct PhotoView {
    pub id: i64,
    /// Order among the listing's photos, from 0.
    pub position: i32,
    /// The large image (at most 1280 pixels on its longest side), JPEG.
    pub url: String,
    /// The thumbnail (at most 320 pixels), JPEG.
    pub thumbnail_url: String,
    pub width: i32,
    pub height: i32,
}

impl From<listing_photo::Model> for PhotoView {
    fn from(p: listing_photo::Model) -> Self {
        PhotoView {
            id: p.id,
            position: p.position,
            url: photos::url(p.id, "large"),
            thumbnail_url: photos::url(p.id, "thumb"),
            width: p.width,
            height: p.height,
        }
    }
}

/// Adds a photo to one of the organization's listings. The body is the image file itself
/// (up to 10 MiB, at most 8192 pixels a side); whatever its `Content-Type`, it must decode as a
/// JPEG, PNG or WebP image. It is stored re-encoded, without its metadata.
#[utoipa::path(post, path = "/api/v1/listings/{id}/photos", tag = "listings", params(("id" = i64, Path)),
    request_body(content = Vec<u8>, content_type = "image/jpeg"),
    responses((status = 201, body = PhotoView), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody),
        (status = 409, body = ErrorBody, description = "the listing already has 8 photos"),
        (status = 413, body = ErrorBody), (status = 422, body = ErrorBody, description = "`photo`: `not_an_image` or `too_large`")),
    security(("bearer" = [])))]
async fn upload_photo(
    State(state): State<AppState>,
    actor: Actor,
    ApiId(id): ApiId,
    request: Request,
) -> AppResult<(StatusCode, Json<PhotoView>)> {
    // Who may is settled before the body is read or decoded.
    listings::find_own(&state.db, &actor, id).await?;
    let body = read_body(request, &state, |reason| {
        AppError::BadRequest("unreadable_body", reason)
    })
    .await?;
    let prepared = photos::prepare_aside(body.into()).await?;
    let txn = crate::db::write_txn(&state.db).await?;
    listings::find_own(&txn, &actor, id).await?;
    let photo = photos::add(&txn, id, prepared).await?;
    txn.commit().await?;
    Ok((StatusCode::CREATED, Json(photo.into())))
}

/// The photos of a listing anyone may see, in order.
#[utoipa::path(get, path = "/api/v1/listings/{id}/photos", tag = "listings", params(("id" = i64, Path)),
    responses((status = 200, body = Vec<PhotoView>), (status = 404, body = ErrorBody)))]
async fn list_photos(
    State(state): State<AppState>,
    MaybeActor(actor): MaybeActor,
    ApiId(id): ApiId,
) -> AppResult<Json<Vec<PhotoView>>> {
    listings::get_visible(&state.db, actor.as_ref(), id).await?;
    let rows = photos::of_listings(&state.db, &[id]).await?;
    Ok(Json(rows.into_iter().map(Into::into).collect()))
}

/// Removes a photo from one of the organization's listings.
#[utoipa::path(delete, path = "/api/v1/listings/{id}/photos/{photo_id}", tag = "listings",
    params(("id" = i64, Path), ("photo_id" = i64, Path)),
    responses((status = 204), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)),
    security(("bearer" = [])))]
async fn delete_photo(
    State(state): State<AppState>,
    actor: Actor,
    Path((id, photo_id)): Path<(String, String)>,
) -> AppResult<StatusCode> {
    let (Ok(id), Ok(photo_id)) = (id.parse::<i64>(), photo_id.parse::<i64>()) else {
        return Err(AppError::NotFound("photo"));
    };
    photos::remove(&state.db, &actor, id, photo_id).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// One image of a photo: `large` or `thumb`, JPEG, cacheable for good (a photo never changes).
#[utoipa::path(get, path = "/api/v1/photos/{id}/{variant}", tag = "listings",
    params(("id" = i64, Path), ("variant" = String, Path, description = "`large` or `thumb`")),
    responses((status = 200, content_type = "image/jpeg", body = Vec<u8>), (status = 404, body = ErrorBody)))]
async fn photo_image(
    State(state): State<AppState>,
    Path((id, variant)): Path<(String, String)>,
) -> AppResult<Response> {
    let id = id.parse::<i64>().map_err(|_| AppError::NotFound("photo"))?;
    if !matches!(variant.as_str(), "large" | "thumb") {
        return Err(AppError::NotFound("photo"));
    }
    let image = photos::image(&state.db, id, &variant).await?;
    Ok((
        [
            (header::CONTENT_TYPE, "image/jpeg"),
            (header::CACHE_CONTROL, "public, max-age=31536000, immutable"),
        ],
        image.data,
    )
        .into_response())
}
