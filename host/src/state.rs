//! What each wasmtime store carries: WASI contexts, limits, and the capability view of the
//! component that runs in it.

use std::collections::BTreeMap;
use std::sync::Arc;

use wasmtime::component::ResourceTable;
use wasmtime::{StoreLimits, StoreLimitsBuilder};
use wasmtime_wasi::{WasiCtx, WasiCtxView, WasiView};
use wasmtime_wasi_http::{WasiHttpCtx, WasiHttpCtxView, WasiHttpView};

use crate::allowed_hosts::AllowedHosts;
use crate::capability::Services;
use crate::capability::outbound_http::OutboundHttp;
use crate::deadline::Deadline;

/// The permissions a component runs with: what the manifest grants it, or, for a
/// dependency, what its importer lends it.
#[derive(Debug, Clone, Default)]
pub struct Grants {
    /// Component whose manifest entry these grants come from (for error messages).
    pub granted_by: String,
    /// `allowed_outbound_hosts`, parsed.
    pub allowed_outbound_hosts: AllowedHosts,
    /// `key_value_stores` labels.
    pub key_value_stores: Vec<String>,
    /// `sqlite_databases` labels.
    pub sqlite_databases: Vec<String>,
    /// Component variables, name to template (`{{ app_var }}` references unresolved).
    pub variables: BTreeMap<String, String>,
}

impl Grants {
    /// The grants of a dependency that does not inherit its importer's configuration.
    pub fn none(granted_by: &str) -> Self {
        Grants {
            granted_by: granted_by.to_string(),
            ..Default::default()
        }
    }
}

/// Identity and permissions of the component instance running in a store.
#[derive(Debug, Clone)]
pub struct Identity {
    /// Component id from the manifest.
    pub component: String,
    /// What this instance may use.
    pub grants: Arc<Grants>,
}

/// Memory and table limits applied to every store.
#[derive(Debug, Clone, Copy)]
pub struct InstanceLimits {
    /// Linear memory per instance, in bytes.
    pub memory_bytes: usize,
    /// Table elements per instance.
    pub table_elements: usize,
}

/// The `T` of every `Store<T>` the host creates.
pub struct StoreState {
    pub identity: Identity,
    /// When the call this store serves must end; calls it makes end no later.
    pub deadline: Deadline,
    pub services: Arc<Services>,
    pub wasi: WasiCtx,
    pub http: WasiHttpCtx,
    pub table: ResourceTable,
    pub limits: StoreLimits,
    pub outbound: OutboundHttp,
}

impl StoreState {
    /// A fresh store state for one call into `identity.component`, due by `deadline`.
    pub fn new(
        identity: Identity,
        deadline: Deadline,
        services: Arc<Services>,
        wasi: WasiCtx,
        limits: InstanceLimits,
        outbound: OutboundHttp,
    ) -> Self {
        let limits = StoreLimitsBuilder::new()
            .memory_size(limits.memory_bytes)
            .table_elements(limits.table_elements)
            .instances(64)
            .trap_on_grow_failure(false)
            .build();
        StoreState {
            identity,
            deadline,
            services,
            wasi,
            http: WasiHttpCtx::new(),
            table: ResourceTable::new(),
            limits,
            outbound,
        }
    }

    /// The grants this instance runs with.
    pub fn grants(&self) -> &Grants {
        &self.identity.grants
    }
}

impl WasiView for StoreState {
    fn ctx(&mut self) -> WasiCtxView<'_> {
        WasiCtxView {
            ctx: &mut self.wasi,
            table: &mut self.table,
        }
    }
}

impl WasiHttpView for StoreState {
    fn http(&mut self) -> WasiHttpCtxView<'_> {
        WasiHttpCtxView {
            ctx: &mut self.http,
            table: &mut self.table,
            hooks: &mut self.outbound,
        }
    }
}
