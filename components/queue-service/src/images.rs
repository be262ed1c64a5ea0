//! The images jobs produce: at most one per job, stored with its bytes, hash and the job's
//! owner, template and prompt.

use promptmesh_guest::db::{self, Db, Value};
use promptmesh_guest::id::new_id;
use sha2::{Digest, Sha256};

use crate::error::{Error, Result};
use crate::jobs;
use crate::model::{Image, ImageFilter, ImagePage, Job, JobStatus};
use crate::query::{self, Where};
use crate::rows::{self, IMAGE_COLUMNS};
use crate::validate;

/// The content types an image may have.
pub const CONTENT_TYPES: [&str; 3] = ["image/png", "image/jpeg", "image/webp"];

/// What a worker stores for a job.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct NewImage<'a> {
    pub job_id: &'a str,
    pub content_type: &'a str,
    /// Pixels.
    pub width: u32,
    /// Pixels.
    pub height: u32,
    pub bytes: &'a [u8],
}

/// Stores a running or storing job's image. Storing the same bytes again returns the image
/// already stored (a retry); other bytes for a job that has an image are a `conflict`.
pub fn store(db: &dyn Db, new: NewImage<'_>, now: u64) -> Result<Image> {
    let content_type = check(&new)?;
    let sha256 = hex::encode(Sha256::digest(new.bytes));

    db::transaction(db, || {
        let job = jobs::get(db, new.job_id)?;
        if let Some(existing) = find_by_job(db, new.job_id)? {
            return same_or_conflict(existing, &sha256);
        }
        if !matches!(job.status, JobStatus::Running | JobStatus::Storing) {
            return Err(Error::Conflict(format!(
                "job {} is {}; cannot store an image: only a running or storing job stores one",
                job.id, job.status
            )));
        }
        insert(db, &job, &new, &content_type, &sha256, now)
    })
}

/// Checks dimensions, bytes and content type; returns the content type in lower case.
fn check(new: &NewImage<'_>) -> Result<String> {
    if new.bytes.is_empty() {
        return Err(Error::invalid(
            "bytes",
            "empty_image",
            "bytes is empty (0 bytes); pass the image file's content",
        ));
    }
    for (field, pixels) in [("width", new.width), ("height", new.height)] {
        if pixels == 0 {
            return Err(Error::invalid(
                field,
                "invalid_dimension",
                format!("{field} is 0 pixels; pass the image's size, at least 1 pixel"),
            ));
        }
    }
    let content_type = new.content_type.trim().to_ascii_lowercase();
    if !CONTENT_TYPES.contains(&content_type.as_str()) {
        return Err(Error::invalid(
            "content_type",
            "unsupported_content_type",
            format!(
                "content_type {:?} is not supported; pass one of {}",
                new.content_type,
                CONTENT_TYPES.join(", ")
            ),
        ));
    }
    Ok(content_type)
}

fn same_or_conflict(existing: Image, sha256: &str) -> Result<Image> {
    if existing.sha256 == sha256 {
        return Ok(existing);
    }
    Err(Error::Conflict(format!(
        "job {} already has image {} with sha256 {}; cannot store other bytes (sha256 {sha256}): \
         a job has one image",
        existing.job_id, existing.id, existing.sha256
    )))
}

fn insert(
    db: &dyn Db,
    job: &Job,
    new: &NewImage<'_>,
    content_type: &str,
    sha256: &str,
    now: u64,
) -> Result<Image> {
    let id = new_id("img");
    let params: Vec<Value> = vec![
        id.as_str().into(),
        job.id.as_str().into(),
        job.owner.as_str().into(),
        job.template_id.as_deref().into(),
        job.template_version.into(),
        job.prompt.as_str().into(),
        content_type.into(),
        (new.bytes.len() as u64).into(),
        sha256.into(),
        new.width.into(),
        new.height.into(),
        now.into(),
    ];
    let sql = format!(
        "INSERT INTO job_images ({IMAGE_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) \
         RETURNING {IMAGE_COLUMNS}"
    );
    let rows = db.execute(&sql, &params)?;
    db.execute(
        "INSERT INTO job_image_bytes (image_id, bytes) VALUES (?, ?)",
        &[id.as_str().into(), new.bytes.to_vec().into()],
    )?;
    match rows.first() {
        Some(row) => rows::image(row),
        None => Err(Error::Internal(format!(
            "storing image {id} returned no row"
        ))),
    }
}

/// The image with this id.
pub fn get(db: &dyn Db, id: &str) -> Result<Image> {
    let sql = format!("SELECT {IMAGE_COLUMNS} FROM job_images WHERE id = ?");
    let rows = db.execute(&sql, &[id.into()])?;
    match rows.first() {
        Some(row) => rows::image(row),
        None => Err(not_found(id)),
    }
}

/// The stored bytes of the image with this id.
pub fn bytes(db: &dyn Db, id: &str) -> Result<Vec<u8>> {
    let rows = db.execute(
        "SELECT bytes FROM job_image_bytes WHERE image_id = ?",
        &[id.into()],
    )?;
    match rows.first() {
        Some(row) => Ok(row.get("bytes")?),
        None => Err(not_found(id)),
    }
}

/// Images matching `filter`, newest first.
pub fn list(db: &dyn Db, filter: &ImageFilter) -> Result<ImagePage> {
    let limit = validate::page_limit(filter.limit)?;
    let after = validate::cursor_key(filter.cursor.as_deref(), "img")?;
    let clause = Where::default()
        .eq("template_id", filter.template_id.as_deref())
        .eq("job_id", filter.job_id.as_deref())
        .eq("owner", filter.owner.as_deref())
        .before("id", after);
    let sql = format!(
        "SELECT {IMAGE_COLUMNS} FROM job_images{} ORDER BY id DESC LIMIT ?",
        clause.sql()
    );
    let rows = db.execute(&sql, &clause.params_with([(limit + 1).into()]))?;
    let images = rows.iter().map(rows::image).collect::<Result<Vec<_>>>()?;
    let (items, next_cursor) = query::page(images, limit, |image| &image.id);
    Ok(ImagePage { items, next_cursor })
}

/// Checks that image `image_id` exists and belongs to job `job_id`.
pub fn ensure_of_job(db: &dyn Db, image_id: &str, job_id: &str) -> Result<()> {
    let image = get(db, image_id)?;
    if image.job_id == job_id {
        return Ok(());
    }
    Err(Error::invalid(
        "image_id",
        "image_of_other_job",
        format!(
            "image {image_id} belongs to job {}, not job {job_id}; pass the image stored for \
             this job",
            image.job_id
        ),
    ))
}

fn find_by_job(db: &dyn Db, job_id: &str) -> Result<Option<Image>> {
    let sql = format!("SELECT {IMAGE_COLUMNS} FROM job_images WHERE job_id = ?");
    let rows = db.execute(&sql, &[job_id.into()])?;
    rows.first().map(rows::image).transpose()
}

fn not_found(id: &str) -> Error {
    Error::NotFound(format!("image {id} does not exist"))
}

#[cfg(test)]
mod tests;
