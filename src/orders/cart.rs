//! The buyer's cart: lines from any listings, checked again at checkout.

use chrono::Utc;
use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, EntityTrait, IntoActiveModel, PaginatorTrait,
    QueryFilter, QueryOrder, Set,
};

use super::entity::cart_item;
use crate::accounts::Actor;
use crate::catalog::domain::Quantity;
use crate::catalog::listings;
use crate::error::{AppError, AppResult};

/// Most lines one cart holds.
pub const MAX_LINES: u64 = 50;

/// Only buyers have carts and place orders.
pub fn require_buyer(actor: &Actor) -> AppResult<()> {
    crate::accounts::role::require_buyer(actor, "can buy")
}

/// The buyer's cart lines, oldest first.
pub async fn lines(db: &impl ConnectionTrait, actor: &Actor) -> AppResult<Vec<cart_item::Model>> {
    require_buyer(actor)?;
    Ok(cart_item::Entity::find()
        .filter(cart_item::Column::UserId.eq(actor.id()))
        .order_by_asc(cart_item::Column::Id)
        .all(db)
        .await?)
}

/// Adds a listing to the cart, or adds to the quantity already there.
pub async fn add(
    db: &impl ConnectionTrait,
    actor: &Actor,
    listing_id: i64,
    quantity: Quantity,
) -> AppResult<cart_item::Model> {
    require_buyer(actor)?;
    let listing = listings::get_visible(db, Some(actor), listing_id)
        .await
        .map_err(|_| AppError::field("listing_id", "unavailable", "this listing is not on sale"))?;
    let now = Utc::now();
    let existing = cart_item::Entity::find()
        .filter(cart_item::Column::UserId.eq(actor.id()))
        .filter(cart_item::Column::ListingId.eq(listing_id))
        .one(db)
        .await?;
    if let Some(line) = existing {
        let total = line.quantity_milli + quantity.milli();
        if Quantity::from_milli(total) > Quantity::MAX {
            return Err(AppError::field("quantity", "out_of_range", "too large"));
        }
        let mut m = line.into_active_model();
        m.quantity_milli = Set(total);
        m.unit = Set(listing.unit);
        m.updated_at = Set(now);
        return Ok(m.update(db).await?);
    }
    let count = cart_item::Entity::find()
        .filter(cart_item::Column::UserId.eq(actor.id()))
        .count(db)
        .await?;
    if count >= MAX_LINES {
        return Err(AppError::Conflict(
            "cart_full",
            format!("a cart holds at most {MAX_LINES} lines"),
        ));
    }
    Ok(cart_item::ActiveModel {
        user_id: Set(actor.id()),
        listing_id: Set(listing_id),
        quantity_milli: Set(quantity.milli()),
        unit: Set(listing.unit),
        created_at: Set(now),
        updated_at: Set(now),
        ..Default::default()
    }
    .insert(db)
    .await?)
}

async fn own_line(
    db: &impl ConnectionTrait,
    actor: &Actor,
    id: i64,
) -> AppResult<cart_item::Model> {
    require_buyer(actor)?;
    cart_item::Entity::find()
        .filter(cart_item::Column::Id.eq(id))
        .filter(cart_item::Column::UserId.eq(actor.id()))
        .one(db)
        .await?
        .ok_or(AppError::NotFound("cart line"))
}

/// Sets the quantity of one of the buyer's lines.
pub async fn set_quantity(
    db: &impl ConnectionTrait,
    actor: &Actor,
    id: i64,
    quantity: Quantity,
) -> AppResult<cart_item::Model> {
    let line = own_line(db, actor, id).await?;
    let mut m = line.into_active_model();
    m.quantity_milli = Set(quantity.milli());
    m.updated_at = Set(Utc::now());
    Ok(m.update(db).await?)
}

/// Removes one of the buyer's lines.
pub async fn remove(db: &impl ConnectionTrait, actor: &Actor, id: i64) -> AppResult<()> {
    let line = own_line(db, actor, id).await?;
    cart_item::Entity::delete_by_id(line.id).exec(db).await?;
    Ok(())
}

/// Empties the buyer's cart (after a checkout from it).
pub async fn clear(db: &impl ConnectionTrait, user_id: i64) -> Result<(), sea_orm::DbErr> {
    cart_item::Entity::delete_many()
        .filter(cart_item::Column::UserId.eq(user_id))
        .exec(db)
        .await?;
    Ok(())
}
