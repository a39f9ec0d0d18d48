//! The automerge-repo WebSocket protocol (version "1") messages and their CBOR encoding.
//!
//! Every frame is one CBOR map with string keys, named exactly as the JavaScript implementation
//! names them (`senderId`, `targetId`, `documentId`, …); binary payloads are CBOR byte strings.
//! Decoding works on `&[u8]`, never panics, and says what is wrong with a bad frame. Its work
//! is bounded by the frame's size: the frame's shape is walked first (at most [`MAX_ITEMS`]
//! items, [`MAX_DEPTH`] deep) before a value tree is built, and every text field is
//! length-checked before anything decodes it.

use std::collections::BTreeMap;

use ciborium::Value;

use crate::id::{excerpt, DocumentId, MAX_ID_TEXT};

mod skim;

/// The longest text field (peer, storage and session ids, heads, versions): generous for
/// the UUIDs and hashes peers send.
pub const MAX_TEXT: usize = 256;
/// The longest `message` of an `error` kept whole; a longer one is cut.
pub const MAX_ERROR_TEXT: usize = 4096;
/// The most entries of a list or map field (protocol versions, storage ids, heads).
pub const MAX_LIST: usize = 256;
/// The most CBOR items in one frame: a protocol message has a few dozen. With it, the value
/// tree of a frame is its byte and text strings plus at most this many small nodes.
pub const MAX_ITEMS: usize = 2048;
/// The deepest nesting of CBOR items in one frame (a message is three levels deep).
pub const MAX_DEPTH: usize = 8;

/// The only protocol version this implementation speaks.
pub const PROTOCOL_V1: &str = "1";

/// A peer's id on the wire (free text chosen by the peer, e.g. `storage-server-x` or a UUID).
pub type PeerId = String;

/// What a peer says about itself when joining.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PeerMetadata {
    /// Where the peer persists documents, if it does; `None` for ephemeral peers.
    pub storage_id: Option<String>,
    pub is_ephemeral: bool,
}

/// The heads of a document as a storage peer last saw them.
#[derive(Debug, Clone, PartialEq)]
pub struct RemoteHeads {
    pub heads: Vec<String>,
    pub timestamp: f64,
}

/// What a Fiche server says of a document it sends whole to a peer that had none of it, so
/// that a Fiche device can file it without loading it (see `crate::preview`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Preview {
    /// The version of the summary's layout; a device that reads another one loads the
    /// document instead.
    pub format: u64,
    /// The document's kind (`client`, `contact`, `settings`).
    pub kind: String,
    /// For a client, its index entry as a device stores it (JSON); empty otherwise.
    pub index: Vec<u8>,
}

/// One protocol message.
#[derive(Debug, Clone, PartialEq)]
pub enum Message {
    /// Client → server: first message of a connection.
    Join {
        sender_id: PeerId,
        peer_metadata: PeerMetadata,
        supported_protocol_versions: Vec<String>,
    },
    /// Server → client: the answer to `join`.
    Peer {
        sender_id: PeerId,
        peer_metadata: PeerMetadata,
        selected_protocol_version: String,
        target_id: PeerId,
    },
    /// Client → server: the client is going away.
    Leave { sender_id: PeerId },
    /// Either way: something went wrong. Without `document_id` the connection closes after
    /// it; with one, only the sender's changes to that document were refused (a Fiche
    /// server's per-document refusal, sent as an extra `documentId` field that other peers
    /// ignore): the connection and every other document go on.
    Error {
        sender_id: PeerId,
        message: String,
        target_id: Option<PeerId>,
        /// The document whose changes were refused, as the receiver names it.
        document_id: Option<DocumentId>,
    },
    /// "I want this document": an Automerge sync message from a peer that may not have it.
    Request {
        sender_id: PeerId,
        target_id: PeerId,
        document_id: DocumentId,
        data: Vec<u8>,
    },
    /// An Automerge sync message for a document both sides know.
    Sync {
        sender_id: PeerId,
        target_id: PeerId,
        document_id: DocumentId,
        data: Vec<u8>,
        /// A Fiche server's summary of a document this message carries whole to a peer that
        /// had none of it. Sent as an extra `fiche` field, which other peers ignore.
        preview: Option<Preview>,
    },
    /// The answer to a `request` for a document the peer does not have.
    DocUnavailable {
        sender_id: PeerId,
        target_id: PeerId,
        document_id: DocumentId,
        /// A Fiche server's word that the document was erased (GDPR): a Fiche device deletes
        /// its copy. Sent as an extra `erased: true` field, which other peers ignore.
        erased: bool,
    },
    /// Data about a document that is not stored (presence, cursors), relayed as is.
    Ephemeral {
        sender_id: PeerId,
        target_id: PeerId,
        count: u64,
        session_id: String,
        document_id: DocumentId,
        data: Vec<u8>,
    },
    /// Subscribe to (or stop) heads announcements about the given storage ids.
    RemoteSubscriptionChange {
        sender_id: PeerId,
        target_id: PeerId,
        add: Vec<String>,
        remove: Vec<String>,
    },
    /// The heads a storage peer now has for a document.
    RemoteHeadsChanged {
        sender_id: PeerId,
        target_id: PeerId,
        document_id: DocumentId,
        new_heads: BTreeMap<String, RemoteHeads>,
    },
}

/// Why a frame is not a protocol message.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DecodeError {
    #[error("not CBOR: {0}")]
    Cbor(String),
    #[error("a message must be a CBOR map")]
    NotAMap,
    #[error("field {0:?} is missing")]
    Missing(&'static str),
    #[error("field {field:?} should be {expected}")]
    WrongType {
        field: &'static str,
        expected: &'static str,
    },
    #[error("unknown message type {0:?}")]
    UnknownType(String),
    /// The excerpt of what was sent (see `crate::id::excerpt`).
    #[error("documentId {0:?} is not a document id")]
    BadDocumentId(String),
    #[error("field {field:?} is longer than {limit} bytes")]
    TooLong { field: &'static str, limit: usize },
    #[error("field {field:?} has more than {limit} entries")]
    TooMany { field: &'static str, limit: usize },
    #[error("a message holds at most {MAX_ITEMS} CBOR items, {MAX_DEPTH} levels deep")]
    TooComplex,
}

impl Message {
    /// The message's `type` on the wire.
    pub fn kind(&self) -> &'static str {
        match self {
            Message::Join { .. } => "join",
            Message::Peer { .. } => "peer",
            Message::Leave { .. } => "leave",
            Message::Error { .. } => "error",
            Message::Request { .. } => "request",
            Message::Sync { .. } => "sync",
            Message::DocUnavailable { .. } => "doc-unavailable",
            Message::Ephemeral { .. } => "ephemeral",
            Message::RemoteSubscriptionChange { .. } => "remote-subscription-change",
            Message::RemoteHeadsChanged { .. } => "remote-heads-changed",
        }
    }

    pub fn sender_id(&self) -> &str {
        match self {
            Message::Join { sender_id, .. }
            | Message::Peer { sender_id, .. }
            | Message::Leave { sender_id }
            | Message::Error { sender_id, .. }
            | Message::Request { sender_id, .. }
            | Message::Sync { sender_id, .. }
            | Message::DocUnavailable { sender_id, .. }
            | Message::Ephemeral { sender_id, .. }
            | Message::RemoteSubscriptionChange { sender_id, .. }
            | Message::RemoteHeadsChanged { sender_id, .. } => sender_id,
        }
    }

    /// The document a message is about, if any.
    pub fn document_id(&self) -> Option<&DocumentId> {
        match self {
            Message::Request { document_id, .. }
            | Message::Sync { document_id, .. }
            | Message::DocUnavailable { document_id, .. }
            | Message::Ephemeral { document_id, .. }
            | Message::RemoteHeadsChanged { document_id, .. } => Some(document_id),
            _ => None,
        }
    }

    /// The document a message is about, to change it (a server keeping per-organisation
    /// copies of well-known documents renames them on the way in and out).
    pub fn document_id_mut(&mut self) -> Option<&mut DocumentId> {
        match self {
            Message::Request { document_id, .. }
            | Message::Sync { document_id, .. }
            | Message::DocUnavailable { document_id, .. }
            | Message::Ephemeral { document_id, .. }
            | Message::RemoteHeadsChanged { document_id, .. } => Some(document_id),
            _ => None,
        }
    }

    /// Encodes the message as one CBOR frame.
    pub fn encode(&self) -> Vec<u8> {
        let value = self.to_value();
        let mut out = Vec::new();
        // Writing into a Vec cannot fail.
        let _ = ciborium::into_writer(&value, &mut out);
        out
    }

    /// Decodes one CBOR frame.
    pub fn decode(bytes: &[u8]) -> Result<Self, DecodeError> {
        skim::check(bytes)?;
        let value: Value =
            ciborium::from_reader(bytes).map_err(|e| DecodeError::Cbor(e.to_string()))?;
        Self::from_value(value)
    }

    fn to_value(&self) -> Value {
        let mut m = Fields::new(self.kind());
        match self {
            Message::Join {
                sender_id,
                peer_metadata,
                supported_protocol_versions,
            } => {
                m.text("senderId", sender_id);
                m.put("peerMetadata", metadata_value(peer_metadata));
                m.put(
                    "supportedProtocolVersions",
                    Value::Array(
                        supported_protocol_versions
                            .iter()
                            .map(|v| Value::Text(v.clone()))
                            .collect(),
                    ),
                );
            }
            Message::Peer {
                sender_id,
                peer_metadata,
                selected_protocol_version,
                target_id,
            } => {
                m.text("senderId", sender_id);
                m.put("peerMetadata", metadata_value(peer_metadata));
                m.text("selectedProtocolVersion", selected_protocol_version);
                m.text("targetId", target_id);
            }
            Message::Leave { sender_id } => m.text("senderId", sender_id),
            Message::Error {
                sender_id,
                message,
                target_id,
                document_id,
            } => {
                m.text("senderId", sender_id);
                m.text("message", message);
                if let Some(t) = target_id {
                    m.text("targetId", t);
                }
                if let Some(id) = document_id {
                    m.text("documentId", &id.to_string());
                }
            }
            Message::Request {
                sender_id,
                target_id,
                document_id,
                data,
            } => {
                m.text("senderId", sender_id);
                m.text("targetId", target_id);
                m.text("documentId", &document_id.to_string());
                m.put("data", Value::Bytes(data.clone()));
            }
            Message::Sync {
                sender_id,
                target_id,
                document_id,
                data,
                preview,
            } => {
                m.text("senderId", sender_id);
                m.text("targetId", target_id);
                m.text("documentId", &document_id.to_string());
                m.put("data", Value::Bytes(data.clone()));
                if let Some(p) = preview {
                    m.put("fiche", preview_value(p));
                }
            }
            Message::DocUnavailable {
                sender_id,
                target_id,
                document_id,
                erased,
            } => {
                m.text("senderId", sender_id);
                m.text("targetId", target_id);
                m.text("documentId", &document_id.to_string());
                if *erased {
                    m.put("erased", Value::Bool(true));
                }
            }
            Message::Ephemeral {
                sender_id,
                target_id,
                count,
                session_id,
                document_id,
                data,
            } => {
                m.text("senderId", sender_id);
                m.text("targetId", target_id);
                m.put("count", Value::Integer((*count).into()));
                m.text("sessionId", session_id);
                m.text("documentId", &document_id.to_string());
                m.put("data", Value::Bytes(data.clone()));
            }
            Message::RemoteSubscriptionChange {
                sender_id,
                target_id,
                add,
                remove,
            } => {
                m.text("senderId", sender_id);
                m.text("targetId", target_id);
                let list =
                    |l: &Vec<String>| Value::Array(l.iter().cloned().map(Value::Text).collect());
                if !add.is_empty() {
                    m.put("add", list(add));
                }
                if !remove.is_empty() {
                    m.put("remove", list(remove));
                }
            }
            Message::RemoteHeadsChanged {
                sender_id,
                target_id,
                document_id,
                new_heads,
            } => {
                m.text("senderId", sender_id);
                m.text("targetId", target_id);
                m.text("documentId", &document_id.to_string());
                let heads = new_heads
                    .iter()
                    .map(|(storage, h)| {
                        let entry = Value::Map(vec![
                            (
                                Value::Text("heads".into()),
                                Value::Array(h.heads.iter().cloned().map(Value::Text).collect()),
                            ),
                            (Value::Text("timestamp".into()), number_value(h.timestamp)),
                        ]);
                        (Value::Text(storage.clone()), entry)
                    })
                    .collect();
                m.put("newHeads", Value::Map(heads));
            }
        }
        Value::Map(m.0)
    }

    fn from_value(value: Value) -> Result<Self, DecodeError> {
        let Value::Map(entries) = value else {
            return Err(DecodeError::NotAMap);
        };
        let m = Read(entries);
        let kind = m.text("type").map_err(|e| match e {
            DecodeError::TooLong { .. } => DecodeError::UnknownType(String::new()),
            other => other,
        })?;
        let sender_id = || m.text("senderId");
        let target_id = || m.text("targetId");
        let document_id = || {
            let text = m.text_within("documentId", MAX_ID_TEXT)?;
            text.parse::<DocumentId>()
                .map_err(|_| DecodeError::BadDocumentId(excerpt(&text)))
        };
        Ok(match kind.as_str() {
            "join" => Message::Join {
                sender_id: sender_id()?,
                peer_metadata: m.metadata("peerMetadata")?,
                supported_protocol_versions: m.text_list_or_empty("supportedProtocolVersions")?,
            },
            "peer" => Message::Peer {
                sender_id: sender_id()?,
                peer_metadata: m.metadata("peerMetadata")?,
                selected_protocol_version: m.text("selectedProtocolVersion")?,
                target_id: target_id()?,
            },
            "leave" => Message::Leave {
                sender_id: sender_id()?,
            },
            "error" => Message::Error {
                sender_id: m.text("senderId").unwrap_or_default(),
                message: m.clipped("message", MAX_ERROR_TEXT),
                target_id: m.text("targetId").ok(),
                // An id that does not read leaves the error about the whole connection.
                document_id: m.text("documentId").ok().and_then(|t| t.parse().ok()),
            },
            "request" => Message::Request {
                sender_id: sender_id()?,
                target_id: target_id()?,
                document_id: document_id()?,
                data: m.bytes("data")?,
            },
            "sync" => Message::Sync {
                sender_id: sender_id()?,
                target_id: target_id()?,
                document_id: document_id()?,
                data: m.bytes("data")?,
                // A hint only: one that does not read is as good as none.
                preview: m.get("fiche").and_then(read_preview),
            },
            "doc-unavailable" => Message::DocUnavailable {
                sender_id: sender_id()?,
                target_id: target_id()?,
                document_id: document_id()?,
                erased: matches!(m.get("erased"), Some(Value::Bool(true))),
            },
            "ephemeral" => Message::Ephemeral {
                sender_id: sender_id()?,
                target_id: target_id()?,
                count: m.uint("count")?,
                session_id: m.text("sessionId")?,
                document_id: document_id()?,
                data: m.bytes("data")?,
            },
            "remote-subscription-change" => Message::RemoteSubscriptionChange {
                sender_id: sender_id()?,
                target_id: target_id()?,
                add: m.text_list_or_empty("add")?,
                remove: m.text_list_or_empty("remove")?,
            },
            "remote-heads-changed" => Message::RemoteHeadsChanged {
                sender_id: sender_id()?,
                target_id: target_id()?,
                document_id: document_id()?,
                new_heads: m.heads("newHeads")?,
            },
            _ => return Err(DecodeError::UnknownType(excerpt(&kind))),
        })
    }
}

fn preview_value(p: &Preview) -> Value {
    Value::Map(vec![
        (
            Value::Text("format".into()),
            Value::Integer(p.format.into()),
        ),
        (Value::Text("kind".into()), Value::Text(p.kind.clone())),
        (Value::Text("index".into()), Value::Bytes(p.index.clone())),
    ])
}

fn read_preview(value: &Value) -> Option<Preview> {
    let Value::Map(entries) = value else {
        return None;
    };
    let field = |name: &str| {
        entries
            .iter()
            .find(|(k, _)| matches!(k, Value::Text(t) if t == name))
            .map(|(_, v)| v)
    };
    let format = match field("format")? {
        Value::Integer(i) => u64::try_from(*i).ok()?,
        _ => return None,
    };
    let kind = match field("kind")? {
        Value::Text(t) => t.clone(),
        _ => return None,
    };
    let index = match field("index")? {
        Value::Bytes(b) => b.clone(),
        _ => return None,
    };
    Some(Preview {
        format,
        kind,
        index,
    })
}

fn number_value(n: f64) -> Value {
    if n.fract() == 0.0 && n >= 0.0 && n < u64::MAX as f64 {
        Value::Integer((n as u64).into())
    } else {
        Value::Float(n)
    }
}

fn metadata_value(m: &PeerMetadata) -> Value {
    let mut entries = Vec::new();
    if let Some(s) = &m.storage_id {
        entries.push((Value::Text("storageId".into()), Value::Text(s.clone())));
    }
    entries.push((
        Value::Text("isEphemeral".into()),
        Value::Bool(m.is_ephemeral),
    ));
    Value::Map(entries)
}

/// A map being written, `type` first.
struct Fields(Vec<(Value, Value)>);

impl Fields {
    fn new(kind: &str) -> Self {
        Self(vec![(Value::Text("type".into()), Value::Text(kind.into()))])
    }
    fn put(&mut self, key: &str, value: Value) {
        self.0.push((Value::Text(key.into()), value));
    }
    fn text(&mut self, key: &str, value: &str) {
        self.put(key, Value::Text(value.into()));
    }
}

/// A map being read.
struct Read(Vec<(Value, Value)>);

impl Read {
    fn get(&self, key: &str) -> Option<&Value> {
        self.0
            .iter()
            .find(|(k, _)| matches!(k, Value::Text(t) if t == key))
            .map(|(_, v)| v)
    }

    fn text(&self, key: &'static str) -> Result<String, DecodeError> {
        self.text_within(key, MAX_TEXT)
    }

    /// A text field of at most `limit` bytes.
    fn text_within(&self, key: &'static str, limit: usize) -> Result<String, DecodeError> {
        match self.get(key) {
            Some(Value::Text(t)) if t.len() > limit => {
                Err(DecodeError::TooLong { field: key, limit })
            }
            Some(Value::Text(t)) => Ok(t.clone()),
            Some(_) => Err(DecodeError::WrongType {
                field: key,
                expected: "text",
            }),
            None => Err(DecodeError::Missing(key)),
        }
    }

    /// A text field cut to at most `limit` bytes; empty when absent or not text.
    fn clipped(&self, key: &'static str, limit: usize) -> String {
        let Some(Value::Text(t)) = self.get(key) else {
            return String::new();
        };
        let mut end = t.len().min(limit);
        while !t.is_char_boundary(end) {
            end -= 1;
        }
        t[..end].to_string()
    }

    fn bytes(&self, key: &'static str) -> Result<Vec<u8>, DecodeError> {
        match self.get(key) {
            Some(Value::Bytes(b)) => Ok(b.clone()),
            // cbor-x may tag a Uint8Array (tag 64); accept the tagged form too.
            Some(Value::Tag(_, inner)) if matches!(**inner, Value::Bytes(_)) => match &**inner {
                Value::Bytes(b) => Ok(b.clone()),
                _ => Err(DecodeError::WrongType {
                    field: key,
                    expected: "bytes",
                }),
            },
            Some(_) => Err(DecodeError::WrongType {
                field: key,
                expected: "bytes",
            }),
            None => Err(DecodeError::Missing(key)),
        }
    }

    fn uint(&self, key: &'static str) -> Result<u64, DecodeError> {
        let wrong = DecodeError::WrongType {
            field: key,
            expected: "a whole number",
        };
        match self.get(key) {
            Some(Value::Integer(i)) => u64::try_from(*i).map_err(|_| wrong),
            Some(Value::Float(f)) if f.fract() == 0.0 && *f >= 0.0 && *f < u64::MAX as f64 => {
                Ok(*f as u64)
            }
            Some(_) => Err(wrong),
            None => Err(DecodeError::Missing(key)),
        }
    }

    fn text_list_or_empty(&self, key: &'static str) -> Result<Vec<String>, DecodeError> {
        match self.get(key) {
            None | Some(Value::Null) => Ok(Vec::new()),
            Some(v) => text_list(v, key),
        }
    }

    fn metadata(&self, key: &'static str) -> Result<PeerMetadata, DecodeError> {
        match self.get(key) {
            None | Some(Value::Null) => Ok(PeerMetadata::default()),
            Some(Value::Map(entries)) => {
                let m = Read(entries.clone());
                Ok(PeerMetadata {
                    storage_id: m.text("storageId").ok(),
                    is_ephemeral: matches!(m.get("isEphemeral"), Some(Value::Bool(true))),
                })
            }
            Some(_) => Err(DecodeError::WrongType {
                field: key,
                expected: "a map",
            }),
        }
    }

    fn heads(&self, key: &'static str) -> Result<BTreeMap<String, RemoteHeads>, DecodeError> {
        let wrong = || DecodeError::WrongType {
            field: key,
            expected: "a map of storage ids to {heads, timestamp}",
        };
        let Some(Value::Map(entries)) = self.get(key) else {
            return Err(self.get(key).map_or(DecodeError::Missing(key), |_| wrong()));
        };
        if entries.len() > MAX_LIST {
            return Err(DecodeError::TooMany {
                field: key,
                limit: MAX_LIST,
            });
        }
        let mut out = BTreeMap::new();
        for (k, v) in entries {
            let (Value::Text(storage), Value::Map(inner)) = (k, v) else {
                return Err(wrong());
            };
            if storage.len() > MAX_TEXT {
                return Err(DecodeError::TooLong {
                    field: key,
                    limit: MAX_TEXT,
                });
            }
            let inner = Read(inner.clone());
            let heads = text_list(inner.get("heads").ok_or_else(wrong)?, key)?;
            let timestamp = match inner.get("timestamp") {
                Some(Value::Integer(i)) => i128::from(*i) as f64,
                Some(Value::Float(f)) if f.is_finite() => *f,
                _ => return Err(wrong()),
            };
            out.insert(storage.clone(), RemoteHeads { heads, timestamp });
        }
        Ok(out)
    }
}

fn text_list(v: &Value, key: &'static str) -> Result<Vec<String>, DecodeError> {
    let wrong = DecodeError::WrongType {
        field: key,
        expected: "a list of text",
    };
    let Value::Array(items) = v else {
        return Err(wrong);
    };
    if items.len() > MAX_LIST {
        return Err(DecodeError::TooMany {
            field: key,
            limit: MAX_LIST,
        });
    }
    items
        .iter()
        .map(|i| match i {
            Value::Text(t) if t.len() > MAX_TEXT => Err(DecodeError::TooLong {
                field: key,
                limit: MAX_TEXT,
            }),
            Value::Text(t) => Ok(t.clone()),
            _ => Err(wrong.clone()),
        })
        .collect()
}
