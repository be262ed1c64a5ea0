//! The HTTP trigger: a hyper server (HTTP/1.1 and HTTP/2) that routes each request to a
//! component as Spin does, and the in-process network behind `http://self` and
//! `http://<component>.spin.internal`.

use std::collections::BTreeMap;
use std::convert::Infallible;
use std::net::SocketAddr;
use std::sync::Arc;

use bytes::Bytes;
use http::{HeaderValue, Request, Response, StatusCode};
use http_body_util::{BodyExt, Full, Limited};
use hyper::body::{Body, Incoming};
use hyper_util::rt::{TokioExecutor, TokioIo};
use tokio::net::TcpListener;
use wasmtime_wasi_http::WasiHttpView;
use wasmtime_wasi_http::p2::bindings::ProxyPre;
use wasmtime_wasi_http::p2::bindings::http::types::Scheme;
use wasmtime_wasi_http::p2::body::HyperOutgoingBody;

use super::router::{RouteMatch, Router};
use crate::app::ComponentRuntime;
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

    /// Serves one request from a network client.
    pub async fn handle_client(
        &self,
        req: Request<Incoming>,
        client: SocketAddr,
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
            return plain(
                StatusCode::PAYLOAD_TOO_LARGE,
                &format!("request body over {limit} bytes\n"),
            );
        }
        let req = req.map(|body| limit_body(body, limit));
        let grants = handler.runtime.grants.clone();
        let result = self
            .serve(handler, grants, req, &route, &Origin::Client(client))
            .await;
        result.unwrap_or_else(|e| failure_response(&e))
    }

    /// Serves a request that a component sent to `http://self` or
    /// `http://<id>.spin.internal`; `None` when no component answers to that host.
    pub async fn handle_internal<B>(
        &self,
        caller: &str,
        host: &str,
        req: Request<B>,
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
                let r = self.serve(handler, grants, req, &route, &origin).await?;
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

    async fn serve<B>(
        &self,
        handler: &Handler,
        grants: Arc<Grants>,
        mut req: Request<B>,
        route: &RouteMatch,
        origin: &Origin,
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
        set_spin_headers(&mut req, route, origin, self.listen);
        let prepared = handler.runtime.prepare(grants).await.map_err(failed)?;
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
        let task = tokio::spawn(async move {
            let _permit = permit;
            let instance = proxy.instantiate_async(&mut store).await?;
            instance
                .wasi_http_incoming_handler()
                .call_handle(&mut store, incoming, outparam)
                .await
        });
        match receiver.await {
            Ok(Ok(response)) => Ok(response),
            Ok(Err(code)) => Err(failed(anyhow::anyhow!("responded with error {code:?}"))),
            Err(_) => Err(self.classify(handler, task.await)),
        }
    }

    /// Why a guest ended without setting a response.
    fn classify(
        &self,
        handler: &Handler,
        joined: Result<wasmtime::Result<()>, tokio::task::JoinError>,
    ) -> ServeError {
        let component = handler.runtime.id.clone();
        let error = match joined {
            Ok(Ok(())) => anyhow::anyhow!("the component returned without setting a response"),
            Ok(Err(e))
                if e.downcast_ref::<wasmtime::Trap>() == Some(&wasmtime::Trap::Interrupt) =>
            {
                let timeout_ms = handler.runtime.settings.timeout.as_millis();
                tracing::info!(component = %component, timeout_ms, "Component call timed out");
                return ServeError::TimedOut {
                    component,
                    timeout_ms,
                };
            }
            Ok(Err(e)) => anyhow::Error::from(e),
            Err(e) => anyhow::anyhow!("the call panicked in the host: {e}"),
        };
        tracing::info!(component = %component, error = %format!("{error:#}"), "Component call failed");
        ServeError::Failed {
            component,
            reason: format!("{error:#}"),
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

/// The response a client gets when its component failed.
pub fn failure_response(error: &ServeError) -> Response<HyperOutgoingBody> {
    let status = match error {
        ServeError::TimedOut { .. } => StatusCode::GATEWAY_TIMEOUT,
        _ => StatusCode::INTERNAL_SERVER_ERROR,
    };
    plain(status, &format!("{error}\n"))
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

fn limit_body(body: Incoming, limit: u64) -> LimitedBody {
    Limited::new(body, limit as usize)
        .map_err(move |e| match e.downcast::<hyper::Error>() {
            Ok(e) => wasmtime_wasi_http::Error::Hyper(*e),
            Err(_) => wasmtime_wasi_http::Error::HttpRequestBodySize(Some(limit)),
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
