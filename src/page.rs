//! Pagination: `page` from 1, `per_page` up to 100.

use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use crate::error::{AppResult, Validator};

/// The largest page size.
pub const MAX_PER_PAGE: u64 = 100;

/// `?page=&per_page=`.
#[derive(Debug, Default, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct PageQuery {
    /// Page number, from 1.
    pub page: Option<u64>,
    /// Items per page, 1 to 100 (default 20).
    pub per_page: Option<u64>,
}

impl PageQuery {
    /// Checks the numbers and fills in defaults.
    pub fn resolve(&self) -> AppResult<(u64, u64)> {
        resolve(self.page, self.per_page)
    }
}

/// Checks page numbers given separately.
pub fn resolve(page: Option<u64>, per_page: Option<u64>) -> AppResult<(u64, u64)> {
    let mut v = Validator::default();
    let page = page.unwrap_or(1);
    let per_page = per_page.unwrap_or(20);
    if page == 0 || page > 100_000 {
        v.add("page", "out_of_range", "page must be between 1 and 100000");
    }
    if per_page == 0 || per_page > MAX_PER_PAGE {
        v.add(
            "per_page",
            "out_of_range",
            format!("per_page must be between 1 and {MAX_PER_PAGE}"),
        );
    }
    v.finish()?;
    Ok((page, per_page))
}

/// One page of results with the total count.
#[derive(Debug, Serialize, ToSchema)]
pub struct Page<T> {
    pub items: Vec<T>,
    pub page: u64,
    pub per_page: u64,
    pub total: u64,
}

impl<T> Page<T> {
    /// Wraps items.
    pub fn new(items: Vec<T>, page: u64, per_page: u64, total: u64) -> Self {
        Page {
            items,
            page,
            per_page,
            total,
        }
    }
}
