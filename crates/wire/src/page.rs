//! The paging fields every list reply carries beside its items.

use serde::{Deserialize, Serialize};

/// `page, limit, total, totalPages`, flattened into list replies.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct PageMeta {
    /// 1-based.
    pub page: i64,
    pub limit: i64,
    /// Items matching in all, over every page.
    pub total: i64,
    pub total_pages: i64,
}
