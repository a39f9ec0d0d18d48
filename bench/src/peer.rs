//! One simulated device: a WebSocket connection speaking the automerge-repo protocol through
//! fiche-core's sans-IO `Connection`, holding its documents in memory. Light enough that a
//! thousand run in one process.

use std::collections::HashMap;

use anyhow::{bail, Context, Result};
use automerge::{Automerge, ChangeHash};
use fiche_core::protocol::{Action, Connection, Message, PeerMetadata, Side};
use fiche_core::DocumentId;
use futures_util::{SinkExt, StreamExt};
use tokio::net::TcpStream;
use tokio_tungstenite::tungstenite::Message as Frame;
use tokio_tungstenite::{MaybeTlsStream, WebSocketStream};

type Socket = WebSocketStream<MaybeTlsStream<TcpStream>>;

/// A connected peer and its documents.
pub struct Peer {
    socket: Socket,
    conn: Connection,
    pub docs: HashMap<DocumentId, Automerge>,
}

/// What a frame from the server brought, beyond the replies already sent.
#[derive(Debug, Default)]
pub struct Received {
    /// The document the message was about, if any.
    pub about: Option<DocumentId>,
    /// Documents that gained changes.
    pub changed: Vec<DocumentId>,
    /// Documents the server does not have.
    pub unavailable: Vec<DocumentId>,
}

impl Peer {
    /// Connects to `url` and completes the handshake as peer `name`.
    pub async fn connect(url: &str, name: String) -> Result<Self> {
        let (socket, _) = tokio_tungstenite::connect_async(url)
            .await
            .with_context(|| format!("cannot connect to {url}"))?;
        let metadata = PeerMetadata {
            storage_id: None,
            is_ephemeral: false,
        };
        let conn = Connection::new(Side::Client, name, metadata);
        let mut peer = Self {
            socket,
            conn,
            docs: HashMap::new(),
        };
        if let Some(join) = peer.conn.start() {
            peer.send(join).await?;
        }
        while !peer.conn.is_open() {
            peer.receive().await?;
        }
        Ok(peer)
    }

    async fn send(&mut self, message: Message) -> Result<()> {
        self.socket
            .send(Frame::Binary(message.encode().into()))
            .await
            .context("the server closed the connection")
    }

    /// Starts syncing a document this peer holds (or asks for it, when `doc` is empty).
    pub async fn open(&mut self, id: DocumentId, doc: Automerge) -> Result<()> {
        self.docs.insert(id, doc);
        if let Some(message) = self.conn.sync_document(id, &mut self.docs) {
            self.send(message).await?;
        }
        Ok(())
    }

    /// Forgets a document (the server keeps it).
    pub fn close(&mut self, id: &DocumentId) {
        self.docs.remove(id);
        self.conn.forget(id);
    }

    /// Whether the server is known to hold exactly this peer's version of the document.
    pub fn in_step(&self, id: &DocumentId) -> bool {
        self.docs
            .get(id)
            .is_some_and(|d| !d.get_heads().is_empty() && self.conn.shares(id, &d.get_heads()))
    }

    /// Edits a document (the `n`-th new city on the client's address) without telling the
    /// server yet; returns the change's hash.
    pub fn edit(&mut self, id: &DocumentId, n: u64) -> Result<ChangeHash> {
        let doc = self
            .docs
            .get_mut(id)
            .context("editing a document not held")?;
        crate::records::edit(doc, n)
    }

    /// Tells the server what changed in a document.
    pub async fn announce(&mut self, id: &DocumentId) -> Result<()> {
        if let Some(message) = self.conn.document_changed(id, &mut self.docs) {
            self.send(message).await?;
        }
        Ok(())
    }

    /// Waits for the next frame from the server, handles it (sending the replies) and says
    /// what it brought.
    pub async fn receive(&mut self) -> Result<Received> {
        let frame = loop {
            match self.socket.next().await {
                Some(Ok(Frame::Binary(bytes))) => break bytes,
                Some(Ok(Frame::Close(_))) | None => bail!("the server closed the connection"),
                Some(Ok(_)) => continue,
                Some(Err(e)) => return Err(e).context("reading from the server"),
            }
        };
        let message = Message::decode(&frame).context("the server sent a bad message")?;
        let mut received = Received {
            about: message.document_id().copied(),
            ..Received::default()
        };
        for action in self.conn.receive(message, &mut self.docs) {
            match action {
                Action::Send(reply) => self.send(reply).await?,
                Action::Changed(id) => received.changed.push(id),
                Action::Unavailable(id) | Action::Erased(id) => received.unavailable.push(id),
                Action::Close(reason) => bail!("connection closed: {reason}"),
                Action::Ready { .. } | Action::Relay(_) | Action::Refused { .. } => {}
            }
        }
        Ok(received)
    }

    /// Waits until the server holds every listed document as this peer does.
    pub async fn settle(&mut self, ids: &[DocumentId]) -> Result<()> {
        while !ids.iter().all(|id| self.in_step(id)) {
            let got = self.receive().await?;
            if let Some(id) = got.unavailable.first() {
                bail!("the server does not have {id}");
            }
        }
        Ok(())
    }

    /// Closes the WebSocket.
    pub async fn leave(mut self) {
        let _ = self.socket.close(None).await;
    }
}
