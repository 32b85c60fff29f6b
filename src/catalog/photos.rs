//! Listing photos. What a producer uploads is never served as sent: it must decode as a JPEG,
//! PNG or WebP image (judged by its content, not its name or type), within size limits, and is
//! re-encoded as two JPEGs, a large one and a thumbnail. Re-encoding drops everything but the
//! pixels, including EXIF data such as where a photo was taken (often a farmer's home).

use std::io::Cursor;

use chrono::Utc;
use image::{DynamicImage, ImageFormat, ImageReader, Limits};
use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, EntityTrait, IntoActiveModel, PaginatorTrait,
    QueryFilter, QueryOrder, Set,
};

use super::entity::{listing_photo, listing_photo_image};
use crate::error::{AppError, AppResult, FieldError};

/// Largest upload accepted, in bytes.
pub const MAX_UPLOAD_BYTES: usize = 10 * 1024 * 1024;
/// Widest or tallest image accepted, in pixels.
pub const MAX_SIDE: u32 = 8192;
/// Most photos one listing may have.
pub const MAX_PER_LISTING: u64 = 8;
/// The longest side of the large image and of the thumbnail.
pub const LARGE_SIDE: u32 = 1280;
pub const THUMB_SIDE: u32 = 320;
/// Memory a decoder may use (a small file can claim huge dimensions).
const DECODE_MEMORY: u64 = 256 * 1024 * 1024;
const JPEG_QUALITY: u8 = 82;

/// One re-encoded image.
#[derive(Debug, Clone)]
pub struct Encoded {
    pub width: u32,
    pub height: u32,
    pub jpeg: Vec<u8>,
}

/// The two images made of one upload.
#[derive(Debug, Clone)]
pub struct Prepared {
    pub large: Encoded,
    pub thumb: Encoded,
}

/// [`prepare`] on a blocking thread, its refusal reported as the `photo` field's.
pub async fn prepare_aside(bytes: Vec<u8>) -> AppResult<Prepared> {
    tokio::task::spawn_blocking(move || prepare(&bytes))
        .await
        .map_err(|e| anyhow::anyhow!("preparing a photo panicked: {e}"))?
        .map_err(|e| AppError::field("photo", e.code, e.message))
}

/// Decodes an upload and re-encodes it, or says why it is refused (field `photo`).
pub fn prepare(bytes: &[u8]) -> Result<Prepared, FieldError> {
    let not_an_image =
        || FieldError::new("not_an_image", "the file is not a JPEG, PNG or WebP image");
    let mut reader = ImageReader::new(Cursor::new(bytes))
        .with_guessed_format()
        .map_err(|_| not_an_image())?;
    if !matches!(
        reader.format(),
        Some(ImageFormat::Jpeg | ImageFormat::Png | ImageFormat::WebP)
    ) {
        return Err(not_an_image());
    }
    let mut limits = Limits::default();
    limits.max_image_width = Some(MAX_SIDE);
    limits.max_image_height = Some(MAX_SIDE);
    limits.max_alloc = Some(DECODE_MEMORY);
    reader.limits(limits);
    let image = reader.decode().map_err(|e| match e {
        image::ImageError::Limits(_) => FieldError::new(
            "too_large",
            format!("images may be at most {MAX_SIDE} × {MAX_SIDE} pixels"),
        ),
        _ => not_an_image(),
    })?;
    if image.width() == 0 || image.height() == 0 {
        return Err(not_an_image());
    }
    Ok(Prepared {
        large: encode(&image, LARGE_SIDE)?,
        thumb: encode(&image, THUMB_SIDE)?,
    })
}

/// The image fitted within `side` × `side` (never enlarged), as a JPEG.
fn encode(image: &DynamicImage, side: u32) -> Result<Encoded, FieldError> {
    let fitted = if image.width() > side || image.height() > side {
        image.thumbnail(side, side)
    } else {
        image.clone()
    };
    let rgb = fitted.into_rgb8();
    let mut jpeg = Vec::new();
    image::codecs::jpeg::JpegEncoder::new_with_quality(&mut jpeg, JPEG_QUALITY)
        .encode_image(&rgb)
        .map_err(|e| {
            FieldError::new("not_an_image", format!("the image cannot be encoded: {e}"))
        })?;
    Ok(Encoded {
        width: rgb.width(),
        height: rgb.height(),
        jpeg,
    })
}

/// Where an image of a photo is served.
pub fn url(photo_id: i64, variant: &str) -> String {
    format!("/api/v1/photos/{photo_id}/{variant}")
}

/// Removes photo `photo_id` of listing `listing_id`, which must be `actor`'s to change, with
/// its images, in one transaction.
pub async fn remove(
    db: &sea_orm::DatabaseConnection,
    actor: &crate::accounts::Actor,
    listing_id: i64,
    photo_id: i64,
) -> AppResult<()> {
    let txn = crate::db::write_txn(db).await?;
    super::listings::find_own(&txn, actor, listing_id).await?;
    let photo = listing_photo::Entity::find_by_id(photo_id)
        .filter(listing_photo::Column::ListingId.eq(listing_id))
        .one(&txn)
        .await?
        .ok_or(AppError::NotFound("photo"))?;
    listing_photo_image::Entity::delete_many()
        .filter(listing_photo_image::Column::PhotoId.eq(photo.id))
        .exec(&txn)
        .await?;
    listing_photo::Entity::delete_by_id(photo.id)
        .exec(&txn)
        .await?;
    txn.commit().await?;
    Ok(())
}

/// Stores a prepared photo as the listing's last, inside the caller's transaction; refuses a
/// listing that already has [`MAX_PER_LISTING`].
pub async fn add(
    db: &impl ConnectionTrait,
    listing_id: i64,
    prepared: Prepared,
) -> AppResult<listing_photo::Model> {
    let existing = listing_photo::Entity::find()
        .filter(listing_photo::Column::ListingId.eq(listing_id))
        .count(db)
        .await?;
    if existing >= MAX_PER_LISTING {
        return Err(AppError::Conflict(
            "too_many_photos",
            format!("a listing has at most {MAX_PER_LISTING} photos"),
        ));
    }
    // After the last one: counting would reuse a position left by a removed photo.
    let position = listing_photo::Entity::find()
        .filter(listing_photo::Column::ListingId.eq(listing_id))
        .order_by_desc(listing_photo::Column::Position)
        .one(db)
        .await?
        .map_or(0, |last| last.position + 1);
    let photo = listing_photo::ActiveModel {
        listing_id: Set(listing_id),
        position: Set(position),
        path: Set(String::new()),
        content_type: Set("image/jpeg".into()),
        width: Set(prepared.large.width as i32),
        height: Set(prepared.large.height as i32),
        bytes: Set(prepared.large.jpeg.len() as i64),
        created_at: Set(Utc::now()),
        ..Default::default()
    }
    .insert(db)
    .await?;
    let path = url(photo.id, "large");
    let mut photo = photo.into_active_model();
    photo.path = Set(path);
    let photo = photo.update(db).await?;
    for (variant, image) in [("large", prepared.large), ("thumb", prepared.thumb)] {
        listing_photo_image::ActiveModel {
            photo_id: Set(photo.id),
            variant: Set(variant.into()),
            width: Set(image.width as i32),
            height: Set(image.height as i32),
            data: Set(image.jpeg),
            ..Default::default()
        }
        .insert(db)
        .await?;
    }
    Ok(photo)
}

/// The photos of some listings, in their order.
pub async fn of_listings(
    db: &impl ConnectionTrait,
    listing_ids: &[i64],
) -> AppResult<Vec<listing_photo::Model>> {
    if listing_ids.is_empty() {
        return Ok(Vec::new());
    }
    Ok(listing_photo::Entity::find()
        .filter(listing_photo::Column::ListingId.is_in(listing_ids.iter().copied()))
        .order_by_asc(listing_photo::Column::ListingId)
        .order_by_asc(listing_photo::Column::Position)
        .all(db)
        .await?)
}

/// One image of a photo, if both exist.
pub async fn image(
    db: &impl ConnectionTrait,
    photo_id: i64,
    variant: &str,
) -> AppResult<listing_photo_image::Model> {
    listing_photo_image::Entity::find()
        .filter(listing_photo_image::Column::PhotoId.eq(photo_id))
        .filter(listing_photo_image::Column::Variant.eq(variant))
        .one(db)
        .await?
        .ok_or(AppError::NotFound("photo"))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn png(width: u32, height: u32) -> Vec<u8> {
        let img = image::RgbImage::from_fn(width, height, |x, y| {
            image::Rgb([(x % 256) as u8, (y % 256) as u8, 90])
        });
        let mut out = Vec::new();
        img.write_to(&mut Cursor::new(&mut out), ImageFormat::Png)
            .unwrap();
        out
    }

    #[test]
    fn photos_are_fitted_and_reencoded_as_jpeg() {
        let p = prepare(&png(2000, 1500)).unwrap();
        assert_eq!((p.large.width, p.large.height), (1280, 960));
        assert_eq!((p.thumb.width, p.thumb.height), (320, 240));
        assert_eq!(
            image::guess_format(&p.large.jpeg).unwrap(),
            ImageFormat::Jpeg
        );
        // Small photos are not enlarged.
        let small = prepare(&png(200, 100)).unwrap();
        assert_eq!((small.large.width, small.large.height), (200, 100));
    }

    #[test]
    fn what_is_not_an_image_is_refused_by_its_content() {
        for bytes in [
            &b"<html><script>alert(1)</script></html>"[..],
            b"GIF89a\x01\x00\x01\x00",
            b"",
            &png(10, 10)[..40],
        ] {
            assert_eq!(prepare(bytes).unwrap_err().code, "not_an_image");
        }
        assert_eq!(
            prepare(&png(MAX_SIDE + 1, 2)).unwrap_err().code,
            "too_large"
        );
    }
}
