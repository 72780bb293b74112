//! `page`/`limit` query handling shared by every list.

pub use urr_wire::PageMeta;

use crate::error::ApiError;

pub const DEFAULT_LIMIT: i64 = 20;
/// Lists never return more than this many items, whatever the client asks.
pub const MAX_LIMIT: i64 = 100;

/// A validated page: 1-based `page`, `limit` clamped to [`MAX_LIMIT`].
#[derive(Debug, Clone, Copy)]
pub struct Page {
    pub page: i64,
    pub limit: i64,
}

impl Page {
    pub fn from_query(page: Option<i64>, limit: Option<i64>) -> Result<Page, ApiError> {
        let page = page.unwrap_or(1);
        if page < 1 {
            return Err(ApiError::invalid("page starts at 1"));
        }
        // Past this, the offset overflows or the query is a scan of nothing.
        if page > 1_000_000 {
            return Err(ApiError::invalid("page is too large"));
        }
        let limit = limit.unwrap_or(DEFAULT_LIMIT);
        if limit < 1 {
            return Err(ApiError::invalid("limit must be at least 1"));
        }
        Ok(Page {
            page,
            limit: limit.min(MAX_LIMIT),
        })
    }

    pub fn offset(self) -> i64 {
        (self.page - 1) * self.limit
    }

    pub fn meta(self, total: i64) -> PageMeta {
        PageMeta {
            page: self.page,
            limit: self.limit,
            total,
            total_pages: (total + self.limit - 1) / self.limit,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pages_are_validated_and_limits_clamped() {
        assert!(Page::from_query(Some(0), None).is_err());
        assert!(Page::from_query(Some(1), Some(0)).is_err());
        assert!(Page::from_query(Some(-3), None).is_err());
        let page = Page::from_query(Some(3), Some(10_000)).unwrap();
        assert_eq!((page.page, page.limit, page.offset()), (3, 100, 200));
        let meta = Page::from_query(None, None).unwrap().meta(41);
        assert_eq!((meta.page, meta.limit, meta.total_pages), (1, 20, 3));
        assert_eq!(Page::from_query(None, None).unwrap().meta(0).total_pages, 0);
    }
}
