//! The host side of `wasi:keyvalue@0.2.0-draft2`: store, atomics and batch.

use wasmtime::component::{Resource, ResourceTableError};

use super::bindings::wasi::keyvalue::{atomics, batch, store};
use super::{Cas, KeyValueView, KvError, OpenStore, Refusal, Swap, guest_message};

type WitResult<T> = wasmtime::Result<Result<T, store::Error>>;

/// A backend failure as the guest sees it, or a trap for a host failure.
fn failed<T>(e: KvError) -> WitResult<T> {
    Ok(Err(store::Error::Other(guest_message(e)?)))
}

/// Maps a backend result onto the guest's result.
fn answer<T>(result: Result<T, KvError>) -> WitResult<T> {
    match result {
        Ok(value) => Ok(Ok(value)),
        Err(e) => failed(e),
    }
}

impl store::Host for KeyValueView<'_> {
    async fn open(&mut self, identifier: String) -> WitResult<Resource<OpenStore>> {
        let bucket = match self.open_store(&identifier) {
            Ok(bucket) => bucket,
            Err(Refusal::AccessDenied) => return Ok(Err(store::Error::AccessDenied)),
            Err(Refusal::NoSuchStore) => return Ok(Err(store::Error::NoSuchStore)),
        };
        match self.table.push(bucket) {
            Ok(bucket) => Ok(Ok(bucket)),
            Err(ResourceTableError::Full) => Ok(Err(store::Error::Other(
                "too many open buckets; drop one first".into(),
            ))),
            Err(e) => Err(e.into()),
        }
    }
}

impl store::HostBucket for KeyValueView<'_> {
    async fn get(
        &mut self,
        bucket: Resource<OpenStore>,
        key: String,
    ) -> WitResult<Option<Vec<u8>>> {
        answer(self.backend(&bucket)?.get(key).await)
    }

    async fn set(
        &mut self,
        bucket: Resource<OpenStore>,
        key: String,
        value: Vec<u8>,
    ) -> WitResult<()> {
        answer(self.backend(&bucket)?.set(key, value).await)
    }

    async fn delete(&mut self, bucket: Resource<OpenStore>, key: String) -> WitResult<()> {
        answer(self.backend(&bucket)?.delete(key).await)
    }

    async fn exists(&mut self, bucket: Resource<OpenStore>, key: String) -> WitResult<bool> {
        answer(self.backend(&bucket)?.exists(key).await)
    }

    /// All keys after `cursor` in one page; the returned cursor is always `none`.
    async fn list_keys(
        &mut self,
        bucket: Resource<OpenStore>,
        cursor: Option<String>,
    ) -> WitResult<store::KeyResponse> {
        let keys = match self.backend(&bucket)?.keys().await {
            Ok(keys) => keys,
            Err(e) => return failed(e),
        };
        let keys = match cursor {
            Some(after) => keys.into_iter().filter(|k| *k > after).collect(),
            None => keys,
        };
        Ok(Ok(store::KeyResponse { keys, cursor: None }))
    }

    async fn drop(&mut self, bucket: Resource<OpenStore>) -> wasmtime::Result<()> {
        self.table.delete(bucket)?;
        Ok(())
    }
}

impl atomics::Host for KeyValueView<'_> {
    async fn increment(
        &mut self,
        bucket: Resource<OpenStore>,
        key: String,
        delta: i64,
    ) -> WitResult<i64> {
        answer(self.backend(&bucket)?.increment(key, delta).await)
    }

    async fn swap(
        &mut self,
        cas: Resource<Cas>,
        value: Vec<u8>,
    ) -> wasmtime::Result<Result<(), atomics::CasError>> {
        let Cas {
            backend,
            key,
            current,
        } = self.table.delete(cas)?;
        match backend.swap(key.clone(), current, value).await {
            Ok(Swap::Done) => Ok(Ok(())),
            Ok(Swap::Stale(now)) => {
                let renewed = self.table.push(Cas {
                    backend,
                    key,
                    current: now,
                })?;
                Ok(Err(atomics::CasError::CasFailed(renewed)))
            }
            Err(e) => Ok(Err(atomics::CasError::StoreError(store::Error::Other(
                guest_message(e)?,
            )))),
        }
    }
}

impl atomics::HostCas for KeyValueView<'_> {
    async fn new(&mut self, bucket: Resource<OpenStore>, key: String) -> WitResult<Resource<Cas>> {
        let backend = self.backend(&bucket)?;
        let current = match backend.get(key.clone()).await {
            Ok(current) => current,
            Err(e) => return failed(e),
        };
        Ok(Ok(self.table.push(Cas {
            backend,
            key,
            current,
        })?))
    }

    async fn current(&mut self, cas: Resource<Cas>) -> WitResult<Option<Vec<u8>>> {
        Ok(Ok(self.table.get(&cas)?.current.clone()))
    }

    async fn drop(&mut self, cas: Resource<Cas>) -> wasmtime::Result<()> {
        self.table.delete(cas)?;
        Ok(())
    }
}

impl batch::Host for KeyValueView<'_> {
    async fn get_many(
        &mut self,
        bucket: Resource<OpenStore>,
        keys: Vec<String>,
    ) -> WitResult<Vec<(String, Option<Vec<u8>>)>> {
        answer(self.backend(&bucket)?.get_many(keys).await)
    }

    async fn set_many(
        &mut self,
        bucket: Resource<OpenStore>,
        key_values: Vec<(String, Vec<u8>)>,
    ) -> WitResult<()> {
        answer(self.backend(&bucket)?.set_many(key_values).await)
    }

    async fn delete_many(
        &mut self,
        bucket: Resource<OpenStore>,
        keys: Vec<String>,
    ) -> WitResult<()> {
        answer(self.backend(&bucket)?.delete_many(keys).await)
    }
}

#[cfg(test)]
mod tests {
    use atomics::{Host as _, HostCas as _};
    use batch::Host as _;
    use store::{Host as _, HostBucket as _};
    use wasmtime::component::ResourceTable;

    use super::*;
    use crate::capability::key_value::testing::{default_stores, grants};

    fn again<T: 'static>(r: &Resource<T>) -> Resource<T> {
        Resource::new_borrow(r.rep())
    }

    #[tokio::test]
    async fn cas_swaps_once_then_hands_back_a_fresh_handle() {
        let dir = tempfile::tempdir().expect("a temp folder");
        let stores = default_stores(&dir).await;
        let grants = grants(&["default"]);
        let mut table = ResourceTable::new();
        let mut view = KeyValueView {
            component: "gateway",
            grants: &grants,
            stores: &stores,
            table: &mut table,
        };
        let bucket = view
            .open("default".into())
            .await
            .expect("no trap")
            .expect("granted");
        view.set(again(&bucket), "k".into(), b"v1".to_vec())
            .await
            .expect("no trap")
            .expect("set");

        let first = view
            .new(again(&bucket), "k".into())
            .await
            .expect("no trap")
            .expect("cas");
        let second = view
            .new(again(&bucket), "k".into())
            .await
            .expect("no trap")
            .expect("cas");
        let seen = view
            .current(again(&first))
            .await
            .expect("no trap")
            .expect("current");
        let won = view.swap(first, b"v2".to_vec()).await.expect("no trap");
        let lost = view.swap(second, b"v3".to_vec()).await.expect("no trap");

        assert_eq!(seen, Some(b"v1".to_vec()));
        assert!(won.is_ok());
        let Err(atomics::CasError::CasFailed(fresh)) = lost else {
            panic!("the second swap is stale")
        };
        let latest = view
            .current(again(&fresh))
            .await
            .expect("no trap")
            .expect("current");
        assert_eq!(latest, Some(b"v2".to_vec()));
        assert!(
            view.swap(fresh, b"v3".to_vec())
                .await
                .expect("no trap")
                .is_ok()
        );
        let got = view
            .get(again(&bucket), "k".into())
            .await
            .expect("no trap")
            .expect("get");
        assert_eq!(got, Some(b"v3".to_vec()));
    }

    #[tokio::test]
    async fn increment_batches_and_key_listing_share_the_bucket() {
        let dir = tempfile::tempdir().expect("a temp folder");
        let stores = default_stores(&dir).await;
        let grants = grants(&["default"]);
        let mut table = ResourceTable::new();
        let mut view = KeyValueView {
            component: "gateway",
            grants: &grants,
            stores: &stores,
            table: &mut table,
        };
        let bucket = view
            .open("default".into())
            .await
            .expect("no trap")
            .expect("granted");

        let pairs = vec![
            ("a".to_string(), b"1".to_vec()),
            ("b".to_string(), b"2".to_vec()),
        ];
        view.set_many(again(&bucket), pairs)
            .await
            .expect("no trap")
            .expect("set_many");
        let n = view
            .increment(again(&bucket), "n".into(), 5)
            .await
            .expect("no trap")
            .expect("incr");
        let after_a = view
            .list_keys(again(&bucket), Some("a".into()))
            .await
            .expect("no trap");
        view.delete_many(again(&bucket), vec!["a".into()])
            .await
            .expect("no trap")
            .expect("delete");
        let many = view
            .get_many(again(&bucket), vec!["a".into(), "n".into()])
            .await
            .expect("no trap");

        assert_eq!(n, 5);
        let after_a = after_a.expect("list works");
        assert_eq!(
            (after_a.keys, after_a.cursor),
            (vec!["b".to_string(), "n".to_string()], None)
        );
        assert_eq!(
            many.expect("get_many works"),
            [("a".into(), None), ("n".into(), Some(b"5".to_vec()))]
        );
        let denied = view.open("other".into()).await.expect("no trap");
        assert!(matches!(denied, Err(store::Error::AccessDenied)));
    }
}
