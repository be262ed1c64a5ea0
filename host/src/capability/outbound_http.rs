//! Outbound HTTP (`wasi:http/outgoing-handler`): the component's `allowed_outbound_hosts`
//! decide what may leave, and `self` or `<id>.spin.internal` never leave the process.

use std::sync::Arc;

use http::Request;
use wasmtime_wasi_http::{Error, RequestOptions, WasiBody, WasiHttpHooks};

use crate::allowed_hosts::Destination;
use crate::app::Network;
use crate::state::Grants;

type ResponseFuture = Box<
    dyn Future<
            Output = wasmtime_wasi_http::Result<(
                http::Response<WasiBody>,
                Box<dyn Future<Output = Result<(), Error>> + Send>,
            )>,
        > + Send,
>;

/// The outbound HTTP hooks of one store.
pub struct OutboundHttp {
    component: String,
    grants: Arc<Grants>,
    network: Network,
}

impl OutboundHttp {
    pub fn new(component: String, grants: Arc<Grants>, network: Network) -> Self {
        OutboundHttp {
            component,
            grants,
            network,
        }
    }

    /// Whether the grants admit `dest`; logs the fix when they do not.
    fn permitted(&self, dest: &Destination) -> bool {
        let allowed =
            self.grants
                .allowed_outbound_hosts
                .allows(&dest.scheme, &dest.host, dest.port);
        if !allowed {
            tracing::warn!(
                component = %self.component,
                destination = %dest.entry(),
                "Outbound request denied: destination `{}` is not allowed; add \"{}\" to \
                 allowed_outbound_hosts of [component.{}] in the manifest",
                dest.entry(),
                dest.entry(),
                self.grants.granted_by,
            );
        }
        allowed
    }
}

fn destination(req: &Request<WasiBody>) -> Option<Destination> {
    let uri = req.uri();
    let scheme = uri.scheme_str().unwrap_or("https");
    let host = uri.host()?;
    let port = uri
        .port_u16()
        .or_else(|| crate::allowed_hosts::default_port(scheme))?;
    Some(Destination {
        scheme: scheme.to_string(),
        host: host.to_ascii_lowercase(),
        port,
    })
}

fn is_internal(host: &str) -> bool {
    host == "self" || host.ends_with(".spin.internal")
}

impl WasiHttpHooks for OutboundHttp {
    fn send_request(
        &mut self,
        request: Request<WasiBody>,
        options: Option<RequestOptions>,
        _fut: Box<dyn Future<Output = Result<(), Error>> + Send>,
    ) -> ResponseFuture {
        let Some(dest) = destination(&request) else {
            return Box::new(async { Err(Error::HttpRequestUriInvalid) });
        };
        if !self.permitted(&dest) {
            return Box::new(async { Err(Error::HttpRequestDenied) });
        }
        if is_internal(&dest.host) {
            let dispatcher = self.network.get().and_then(|w| w.upgrade());
            let caller = self.component.clone();
            return Box::new(async move {
                let dispatcher = dispatcher.ok_or(Error::DestinationUnavailable)?;
                match dispatcher
                    .handle_internal(&caller, &dest.host, request)
                    .await
                {
                    None => Err(Error::DestinationNotFound),
                    Some(Err(e)) => Err(Error::InternalError(Some(e.to_string()))),
                    Some(Ok(response)) => {
                        let done: Box<dyn Future<Output = Result<(), Error>> + Send> =
                            Box::new(async { Ok(()) });
                        Ok((response, done))
                    }
                }
            });
        }
        Box::new(async move {
            use http_body_util::BodyExt;
            let (response, io) = wasmtime_wasi_http::default_send_request(request, options).await?;
            let io: Box<dyn Future<Output = Result<(), Error>> + Send> = Box::new(io);
            Ok((response.map(BodyExt::boxed_unsync), io))
        })
    }
}
