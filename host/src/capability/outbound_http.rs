//! Outbound HTTP (`wasi:http/outgoing-handler`): the component's `allowed_outbound_hosts`
//! decide what may leave, and `self` or `<id>.spin.internal` never leave the process.

use std::sync::Arc;
use std::time::Duration;

use http::Request;
use tracing::Instrument;
use wasmtime_wasi_http::{Error, RequestOptions, WasiBody, WasiHttpHooks};

use crate::allowed_hosts::Destination;
use crate::app::Network;
use crate::deadline::Deadline;
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
    /// The deadline of the call the store serves; no request waits past it.
    deadline: Deadline,
}

impl OutboundHttp {
    pub fn new(
        component: String,
        grants: Arc<Grants>,
        network: Network,
        deadline: Deadline,
    ) -> Self {
        OutboundHttp {
            component,
            grants,
            network,
            deadline,
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

/// The guest's request options with every wait cut to `remaining`, the time left of the
/// call's budget: a provider that never answers cannot hold the instance past it.
fn within_budget(options: Option<RequestOptions>, remaining: Duration) -> RequestOptions {
    let options = options.unwrap_or_default();
    let cap = |wait: Option<Duration>| Some(wait.map_or(remaining, |w| w.min(remaining)));
    RequestOptions {
        connect_timeout: cap(options.connect_timeout),
        first_byte_timeout: cap(options.first_byte_timeout),
        between_bytes_timeout: cap(options.between_bytes_timeout),
    }
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
        // The returned future runs on a task of its own; it logs in the caller's request.
        let span = tracing::Span::current();
        if is_internal(&dest.host) {
            return self.send_internal(dest, request, span);
        }
        let options = within_budget(options, self.deadline.remaining());
        Box::new(
            async move {
                use http_body_util::BodyExt;
                let (response, io) =
                    wasmtime_wasi_http::default_send_request(request, Some(options)).await?;
                let io: Box<dyn Future<Output = Result<(), Error>> + Send> = Box::new(io);
                Ok((response.map(BodyExt::boxed_unsync), io))
            }
            .instrument(span),
        )
    }
}

impl OutboundHttp {
    /// Serves `http://self` and `http://<id>.spin.internal` in process, within what is left
    /// of this call's budget.
    fn send_internal(
        &self,
        dest: Destination,
        request: Request<WasiBody>,
        span: tracing::Span,
    ) -> ResponseFuture {
        let dispatcher = self.network.get().and_then(|w| w.upgrade());
        let caller = self.component.clone();
        let deadline = self.deadline;
        let served = async move {
            let dispatcher = dispatcher.ok_or(Error::DestinationUnavailable)?;
            match dispatcher
                .handle_internal(&caller, &dest.host, request, deadline)
                .await
            {
                None => Err(Error::DestinationNotFound),
                Some(Err(e)) => Err(Error::InternalError(Some(e.public_message()))),
                Some(Ok(response)) => {
                    let done: Box<dyn Future<Output = Result<(), Error>> + Send> =
                        Box::new(async { Ok(()) });
                    Ok((response, done))
                }
            }
        };
        Box::new(served.instrument(span))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const SECOND: Duration = Duration::from_secs(1);

    #[test]
    fn request_without_options_waits_at_most_the_remaining_budget() {
        let options = within_budget(None, SECOND);
        let expected = RequestOptions {
            connect_timeout: Some(SECOND),
            first_byte_timeout: Some(SECOND),
            between_bytes_timeout: Some(SECOND),
        };
        assert_eq!(options, expected);
    }

    #[test]
    fn guest_options_shorter_than_the_budget_are_kept() {
        let guest = RequestOptions {
            connect_timeout: Some(Duration::from_millis(200)),
            first_byte_timeout: Some(Duration::from_secs(600)),
            between_bytes_timeout: None,
        };
        let options = within_budget(Some(guest), SECOND);
        let expected = RequestOptions {
            connect_timeout: Some(Duration::from_millis(200)),
            first_byte_timeout: Some(SECOND),
            between_bytes_timeout: Some(SECOND),
        };
        assert_eq!(options, expected);
    }
}
