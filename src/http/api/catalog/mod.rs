//! The catalog's HTTP API.
pub mod listings;
pub mod organizations;
pub mod photos;
pub mod reference;
pub mod views;

use utoipa_axum::router::OpenApiRouter;

use crate::http::state::AppState;

/// Every catalog route.
pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .merge(listings::router())
        .merge(organizations::router())
        .merge(photos::router())
        .merge(reference::router())
}
