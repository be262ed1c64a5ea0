//! The HTTP trigger: a hyper server (HTTP/1.1 and HTTP/2) that routes each request to a
//! component as Spin does, and the in-process network behind `http://self` and
//! `http://<component>.spin.internal`.

use std::collections::BTreeMap;
use std::convert::Infallible;
use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use bytes::Bytes;
use http::{HeaderValue, Request, Response, StatusCode};
use http_body_util::{BodyExt, Full, Limited};
use hyper::body::{Body, Incoming};
use hyper_util::rt::{TokioExecutor, TokioIo};
use tokio::net::TcpListener;
use tracing::Instrument;
use wasmtime_wasi_http::WasiHttpView;
use wasmtime_wasi_http::p2::bindings::ProxyPre;
use wasmtime_wasi_http::p2::bindings::http::types::Scheme;
use wasmtime_wasi_http::p2::body::HyperOutgoingBody;

use super::router::{RouteMatch, Router};
use crate::app::ComponentRuntime;
use crate::deadline::{Deadline, DeadlineExceeded};
use crate::mesh::{EdgeKey, Mesh, Outcome};
use crate::state::Grants;

/// Path prefix of the host's own endpoints, which no component route can shadow.
pub const HOST_PREFIX: &str = "/.well-known/prompt-mesh/";

/// Where a request came from, for the `spin-client-addr` header and the mesh.
#[derive(Debug, Clone)]
pub enum Origin {
    /// A client over the network.
    Client(SocketAddr),
    /// A component of this application, by id.
    Component(String),
}

/// Why a request produced no response from its component.
#[derive(Debug, thiserror::Error)]
pub enum ServeError {
    #[error("component `{component}` has no HTTP handler: {reason}")]
    NotHttp { component: String, reason: String },
    #[error("component `{component}` failed: {reason}")]
    Failed { component: String, reason: String },
    #[error("component `{component}` did not answer within {timeout_ms} ms")]
    TimedOut { component: String, timeout_ms: u128 },
}

/// Routes requests to components; shared by the listener and by outbound HTTP.
pub struct Dispatcher {
    router: Router,
    handlers: BTreeMap<String, Handler>,
    mesh: Arc<Mesh>,
    listen: SocketAddr,
}

struct Handler {
    runtime: Arc<ComponentRuntime>,
    proxy: ProxyPre<crate::state::StoreState>,
    /// The public route, for requests that arrive through service chaining.
    router: Router,
}

impl Dispatcher {
    /// Prepares every component that has an HTTP trigger; `routed` limits the public
    /// routes to the components this host serves.
    pub fn new(app: &crate::app::App, listen: SocketAddr) -> anyhow::Result<Dispatcher> {
        let routed = app
            .manifest
            .http_triggers
            .iter()
            .filter(|t| app.serving.contains(&t.component));
        let router = Router::new(routed);
        let mut handlers = BTreeMap::new();
        for trigger in &app.manifest.http_triggers {
            let runtime = app.component(&trigger.component)?.clone();
            let proxy = ProxyPre::new(runtime.pre.clone()).map_err(|e| ServeError::NotHttp {
                component: trigger.component.clone(),
                reason: format!(
                    "{e:#}; an HTTP-triggered component must export wasi:http/incoming-handler@0.2"
                ),
            })?;
            let router = Router::new([trigger]);
            handlers.insert(
                trigger.component.clone(),
                Handler {
                    runtime,
                    proxy,
                    router,
                },
            );
        }
        Ok(Dispatcher {
            router,
            handlers,
            mesh: app.mesh.clone(),
            listen,
        })
    }

    /// The public routes, in matching order.
    pub fn routes(&self) -> impl Iterator<Item = (&str, &str)> {
        self.router.routes()
    }

    /// Serves one request from a network client, in a `request` span with its id.
    pub async fn handle_client(
        &self,
        req: Request<Incoming>,
        client: SocketAddr,
    ) -> Response<HyperOutgoingBody> {
        let request_id = new_request_id();
        let span = tracing::info_span!(
            "request",
            request.id = %request_id,
            http.method = %req.method(),
            http.path = %req.uri().path(),
        );
        self.route_client(req, client, &request_id)
            .instrument(span)
            .await
    }

    async fn route_client(
        &self,
        req: Request<Incoming>,
        client: SocketAddr,
        request_id: &str,
    ) -> Response<HyperOutgoingBody> {
        let path = req.uri().path().to_string();
        if let Some(endpoint) = path.strip_prefix(HOST_PREFIX) {
            return self.host_endpoint(endpoint);
        }
        let Some(route) = self.router.route(&path) else {
            return plain(StatusCode::NOT_FOUND, "no route matches this path\n");
        };
        let handler = &self.handlers[&route.component];
        let limit = handler.runtime.settings.max_request_body_bytes;
        if declared_length(&req).is_some_and(|n| n > limit) {
            return body_too_large(limit);
        }
        let overflowed = Arc::new(AtomicBool::new(false));
        let req = req.map(|body| limit_body(body, limit, overflowed.clone()));
        let grants = handler.runtime.grants.clone();
        let origin = Origin::Client(client);
        let result = self
            .serve(handler, grants, req, &route, &origin, None)
            .await;

        // A streamed body that passed the limit failed the guest's read of it; whatever the
        // guest made of that, the answer is the one a declared length gets. A guest that
        // answers before it reads its body past the limit keeps its answer.
        if overflowed.load(Ordering::Acquire) {
            return body_too_large(limit);
        }
        result.unwrap_or_else(|e| failure_response(&e, request_id))
    }

    /// Serves a request that a component sent to `http://self` or
    /// `http://<id>.spin.internal`, ending no later than the caller's `deadline`; `None`
    /// when no component answers to that host.
    pub async fn handle_internal<B>(
        &self,
        caller: &str,
        host: &str,
        req: Request<B>,
        deadline: Deadline,
    ) -> Option<Result<Response<HyperOutgoingBody>, ServeError>>
    where
        B: Body<Data = Bytes> + Send + 'static,
        B::Error: Into<wasmtime_wasi_http::Error>,
    {
        let path = req.uri().path().to_string();
        let (handler, route) = if host == "self" {
            let route = self.router.route(&path)?;
            (&self.handlers[&route.component], route)
        } else {
            let id = host.strip_suffix(".spin.internal")?;
            let handler = self.handlers.get(id)?;
            let route = handler.router.route(&path).unwrap_or_else(|| RouteMatch {
                component: id.to_string(),
                raw_route: "/...".into(),
                component_route: String::new(),
                path_info: path.clone(),
            });
            (handler, route)
        };
        let edge = self.mesh.edge(EdgeKey {
            caller: caller.to_string(),
            callee: route.component.clone(),
            interface: "wasi:http/incoming-handler".into(),
        });
        let origin = Origin::Component(caller.to_string());
        let grants = handler.runtime.grants.clone();
        let mut response = None;
        let served = self
            .mesh
            .call(&edge, || async {
                let r = self
                    .serve(handler, grants, req, &route, &origin, Some(deadline))
                    .await?;
                let outcome = if r.status().is_server_error() {
                    Outcome::ErrResult
                } else {
                    Outcome::Ok
                };
                response = Some(r);
                Ok(outcome)
            })
            .await;
        Some(match served {
            Ok(_) => Ok(response.expect("a served call has a response")),
            Err(e) => Err(e
                .downcast::<ServeError>()
                .unwrap_or_else(|e| ServeError::Failed {
                    component: route.component.clone(),
                    reason: format!("{e:#}"),
                })),
        })
    }

    /// Runs `handler`'s component on `req` within its timeout, and no later than `outer`,
    /// the deadline of the component that sent it; logs why when it fails.
    async fn serve<B>(
        &self,
        handler: &Handler,
        grants: Arc<Grants>,
        mut req: Request<B>,
        route: &RouteMatch,
        origin: &Origin,
        outer: Option<Deadline>,
    ) -> Result<Response<HyperOutgoingBody>, ServeError>
    where
        B: Body<Data = Bytes> + Send + 'static,
        B::Error: Into<wasmtime_wasi_http::Error>,
    {
        let runtime = &handler.runtime;
        let deadline = Deadline::within(runtime.settings.timeout, outer);
        set_spin_headers(&mut req, route, origin, self.listen);
        let answer = self.call_guest(handler, grants, req, deadline);
        let result = match deadline.run(&runtime.id, answer).await {
            Ok(result) => result,
            Err(_) => Err(timed_out(&runtime.id, deadline)),
        };
        if let Err(e) = &result {
            log_failure(e);
        }
        result
    }

    /// Starts the guest on a task of its own and waits for the response it sets.
    async fn call_guest<B>(
        &self,
        handler: &Handler,
        grants: Arc<Grants>,
        req: Request<B>,
        deadline: Deadline,
    ) -> Result<Response<HyperOutgoingBody>, ServeError>
    where
        B: Body<Data = Bytes> + Send + 'static,
        B::Error: Into<wasmtime_wasi_http::Error>,
    {
        let component = handler.runtime.id.clone();
        let failed = |e: anyhow::Error| ServeError::Failed {
            component: component.clone(),
            reason: format!("{e:#}"),
        };
        let prepared = handler
            .runtime
            .prepare(grants, deadline)
            .await
            .map_err(failed)?;
        let (mut store, permit) = (prepared.store, prepared.permit);
        let (sender, receiver) = tokio::sync::oneshot::channel();
        let incoming = store
            .data_mut()
            .http()
            .new_incoming_request(Scheme::Http, req)
            .map_err(|e| failed(e.into()))?;
        let outparam = store
            .data_mut()
            .http()
            .new_response_outparam(sender)
            .map_err(|e| failed(e.into()))?;
        let proxy = handler.proxy.clone();
        let id = component.clone();

        // The task may outlive the response, to stream its body, but not the deadline: it
        // drops the instance there, which ends a body still streaming.
        let guest = async move {
            let _permit = permit;
            let call = async {
                let instance = proxy.instantiate_async(&mut store).await?;
                instance
                    .wasi_http_incoming_handler()
                    .call_handle(&mut store, incoming, outparam)
                    .await
            };
            deadline.run(&id, call).await
        };
        let task = tokio::spawn(guest.instrument(tracing::Span::current()));
        match receiver.await {
            Ok(Ok(response)) => Ok(response),
            Ok(Err(code)) => Err(failed(anyhow::anyhow!("responded with error {code:?}"))),
            Err(_) => Err(classify(&component, deadline, task.await)),
        }
    }

    fn host_endpoint(&self, endpoint: &str) -> Response<HyperOutgoingBody> {
        match endpoint {
            "metrics" => plain(StatusCode::OK, &self.mesh.render_prometheus()),
            "health" => plain(StatusCode::OK, "ok\n"),
            _ => plain(StatusCode::NOT_FOUND, "no such host endpoint\n"),
        }
    }
}

/// Why a guest ended without setting a response.
fn classify(
    component: &str,
    deadline: Deadline,
    joined: Result<Result<wasmtime::Result<()>, DeadlineExceeded>, tokio::task::JoinError>,
) -> ServeError {
    let error = match joined {
        Ok(Ok(Ok(()))) => anyhow::anyhow!("the component returned without setting a response"),
        Ok(Err(_)) => return timed_out(component, deadline),
        // The epoch deadline's trap; a linked callee's timeout is a failure of this call.
        Ok(Ok(Err(e)))
            if e.downcast_ref::<DeadlineExceeded>()
                .is_some_and(|d| d.component == component) =>
        {
            return timed_out(component, deadline);
        }
        Ok(Ok(Err(e))) => anyhow::Error::from(e),
        Err(e) => anyhow::anyhow!("the call panicked in the host: {e}"),
    };
    ServeError::Failed {
        component: component.to_string(),
        reason: format!("{error:#}"),
    }
}

fn timed_out(component: &str, deadline: Deadline) -> ServeError {
    ServeError::TimedOut {
        component: component.to_string(),
        timeout_ms: deadline.budget().as_millis(),
    }
}

/// Logs a failed call with everything the client is not told; the request span adds the
/// request id.
fn log_failure(error: &ServeError) {
    match error {
        ServeError::TimedOut {
            component,
            timeout_ms,
        } => tracing::info!(component = %component, timeout_ms, "Component call timed out"),
        ServeError::Failed { component, reason } | ServeError::NotHttp { component, reason } => {
            tracing::info!(component = %component, error = %reason, "Component call failed")
        }
    }
}

impl ServeError {
    /// What a caller outside the host may be told: the component and what went wrong, and
    /// none of its internals (traps, backtraces, host errors), which only the log gets.
    pub fn public_message(&self) -> String {
        match self {
            ServeError::TimedOut { .. } => self.to_string(),
            ServeError::Failed { component, .. } | ServeError::NotHttp { component, .. } => {
                format!("component `{component}` failed")
            }
        }
    }
}

/// The response a client gets when its component failed, naming the request whose log
/// holds the details.
pub fn failure_response(error: &ServeError, request_id: &str) -> Response<HyperOutgoingBody> {
    match error {
        ServeError::TimedOut { .. } => plain(StatusCode::GATEWAY_TIMEOUT, &format!("{error}\n")),
        _ => plain(
            StatusCode::INTERNAL_SERVER_ERROR,
            &format!(
                "500 Internal Server Error: {}; see request {request_id} in the host log\n",
                error.public_message()
            ),
        ),
    }
}

/// The answer to a request body over `limit` bytes, declared or streamed.
fn body_too_large(limit: u64) -> Response<HyperOutgoingBody> {
    plain(
        StatusCode::PAYLOAD_TOO_LARGE,
        &format!("request body over {limit} bytes\n"),
    )
}

/// A request id for the logs and the failure responses: 16 random hex digits.
fn new_request_id() -> String {
    format!("{:016x}", rand::random::<u64>())
}

fn plain(status: StatusCode, text: &str) -> Response<HyperOutgoingBody> {
    let body = Full::new(Bytes::from(text.to_string()))
        .map_err(|e: Infallible| match e {})
        .boxed_unsync();
    let mut response = Response::new(body);
    *response.status_mut() = status;
    response.headers_mut().insert(
        http::header::CONTENT_TYPE,
        HeaderValue::from_static("text/plain"),
    );
    response
}

fn declared_length<B>(req: &Request<B>) -> Option<u64> {
    req.headers()
        .get(http::header::CONTENT_LENGTH)?
        .to_str()
        .ok()?
        .parse()
        .ok()
}

type LimitedBody = http_body_util::combinators::UnsyncBoxBody<Bytes, wasmtime_wasi_http::Error>;

/// `body`, failing once it passes `limit` bytes; sets `overflowed` when it does.
fn limit_body(body: Incoming, limit: u64, overflowed: Arc<AtomicBool>) -> LimitedBody {
    Limited::new(body, limit as usize)
        .map_err(move |e| match e.downcast::<hyper::Error>() {
            Ok(e) => wasmtime_wasi_http::Error::Hyper(*e),
            Err(_) => {
                overflowed.store(true, Ordering::Release);
                wasmtime_wasi_http::Error::HttpRequestBodySize(Some(limit))
            }
        })
        .boxed_unsync()
}

/// Sets the request headers Spin sets, replacing any a client sent.
fn set_spin_headers<B>(
    req: &mut Request<B>,
    route: &RouteMatch,
    origin: &Origin,
    listen: SocketAddr,
) {
    let host = req
        .headers()
        .get(http::header::HOST)
        .and_then(|h| h.to_str().ok())
        .map(str::to_string)
        .or_else(|| req.uri().authority().map(|a| a.to_string()))
        .unwrap_or_else(|| listen.to_string());
    let path_and_query = req
        .uri()
        .path_and_query()
        .map(|p| p.as_str())
        .unwrap_or("/")
        .to_string();
    let client = match origin {
        Origin::Client(addr) => addr.to_string(),
        Origin::Component(_) => "127.0.0.1:0".to_string(),
    };
    let values = [
        ("spin-full-url", format!("http://{host}{path_and_query}")),
        ("spin-path-info", route.path_info.clone()),
        ("spin-matched-route", route.raw_route.clone()),
        ("spin-raw-component-route", route.raw_route.clone()),
        ("spin-component-route", route.component_route.clone()),
        ("spin-base-path", "/".to_string()),
        ("spin-client-addr", client),
    ];
    let headers = req.headers_mut();
    let spoofed: Vec<_> = headers
        .keys()
        .filter(|k| k.as_str().starts_with("spin-"))
        .cloned()
        .collect();
    for name in spoofed {
        headers.remove(name);
    }
    for (name, value) in values {
        if let Ok(value) = HeaderValue::from_str(&value) {
            headers.insert(name, value);
        }
    }
    if headers.get(http::header::HOST).is_none()
        && let Ok(value) = HeaderValue::from_str(&host)
    {
        headers.insert(http::header::HOST, value);
    }
}

/// Accepts connections on `listener` until the task is dropped.
pub async fn serve(listener: TcpListener, dispatcher: Arc<Dispatcher>) -> anyhow::Result<()> {
    loop {
        let (stream, client) = match listener.accept().await {
            Ok(accepted) => accepted,
            Err(e) => {
                tracing::warn!(error = %e, "Accepting a connection failed");
                continue;
            }
        };
        let dispatcher = dispatcher.clone();
        tokio::spawn(async move {
            let service = hyper::service::service_fn(move |req| {
                let dispatcher = dispatcher.clone();
                async move { Ok::<_, Infallible>(dispatcher.handle_client(req, client).await) }
            });
            let builder = hyper_util::server::conn::auto::Builder::new(TokioExecutor::new());
            if let Err(e) = builder
                .serve_connection(TokioIo::new(stream), service)
                .await
            {
                tracing::debug!(client = %client, error = %e, "Connection ended with an error");
            }
        });
    }
}
