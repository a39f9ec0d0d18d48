//! The plain TCP listener (no Nagle delay: sync frames are small and latency matters) and the
//! peer address that both it and [`crate::tls::TlsListener`] report to the routes.

use std::net::SocketAddr;

use axum::extract::connect_info::Connected;
use axum::serve::{IncomingStream, Listener};
use tokio::net::{TcpListener, TcpStream};

use crate::tls::TlsListener;

/// The address a request came from.
#[derive(Debug, Clone, Copy)]
pub struct PeerAddr(pub SocketAddr);

impl Connected<IncomingStream<'_, TlsListener>> for PeerAddr {
    fn connect_info(stream: IncomingStream<'_, TlsListener>) -> Self {
        PeerAddr(*stream.remote_addr())
    }
}

impl Connected<IncomingStream<'_, PlainListener>> for PeerAddr {
    fn connect_info(stream: IncomingStream<'_, PlainListener>) -> Self {
        PeerAddr(*stream.remote_addr())
    }
}

/// Plain TCP with `TCP_NODELAY` on every accepted socket.
#[derive(Debug)]
pub struct PlainListener(pub TcpListener);

impl Listener for PlainListener {
    type Io = TcpStream;
    type Addr = SocketAddr;

    async fn accept(&mut self) -> (TcpStream, SocketAddr) {
        let (stream, addr) = Listener::accept(&mut self.0).await;
        if let Err(e) = stream.set_nodelay(true) {
            tracing::warn!(error = %e, "cannot set TCP_NODELAY");
        }
        (stream, addr)
    }

    fn local_addr(&self) -> std::io::Result<SocketAddr> {
        self.0.local_addr()
    }
}
