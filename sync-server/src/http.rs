//! The server's HTTP/1.1 loop under axum's router: hyper with a header-read timeout (a
//! connection that has not sent a whole request head this long after it opened, or after its
//! last response, is closed; that bounds the WebSocket upgrade too), upgrades for WebSocket,
//! and a graceful stop. Connections on [`Lane::Reserve`] get [`reserve`]'s router, a shorter
//! timeout and no keep-alive.

use std::convert::Infallible;
use std::future::Future;
use std::net::SocketAddr;
use std::pin::pin;
use std::time::Duration;

use axum::extract::{ConnectInfo, Request};
use axum::http::{header, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use axum::serve::Listener;
use axum::Router;
use hyper::body::Incoming;
use hyper_util::rt::{TokioIo, TokioTimer};
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::sync::watch;
use tower_service::Service;

use crate::guard::Guarded;
use crate::listen::{Lane, PeerAddr};

/// How long a reserve connection has to send its request.
const RESERVE_HEADERS: Duration = Duration::from_secs(2);

/// A socket that knows its lane.
pub trait Laned {
    fn lane(&self) -> Lane;
}

impl<S> Laned for Guarded<S> {
    fn lane(&self) -> Lane {
        Guarded::lane(self)
    }
}

impl<S> Laned for tokio_rustls::server::TlsStream<Guarded<S>> {
    fn lane(&self) -> Lane {
        self.get_ref().0.lane()
    }
}

/// What a connection over the limit may do: `/health`; anything else is 503.
pub fn reserve(app: Router) -> Router {
    app.layer(axum::middleware::from_fn(health_only))
}

async fn health_only(request: Request, next: Next) -> Response {
    if request.uri().path() == "/health" {
        return next.run(request).await;
    }
    let mut r = (
        StatusCode::SERVICE_UNAVAILABLE,
        "the server is at its connection limit: try again shortly\n",
    )
        .into_response();
    r.headers_mut()
        .insert(header::RETRY_AFTER, header::HeaderValue::from(5));
    r
}

/// Serves `app` (and `reserved` on the reserve lane) on every connection `listener` accepts,
/// until `stop` completes; then stops accepting, lets each connection finish its request and
/// returns once all are closed.
pub async fn serve<L>(
    mut listener: L,
    app: Router,
    reserved: Router,
    headers: Duration,
    stop: impl Future<Output = ()>,
) where
    L: Listener<Addr = SocketAddr>,
    L::Io: Laned + AsyncRead + AsyncWrite + Unpin + Send + 'static,
{
    // `stopping` is closed when the serve loop ends; `open` when every connection has.
    let (stopping, stopped) = watch::channel(());
    let (open, closed) = watch::channel(());
    let mut stop = pin!(stop);
    loop {
        let (io, addr) = tokio::select! {
            accepted = listener.accept() => accepted,
            () = &mut stop => break,
        };
        let (lane, router) = match io.lane() {
            Lane::Normal => (Lane::Normal, app.clone()),
            Lane::Reserve => (Lane::Reserve, reserved.clone()),
        };
        let (stopping, closed) = (stopping.clone(), closed.clone());
        tokio::spawn(async move {
            connection(io, addr, lane, router, headers, stopping).await;
            drop(closed);
        });
    }
    drop(listener);
    drop(stopped);
    drop(closed);
    open.closed().await;
}

async fn connection<I>(
    io: I,
    addr: SocketAddr,
    lane: Lane,
    router: Router,
    headers: Duration,
    stopping: watch::Sender<()>,
) where
    I: AsyncRead + AsyncWrite + Unpin + Send + 'static,
{
    let service = hyper::service::service_fn(move |mut request: hyper::Request<Incoming>| {
        request.extensions_mut().insert(ConnectInfo(PeerAddr(addr)));
        let mut router = router.clone();
        async move { Ok::<_, Infallible>(router.call(request).await.unwrap_or_else(|e| match e {})) }
    });
    let mut builder = hyper::server::conn::http1::Builder::new();
    builder.timer(TokioTimer::new());
    match lane {
        Lane::Normal => builder.header_read_timeout(headers),
        Lane::Reserve => builder
            .header_read_timeout(RESERVE_HEADERS.min(headers))
            .keep_alive(false),
    };
    let mut conn = pin!(builder
        .serve_connection(TokioIo::new(io), service)
        .with_upgrades());
    let mut stop = pin!(stopping.closed());
    let mut stopped = false;
    loop {
        tokio::select! {
            done = conn.as_mut() => {
                if let Err(e) = done {
                    tracing::debug!(%addr, error = %e, "connection ended");
                }
                break;
            }
            () = &mut stop, if !stopped => {
                stopped = true;
                conn.as_mut().graceful_shutdown();
            }
        }
    }
}
