use super::*;
use crate::model::Tier;
use crate::testing::{self, submit};

const BYTES: &[u8] = b"\x89PNG\r\n\x1a\nfirst";

fn png<'a>(job_id: &'a str, bytes: &'a [u8]) -> NewImage<'a> {
    NewImage {
        job_id,
        content_type: "Image/PNG",
        width: 64,
        height: 32,
        bytes,
    }
}

/// A job that has been leased, so it may store an image.
fn running_job(db: &dyn Db) -> Job {
    let job = submit_on(db);
    crate::lease::lease(db, &testing::config(100), "w", testing::LEASE_MS, 1)
        .expect("lease")
        .expect("the job");
    job
}

fn submit_on(db: &dyn Db) -> Job {
    jobs::submit(
        db,
        &testing::config(100),
        testing::new_job("key_1", Tier::Premium),
        0,
    )
    .expect("room")
    .job
}

#[test]
fn a_stored_image_keeps_the_jobs_owner_template_and_prompt_and_the_digest() {
    let db = testing::db();
    let job = running_job(&db);
    let image = store(&db, png(&job.id, BYTES), 7).expect("store");
    assert_eq!(
        image,
        Image {
            id: image.id.clone(),
            job_id: job.id.clone(),
            owner: "key_1".into(),
            template_id: Some("tpl_01JDZ8Q3T5KX7Y2M4N6P8R0S9V".into()),
            template_version: Some(3),
            prompt: "a red fox in snow --ar 16:9".into(),
            content_type: "image/png".into(),
            size: BYTES.len() as u64,
            sha256: hex::encode(Sha256::digest(BYTES)),
            width: 64,
            height: 32,
            created_at: 7,
        }
    );
    assert_eq!(get(&db, &image.id), Ok(image.clone()));
    assert_eq!(bytes(&db, &image.id), Ok(BYTES.to_vec()));
}

#[test]
fn storing_the_same_bytes_again_returns_the_first_image() {
    let db = testing::db();
    let job = running_job(&db);
    let first = store(&db, png(&job.id, BYTES), 7).expect("store");
    let again = store(&db, png(&job.id, BYTES), 9).expect("a retry");
    assert_eq!(again, first);
    let other = store(&db, png(&job.id, b"other bytes"), 9).expect_err("other bytes");
    assert!(matches!(other, Error::Conflict(_)), "{other:?}");
}

#[test]
fn only_running_or_storing_jobs_store_an_image() {
    let db = testing::db();
    let queued = submit(&db, Tier::Free, 0);
    let error = store(&db, png(&queued.id, BYTES), 1).expect_err("queued");
    assert_eq!(
        error,
        Error::Conflict(format!(
            "job {} is queued; cannot store an image: only a running or storing job stores one",
            queued.id
        ))
    );
    let missing = store(&db, png("job_01JDZ8Q3T5KX7Y2M4N6P8R0S9V", BYTES), 1);
    assert_eq!(
        missing,
        Err(Error::NotFound(
            "job job_01JDZ8Q3T5KX7Y2M4N6P8R0S9V does not exist".into()
        ))
    );
}

#[test]
fn empty_bytes_zero_sizes_and_unknown_types_are_refused() {
    let db = testing::db();
    let job = running_job(&db);
    let code_of = |new: NewImage<'_>| match store(&db, new, 1) {
        Err(Error::Invalid(f)) => (f.field, f.code),
        other => panic!("expected a field error, got {other:?}"),
    };
    assert_eq!(
        code_of(png(&job.id, b"")),
        ("bytes".into(), "empty_image".into())
    );
    let mut flat = png(&job.id, BYTES);
    flat.height = 0;
    assert_eq!(code_of(flat), ("height".into(), "invalid_dimension".into()));
    let mut gif = png(&job.id, BYTES);
    gif.content_type = "image/gif";
    assert_eq!(
        code_of(gif),
        ("content_type".into(), "unsupported_content_type".into())
    );
    assert_eq!(
        list(
            &db,
            &ImageFilter {
                limit: 10,
                ..ImageFilter::default()
            }
        )
        .expect("list")
        .items,
        vec![]
    );
}

#[test]
fn listing_filters_by_job_template_and_owner() {
    let db = testing::db();
    let first = running_job(&db);
    let second = running_job(&db);
    let a = store(&db, png(&first.id, b"a"), 1).expect("a");
    let b = store(&db, png(&second.id, b"b"), 2).expect("b");
    let ids = |filter: ImageFilter| -> Vec<String> {
        list(
            &db,
            &ImageFilter {
                limit: 10,
                ..filter
            },
        )
        .expect("list")
        .items
        .into_iter()
        .map(|i| i.id)
        .collect()
    };
    assert_eq!(ids(ImageFilter::default()), [b.id.clone(), a.id.clone()]);
    assert_eq!(
        ids(ImageFilter {
            job_id: Some(first.id.clone()),
            ..ImageFilter::default()
        }),
        [a.id.clone()]
    );
    assert_eq!(
        ids(ImageFilter {
            template_id: Some("tpl_01JDZ8Q3T5KX7Y2M4N6P8R0S9V".into()),
            ..ImageFilter::default()
        }),
        [b.id.clone(), a.id.clone()]
    );
    assert_eq!(
        ids(ImageFilter {
            owner: Some("key_2".into()),
            ..ImageFilter::default()
        }),
        Vec::<String>::new()
    );
    let page = list(
        &db,
        &ImageFilter {
            limit: 1,
            ..ImageFilter::default()
        },
    )
    .expect("page");
    assert_eq!(page.items[0].id, b.id);
    let rest = list(
        &db,
        &ImageFilter {
            limit: 1,
            cursor: page.next_cursor,
            ..ImageFilter::default()
        },
    )
    .expect("next page");
    assert_eq!(
        (rest.items[0].id.as_str(), rest.next_cursor),
        (a.id.as_str(), None)
    );
}

#[test]
fn missing_images_are_not_found() {
    let db = testing::db();
    let id = "img_01JDZ8Q3T5KX7Y2M4N6P8R0S9V";
    let expected = Error::NotFound(format!("image {id} does not exist"));
    assert_eq!(get(&db, id), Err(expected.clone()));
    assert_eq!(bytes(&db, id), Err(expected));
}
