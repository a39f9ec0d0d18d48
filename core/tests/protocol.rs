//! The protocol codec: every message round-trips, arbitrary bytes never panic the decoder, and
//! frames shaped as the JavaScript implementation sends them decode.
#![allow(clippy::unwrap_used)]

use std::collections::BTreeMap;

use ciborium::Value;
use fiche_core::protocol::{Message, PeerMetadata, Preview, RemoteHeads};
use fiche_core::DocumentId;
use proptest::collection::{btree_map, vec};
use proptest::option;
use proptest::prelude::*;

fn peer() -> impl Strategy<Value = String> {
    "[a-zA-Z0-9-]{1,40}"
}

fn doc() -> impl Strategy<Value = DocumentId> {
    any::<[u8; 16]>().prop_map(DocumentId::from_bytes)
}

fn bytes() -> impl Strategy<Value = Vec<u8>> {
    vec(any::<u8>(), 0..300)
}

fn metadata() -> impl Strategy<Value = PeerMetadata> {
    (option::of("[a-z0-9-]{1,20}"), any::<bool>()).prop_map(|(storage_id, is_ephemeral)| {
        PeerMetadata {
            storage_id,
            is_ephemeral,
        }
    })
}

fn message() -> impl Strategy<Value = Message> {
    prop_oneof![
        (peer(), metadata(), vec("[0-9]", 0..3)).prop_map(|(sender_id, peer_metadata, v)| {
            Message::Join {
                sender_id,
                peer_metadata,
                supported_protocol_versions: v,
            }
        }),
        (peer(), metadata(), peer()).prop_map(|(sender_id, peer_metadata, target_id)| {
            Message::Peer {
                sender_id,
                peer_metadata,
                selected_protocol_version: "1".into(),
                target_id,
            }
        }),
        peer().prop_map(|sender_id| Message::Leave { sender_id }),
        (peer(), ".{0,40}", option::of(peer()), option::of(doc())).prop_map(
            |(sender_id, message, target_id, document_id)| Message::Error {
                sender_id,
                message,
                target_id,
                document_id,
            }
        ),
        (peer(), peer(), doc(), bytes()).prop_map(|(sender_id, target_id, document_id, data)| {
            Message::Request {
                sender_id,
                target_id,
                document_id,
                data,
            }
        }),
        (
            peer(),
            peer(),
            doc(),
            bytes(),
            proptest::option::of((any::<u64>(), "[a-z]{0,8}", bytes()))
        )
            .prop_map(|(sender_id, target_id, document_id, data, preview)| {
                Message::Sync {
                    sender_id,
                    target_id,
                    document_id,
                    data,
                    preview: preview.map(|(format, kind, index)| Preview {
                        format,
                        kind,
                        index,
                    }),
                }
            }),
        (peer(), peer(), doc(), any::<bool>()).prop_map(
            |(sender_id, target_id, document_id, erased)| Message::DocUnavailable {
                sender_id,
                target_id,
                document_id,
                erased,
            }
        ),
        (
            peer(),
            peer(),
            any::<u64>(),
            "[a-z0-9]{1,16}",
            doc(),
            bytes()
        )
            .prop_map(
                |(sender_id, target_id, count, session_id, document_id, data)| Message::Ephemeral {
                    sender_id,
                    target_id,
                    count,
                    session_id,
                    document_id,
                    data
                }
            ),
        (peer(), peer(), vec(peer(), 0..3), vec(peer(), 0..3)).prop_map(
            |(sender_id, target_id, add, remove)| Message::RemoteSubscriptionChange {
                sender_id,
                target_id,
                add,
                remove
            }
        ),
        (
            peer(),
            peer(),
            doc(),
            btree_map(peer(), (vec("[0-9a-f]{64}", 0..3), 0u32..u32::MAX), 0..3)
        )
            .prop_map(|(sender_id, target_id, document_id, heads)| {
                Message::RemoteHeadsChanged {
                    sender_id,
                    target_id,
                    document_id,
                    new_heads: heads
                        .into_iter()
                        .map(|(k, (heads, t))| {
                            (
                                k,
                                RemoteHeads {
                                    heads,
                                    timestamp: f64::from(t),
                                },
                            )
                        })
                        .collect::<BTreeMap<_, _>>(),
                }
            }),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(500))]

    #[test]
    fn every_message_round_trips(m in message()) {
        prop_assert_eq!(Message::decode(&m.encode()), Ok(m));
    }

    #[test]
    fn arbitrary_bytes_never_panic(b in vec(any::<u8>(), 0..512)) {
        let _ = Message::decode(&b);
    }

    #[test]
    fn mangled_frames_never_panic(m in message(), cuts in vec((any::<prop::sample::Index>(), any::<u8>()), 1..4)) {
        let mut frame = m.encode();
        for (i, b) in cuts {
            let at = i.index(frame.len());
            frame[at] = b;
        }
        let _ = Message::decode(&frame);
        let _ = Message::decode(&frame[..frame.len() / 2]);
    }
}

fn cbor(entries: Vec<(&str, Value)>) -> Vec<u8> {
    let map = Value::Map(
        entries
            .into_iter()
            .map(|(k, v)| (Value::Text(k.into()), v))
            .collect(),
    );
    let mut out = Vec::new();
    ciborium::into_writer(&map, &mut out).unwrap();
    out
}

#[test]
fn frames_as_javascript_sends_them_decode() {
    // Field order differs from ours, unknown fields are present, timestamps are floats.
    let id = DocumentId::random();
    let frame = cbor(vec![
        ("senderId", Value::Text("peer-js".into())),
        ("type", Value::Text("sync".into())),
        ("data", Value::Bytes(vec![0x42, 1, 2])),
        ("documentId", Value::Text(id.to_string())),
        ("targetId", Value::Text("server".into())),
        ("somethingNew", Value::Bool(true)),
    ]);
    assert_eq!(
        Message::decode(&frame),
        Ok(Message::Sync {
            sender_id: "peer-js".into(),
            target_id: "server".into(),
            document_id: id,
            data: vec![0x42, 1, 2],
            preview: None,
        })
    );
    let join = cbor(vec![
        ("type", Value::Text("join".into())),
        ("senderId", Value::Text("peer-js".into())),
        (
            "peerMetadata",
            Value::Map(vec![(Value::Text("isEphemeral".into()), Value::Bool(true))]),
        ),
        (
            "supportedProtocolVersions",
            Value::Array(vec![Value::Text("1".into())]),
        ),
    ]);
    let Message::Join {
        peer_metadata,
        supported_protocol_versions,
        ..
    } = Message::decode(&join).unwrap()
    else {
        panic!("not a join")
    };
    assert!(peer_metadata.is_ephemeral && peer_metadata.storage_id.is_none());
    assert_eq!(supported_protocol_versions, ["1"]);
}

#[test]
fn error_frames_carry_the_refused_document_only_when_there_is_one() {
    // As the JavaScript client sends an error (no documentId), and as a Fiche server refuses
    // one document's changes (with it).
    let id = DocumentId::random();
    let plain = cbor(vec![
        ("type", Value::Text("error".into())),
        ("senderId", Value::Text("peer-js".into())),
        ("message", Value::Text("bad".into())),
    ]);
    let decoded = Message::decode(&plain).unwrap();
    assert_eq!(
        decoded,
        Message::Error {
            sender_id: "peer-js".into(),
            message: "bad".into(),
            target_id: None,
            document_id: None,
        }
    );
    let reencoded: Value = ciborium::from_reader(decoded.encode().as_slice()).unwrap();
    let keys: Vec<String> = reencoded
        .as_map()
        .unwrap()
        .iter()
        .filter_map(|(k, _)| k.as_text().map(str::to_string))
        .collect();
    assert!(!keys.contains(&"documentId".to_string()), "{keys:?}");
    let refusal = cbor(vec![
        ("type", Value::Text("error".into())),
        ("senderId", Value::Text("server".into())),
        ("targetId", Value::Text("peer-js".into())),
        ("message", Value::Text("read-only".into())),
        ("documentId", Value::Text(id.to_string())),
    ]);
    let decoded = Message::decode(&refusal).unwrap();
    assert_eq!(
        decoded,
        Message::Error {
            sender_id: "server".into(),
            message: "read-only".into(),
            target_id: Some("peer-js".into()),
            document_id: Some(id),
        }
    );
    assert_eq!(Message::decode(&decoded.encode()).unwrap(), decoded);
}

#[test]
fn bad_frames_say_what_is_wrong() {
    let check = |frame: Vec<u8>, expected: &str| {
        let err = Message::decode(&frame).unwrap_err().to_string();
        assert!(err.contains(expected), "{err:?} lacks {expected:?}");
    };
    let id = DocumentId::random().to_string();
    check(vec![0xff, 0x00], "not CBOR");
    check(vec![], "not CBOR");
    check(cbor(vec![]), "\"type\" is missing");
    check(vec![0x83, 1, 2, 3], "must be a CBOR map");
    check(
        cbor(vec![("type", Value::Text("gossip".into()))]),
        "unknown message type \"gossip\"",
    );
    check(
        cbor(vec![("type", Value::Integer(3.into()))]),
        "\"type\" should be text",
    );
    check(
        cbor(vec![
            ("type", Value::Text("sync".into())),
            ("senderId", Value::Text("a".into())),
            ("targetId", Value::Text("b".into())),
            ("documentId", Value::Text("not-an-id".into())),
            ("data", Value::Bytes(vec![])),
        ]),
        "not a document id",
    );
    check(
        cbor(vec![
            ("type", Value::Text("sync".into())),
            ("senderId", Value::Text("a".into())),
            ("targetId", Value::Text("b".into())),
            ("documentId", Value::Text(id)),
            ("data", Value::Text("not bytes".into())),
        ]),
        "\"data\" should be bytes",
    );
}

fn text(t: &str) -> Value {
    Value::Text(t.into())
}

/// A `request` whose `documentId` (or `senderId`) is `long`.
fn request_with(field: &str, long: &str) -> Vec<u8> {
    let id = DocumentId::random().to_string();
    let value = |name: &str, usual: &str| text(if name == field { long } else { usual });
    cbor(vec![
        ("type", text("request")),
        ("senderId", value("senderId", "peer")),
        ("targetId", text("server")),
        ("documentId", value("documentId", &id)),
        ("data", Value::Bytes(vec![0x42])),
    ])
}

#[test]
fn oversized_text_fields_are_refused_before_any_decoding_and_quoted_short() {
    use fiche_core::protocol::DecodeError;
    // A MiB of valid base58 took minutes to decode as an id (quadratic); 16 MiB of peer id
    // became a 16 MiB log line.
    let base58 = "2".repeat(1 << 20);
    let started = std::time::Instant::now();
    let err = Message::decode(&request_with("documentId", &base58)).unwrap_err();
    assert!(
        matches!(
            err,
            DecodeError::TooLong {
                field: "documentId",
                ..
            }
        ),
        "{err}"
    );
    let err = Message::decode(&request_with("senderId", &"p".repeat(16 << 20))).unwrap_err();
    assert!(
        matches!(
            err,
            DecodeError::TooLong {
                field: "senderId",
                ..
            }
        ),
        "{err}"
    );
    assert!(started.elapsed() < std::time::Duration::from_secs(2));
    // Short enough to be an id, but not one: the error quotes a prefix only.
    let err = Message::decode(&request_with("documentId", &"2".repeat(38))).unwrap_err();
    assert!(err.to_string().len() < 120, "{err}");
}

#[test]
fn a_frame_of_countless_tiny_items_is_refused_before_a_tree_is_built() {
    use fiche_core::protocol::DecodeError;
    // 32 MiB of one-byte integers made a value tree of about a GiB.
    let mut frame = vec![0x9a, 0x02, 0x00, 0x00, 0x00];
    frame.extend(std::iter::repeat_n(0x01, 1 << 25));
    assert_eq!(Message::decode(&frame), Err(DecodeError::TooComplex));
    let many = Value::Array((0..1000).map(|i| text(&i.to_string())).collect());
    let join = cbor(vec![
        ("type", text("join")),
        ("senderId", text("peer")),
        ("supportedProtocolVersions", many),
    ]);
    assert!(matches!(
        Message::decode(&join),
        Err(DecodeError::TooMany { .. })
    ));
}
