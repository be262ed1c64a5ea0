//! `POST /api/keys` (admin): a new API key, shown once; its hash is stored in `gw_keys`.

use promptmesh_guest::id::new_id;
use promptmesh_guest::time::now_ms;

use super::{Ctx, platform};
use crate::error::ApiError;
use crate::response::ApiResponse;
use crate::{keys, render, requests};

pub fn create(ctx: &Ctx) -> Result<ApiResponse, ApiError> {
    let new = requests::new_key(&ctx.body)?;
    let random = platform::random_key_bytes()?;
    let db = platform::db()?;
    let stored = keys::migrate(db.as_ref()).and_then(|()| {
        keys::create(
            db.as_ref(),
            &new_id("key"),
            &new.name,
            new.tier,
            random,
            now_ms(),
        )
    });
    let created = stored.map_err(|e| ApiError::internal(format!("storing the key failed: {e}")))?;
    Ok(ApiResponse::json(201, render::created_key(&created)))
}
