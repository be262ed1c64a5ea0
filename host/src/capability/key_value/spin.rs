//! The host side of `fermyon:spin/key-value@2.0.0`.

use wasmtime::component::{Resource, ResourceTableError};

use super::bindings::fermyon::spin2_0_0::key_value::{Error, Host, HostStore};
use super::{KeyValueView, KvError, OpenStore, Refusal, guest_message};

type WitResult<T> = wasmtime::Result<Result<T, Error>>;

/// A backend result as the guest sees it; a host failure traps.
fn answer<T>(result: Result<T, KvError>) -> WitResult<T> {
    match result {
        Ok(value) => Ok(Ok(value)),
        Err(e) => Ok(Err(Error::Other(guest_message(e)?))),
    }
}

impl Host for KeyValueView<'_> {}

impl HostStore for KeyValueView<'_> {
    async fn open(&mut self, label: String) -> WitResult<Resource<OpenStore>> {
        let store = match self.open_store(&label) {
            Ok(store) => store,
            Err(Refusal::AccessDenied) => return Ok(Err(Error::AccessDenied)),
            Err(Refusal::NoSuchStore) => return Ok(Err(Error::NoSuchStore)),
        };
        match self.table.push(store) {
            Ok(store) => Ok(Ok(store)),
            Err(ResourceTableError::Full) => Ok(Err(Error::StoreTableFull)),
            Err(e) => Err(e.into()),
        }
    }

    async fn get(&mut self, store: Resource<OpenStore>, key: String) -> WitResult<Option<Vec<u8>>> {
        answer(self.backend(&store)?.get(key).await)
    }

    async fn set(
        &mut self,
        store: Resource<OpenStore>,
        key: String,
        value: Vec<u8>,
    ) -> WitResult<()> {
        answer(self.backend(&store)?.set(key, value).await)
    }

    async fn delete(&mut self, store: Resource<OpenStore>, key: String) -> WitResult<()> {
        answer(self.backend(&store)?.delete(key).await)
    }

    async fn exists(&mut self, store: Resource<OpenStore>, key: String) -> WitResult<bool> {
        answer(self.backend(&store)?.exists(key).await)
    }

    async fn get_keys(&mut self, store: Resource<OpenStore>) -> WitResult<Vec<String>> {
        answer(self.backend(&store)?.keys().await)
    }

    async fn drop(&mut self, store: Resource<OpenStore>) -> wasmtime::Result<()> {
        self.table.delete(store)?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use wasmtime::component::ResourceTable;

    use super::*;
    use crate::capability::key_value::testing::{default_stores, grants};

    fn again(store: &Resource<OpenStore>) -> Resource<OpenStore> {
        Resource::new_borrow(store.rep())
    }

    #[tokio::test]
    async fn a_component_uses_a_granted_store_through_the_host_interface() {
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
        let store = view
            .open("default".into())
            .await
            .expect("no trap")
            .expect("granted");

        view.set(again(&store), "k".into(), b"v".to_vec())
            .await
            .expect("no trap")
            .expect("set");
        let got = view
            .get(again(&store), "k".into())
            .await
            .expect("no trap")
            .expect("get");
        let keys = view
            .get_keys(again(&store))
            .await
            .expect("no trap")
            .expect("keys");
        view.delete(again(&store), "k".into())
            .await
            .expect("no trap")
            .expect("delete");
        let exists = view
            .exists(again(&store), "k".into())
            .await
            .expect("no trap")
            .expect("exists");

        assert_eq!(got, Some(b"v".to_vec()));
        assert_eq!(keys, ["k"]);
        assert!(!exists);
        view.drop(store).await.expect("the store is in the table");
    }

    #[tokio::test]
    async fn stores_not_granted_are_access_denied() {
        let dir = tempfile::tempdir().expect("a temp folder");
        let stores = default_stores(&dir).await;
        let grants = grants(&[]);
        let mut table = ResourceTable::new();
        let mut view = KeyValueView {
            component: "gateway",
            grants: &grants,
            stores: &stores,
            table: &mut table,
        };

        let opened = view.open("default".into()).await.expect("no trap");

        assert!(matches!(opened, Err(Error::AccessDenied)));
    }
}
