//! The sans-IO protocol: devices and a hub exchange messages in memory. Live changes propagate
//! through the hub, offline edits converge whatever the reconnection order, bad input is
//! refused with an `error` and a close.
#![allow(clippy::unwrap_used)]

use std::collections::{HashMap, VecDeque};

use automerge::transaction::Transactable;
use automerge::{Automerge, ReadDoc, ROOT};
use fiche_core::protocol::{Action, Connection, Hub, Message, PeerMetadata, Side};
use fiche_core::DocumentId;

type Docs = HashMap<DocumentId, Automerge>;

struct Device {
    name: String,
    conn: Option<Connection>,
    docs: Docs,
}

impl Device {
    fn new(name: &str) -> Self {
        Self {
            name: name.into(),
            conn: None,
            docs: Docs::new(),
        }
    }

    fn put(&mut self, id: DocumentId, key: &str, value: &str) {
        let doc = self.docs.entry(id).or_default();
        let mut tx = doc.transaction();
        tx.put(ROOT, key, value).unwrap();
        tx.commit();
    }

    fn get(&self, id: &DocumentId, key: &str) -> Option<String> {
        let doc = self.docs.get(id)?;
        doc.get(ROOT, key)
            .unwrap()
            .map(|(v, _)| v.as_str().unwrap_or_default().to_string())
    }
}

/// Devices (connection i = device i) around a hub, messages delivered in order until quiet.
struct Net {
    hub: Hub<Docs>,
    devices: Vec<Device>,
    to_hub: VecDeque<(u64, Message)>,
    to_device: VecDeque<(u64, Message)>,
    closed: Vec<(u64, String)>,
}

impl Net {
    fn new(n: usize) -> Self {
        Self {
            hub: Hub::new(
                "hub".into(),
                PeerMetadata {
                    storage_id: Some("hub-store".into()),
                    is_ephemeral: false,
                },
                Docs::new(),
            ),
            devices: (0..n)
                .map(|i| Device::new(&format!("device-{i}")))
                .collect(),
            to_hub: VecDeque::new(),
            to_device: VecDeque::new(),
            closed: Vec::new(),
        }
    }

    fn connect(&mut self, i: usize) {
        let d = &mut self.devices[i];
        let conn = Connection::new(Side::Client, d.name.clone(), PeerMetadata::default());
        self.hub.connect(i as u64);
        self.to_hub.push_back((i as u64, conn.start().unwrap()));
        d.conn = Some(conn);
        self.run();
        // Once open, offer every local document.
        let ids: Vec<_> = self.devices[i].docs.keys().copied().collect();
        for id in ids {
            self.sync(i, id);
        }
    }

    fn disconnect(&mut self, i: usize) {
        self.hub.disconnect(i as u64);
        self.devices[i].conn = None;
    }

    fn sync(&mut self, i: usize, id: DocumentId) {
        let d = &mut self.devices[i];
        if let Some(m) = d.conn.as_mut().unwrap().sync_document(id, &mut d.docs) {
            self.to_hub.push_back((i as u64, m));
        }
        self.run();
    }

    /// Device `i` asks for `id`, which it does not hold: the kind of message it sent, and
    /// what the hub answers.
    fn ask(&mut self, i: usize, id: DocumentId) -> (&'static str, Vec<fiche_core::protocol::Out>) {
        let d = &mut self.devices[i];
        let m = d
            .conn
            .as_mut()
            .unwrap()
            .sync_document(id, &mut d.docs)
            .unwrap();
        let kind = m.kind();
        (kind, self.hub.receive(i as u64, m))
    }

    /// A device changed a document locally: tell the hub.
    fn local_change(&mut self, i: usize, id: DocumentId) {
        let d = &mut self.devices[i];
        if let Some(c) = d.conn.as_mut() {
            if let Some(m) = c.document_changed(&id, &mut d.docs) {
                self.to_hub.push_back((i as u64, m));
            }
        }
        self.run();
    }

    fn run(&mut self) {
        let mut steps = 0;
        while !self.to_hub.is_empty() || !self.to_device.is_empty() {
            steps += 1;
            assert!(steps < 10_000, "no quiescence");
            if let Some((conn, m)) = self.to_hub.pop_front() {
                for out in self.hub.receive(conn, m) {
                    match out.action {
                        Action::Send(m) => self.to_device.push_back((out.conn, m)),
                        Action::Close(reason) => self.closed.push((out.conn, reason)),
                        _ => {}
                    }
                }
            }
            if let Some((conn, m)) = self.to_device.pop_front() {
                let d = &mut self.devices[conn as usize];
                let Some(c) = d.conn.as_mut() else { continue };
                for action in c.receive(m, &mut d.docs) {
                    if let Action::Send(m) = action {
                        self.to_hub.push_back((conn, m));
                    }
                }
            }
        }
    }
}

#[test]
fn a_change_reaches_every_connected_device_through_the_hub() {
    let mut net = Net::new(3);
    let id = DocumentId::random();
    net.devices[0].put(id, "name", "Marie Dupont");
    for i in 0..3 {
        net.connect(i);
    }
    // Devices 1 and 2 ask for the document they learnt of.
    net.sync(1, id);
    net.sync(2, id);
    assert_eq!(
        net.devices[2].get(&id, "name").as_deref(),
        Some("Marie Dupont")
    );
    // A live edit on device 1 arrives on 0 and 2 without them asking.
    net.devices[1].put(id, "city", "Lyon");
    net.local_change(1, id);
    assert_eq!(net.devices[0].get(&id, "city").as_deref(), Some("Lyon"));
    assert_eq!(net.devices[2].get(&id, "city").as_deref(), Some("Lyon"));
    assert!(net.closed.is_empty(), "{:?}", net.closed);
}

#[test]
fn asking_for_an_unknown_document_gets_doc_unavailable() {
    let mut net = Net::new(1);
    net.connect(0);
    let id = DocumentId::random();
    let (kind, outs) = net.ask(0, id);
    assert_eq!(kind, "request");
    assert!(
        matches!(&outs[..], [o] if matches!(&o.action, Action::Send(Message::DocUnavailable { document_id, .. }) if *document_id == id)),
        "{outs:?}"
    );
}

#[test]
fn a_peer_asking_for_too_many_unknown_documents_is_closed() {
    let mut net = Net::new(1);
    net.connect(0);
    let ask = |net: &mut Net| net.ask(0, DocumentId::random()).1;
    // Each interest is kept, in case the document arrives later: up to a bound.
    for _ in 0..fiche_core::protocol::MAX_UNKNOWN_ASKED {
        let outs = ask(&mut net);
        assert!(
            matches!(&outs[..], [o] if matches!(&o.action, Action::Send(Message::DocUnavailable { .. }))),
            "{outs:?}"
        );
    }
    let outs = ask(&mut net);
    assert!(
        outs.iter().any(
            |o| matches!(&o.action, Action::Close(reason) if reason.contains("does not hold"))
        ),
        "{outs:?}"
    );
}

/// A tiny seeded generator, so a failing seed can be replayed.
struct Rng(u64);
impl Rng {
    fn next(&mut self, n: usize) -> usize {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        (self.0 % n as u64) as usize
    }
}

#[test]
fn offline_edits_converge_whatever_the_reconnection_order() {
    for seed in 1..=60u64 {
        let mut rng = Rng(seed.wrapping_mul(0x9E37_79B9_7F4A_7C15));
        let mut net = Net::new(3);
        let ids: Vec<DocumentId> = (0..3).map(|_| DocumentId::random()).collect();
        // Everyone starts with the same documents.
        net.devices[0].put(ids[0], "name", "shared");
        net.connect(0);
        for i in 1..3 {
            net.connect(i);
            net.sync(i, ids[0]);
        }
        for i in 0..3 {
            net.disconnect(i);
        }
        // Offline: random edits to shared and new documents.
        for _ in 0..12 {
            let dev = rng.next(3);
            let id = ids[rng.next(3)];
            let key = ["name", "city", "phone"][rng.next(3)];
            let value = format!("{}-{}", net.devices[dev].name, rng.next(1000));
            net.devices[dev].put(id, key, &value);
        }
        // Reconnect in a random order, twice round so late arrivals flow back.
        let mut order = [0, 1, 2];
        for k in (1..3).rev() {
            order.swap(k, rng.next(k + 1));
        }
        for &i in order.iter().chain(order.iter()) {
            net.disconnect(i);
            net.connect(i);
            for id in &ids {
                net.sync(i, *id);
            }
        }
        for id in &ids {
            let heads: Vec<_> = net
                .devices
                .iter()
                .map(|d| d.docs.get(id).map(|doc| doc.get_heads()))
                .collect();
            assert!(
                heads.windows(2).all(|w| w[0] == w[1]),
                "seed {seed}: document {id} diverged: {heads:?}"
            );
        }
    }
}

fn server() -> Hub<Docs> {
    Hub::new("hub".into(), PeerMetadata::default(), Docs::new())
}

fn join(sender: &str, versions: &[&str]) -> Message {
    Message::Join {
        sender_id: sender.into(),
        peer_metadata: PeerMetadata::default(),
        supported_protocol_versions: versions.iter().map(|v| v.to_string()).collect(),
    }
}

fn refused(outs: &[fiche_core::protocol::Out], words: &str) -> bool {
    outs.iter().any(|o| matches!(&o.action, Action::Send(Message::Error { message, .. }) if message.contains(words)))
        && outs.iter().any(|o| matches!(o.action, Action::Close(_)))
}

#[test]
fn bad_input_is_refused_with_an_error_and_a_close() {
    let mut hub = server();
    hub.connect(1);
    let outs = hub.receive(1, join("a", &["2"]));
    assert!(refused(&outs, "unsupported protocol version"), "{outs:?}");

    hub.connect(2);
    let outs = hub.receive(
        2,
        Message::Leave {
            sender_id: "b".into(),
        },
    );
    assert!(refused(&outs, "expected join"), "{outs:?}");

    hub.connect(3);
    hub.receive(3, join("c", &["1"]));
    let spoof = Message::Sync {
        sender_id: "someone-else".into(),
        target_id: "hub".into(),
        document_id: DocumentId::random(),
        data: vec![],
        preview: None,
    };
    let outs = hub.receive(3, spoof);
    assert!(refused(&outs, "senderId"), "{outs:?}");
    assert!(
        hub.connection(3).is_none(),
        "the spoofing connection is dropped"
    );

    hub.connect(4);
    hub.receive(4, join("d", &["1"]));
    let garbage = Message::Sync {
        sender_id: "d".into(),
        target_id: "hub".into(),
        document_id: DocumentId::random(),
        data: vec![1, 2, 3],
        preview: None,
    };
    let outs = hub.receive(4, garbage);
    assert!(refused(&outs, "bad sync message"), "{outs:?}");
}

/// A sync message from a peer that holds none of a document.
fn none_held() -> Vec<u8> {
    use automerge::sync::{State, SyncDoc};
    Automerge::new()
        .generate_sync_message(&mut State::new())
        .unwrap()
        .encode()
}

fn sync_from(sender: &str, id: DocumentId, data: Vec<u8>) -> Message {
    Message::Sync {
        sender_id: sender.into(),
        target_id: "hub".into(),
        document_id: id,
        data,
        preview: None,
    }
}

/// How many of `outs` carry changes of a document to `conn`.
fn copies_to(outs: &[fiche_core::protocol::Out], conn: u64) -> usize {
    outs.iter()
        .filter(|o| o.conn == conn)
        .filter(|o| match &o.action {
            Action::Send(Message::Sync { data, .. }) => {
                automerge::sync::Message::decode(data).is_ok_and(|m| !m.changes.is_empty())
            }
            _ => false,
        })
        .count()
}

#[test]
fn a_peer_repeating_that_it_holds_nothing_gets_one_copy_per_version() {
    let mut net = Net::new(2);
    let id = DocumentId::random();
    net.devices[0].put(id, "name", "Marie Dupont");
    net.connect(0);
    net.sync(0, id);
    // Device 1's connection, used by hand: it floods.
    net.connect(1);
    let mut copies = 0;
    for _ in 0..100 {
        let outs = net.hub.receive(1, sync_from("device-1", id, none_held()));
        copies += copies_to(&outs, 1);
    }
    // Each of those messages used to be answered with the whole document: 100 copies.
    assert_eq!(copies, 1);
    // A new version is sent whole once more.
    net.devices[0].put(id, "city", "Lyon");
    net.local_change(0, id);
    let copies: usize = (0..100)
        .map(|_| {
            copies_to(
                &net.hub.receive(1, sync_from("device-1", id, none_held())),
                1,
            )
        })
        .sum();
    assert_eq!(copies, 1);
}

#[test]
fn syncs_naming_unknown_documents_count_against_the_cap() {
    let mut hub = server();
    hub.connect(1);
    hub.receive(1, join("a", &["1"]));
    let limit = fiche_core::protocol::MAX_UNKNOWN_ASKED;
    for _ in 0..limit {
        let outs = hub.receive(1, sync_from("a", DocumentId::random(), none_held()));
        assert!(
            !outs.iter().any(|o| matches!(o.action, Action::Close(_))),
            "{outs:?}"
        );
    }
    let outs = hub.receive(1, sync_from("a", DocumentId::random(), none_held()));
    assert!(refused(&outs, "does not hold"), "{outs:?}");
}

#[test]
fn documents_that_arrive_no_longer_count_as_unknown() {
    // A device pushing its new records: each first message brings no change (counted), then
    // the changes come (no longer counted).
    let mut net = Net::new(1);
    net.connect(0);
    let push = |net: &mut Net| {
        let id = DocumentId::random();
        net.devices[0].put(id, "name", "Nouveau");
        net.sync(0, id);
    };
    let unknown = |net: &mut Net| {
        let m = sync_from("device-0", DocumentId::random(), none_held());
        net.hub.receive(0, m)
    };
    push(&mut net);
    for _ in 1..fiche_core::protocol::MAX_UNKNOWN_ASKED {
        unknown(&mut net);
    }
    push(&mut net);
    assert!(net.closed.is_empty(), "{:?}", net.closed);
    // One place left under the cap, then none.
    let outs = unknown(&mut net);
    assert!(!refused(&outs, "does not hold"), "{outs:?}");
    let outs = unknown(&mut net);
    assert!(refused(&outs, "does not hold"), "{outs:?}");
}

#[test]
fn a_waiting_request_gets_its_document_when_it_arrives_or_unavailable_at_the_deadline() {
    use fiche_core::protocol::Wait;
    use std::time::{Duration, Instant};
    let mut net = Net::new(3);
    for i in 0..3 {
        net.connect(i);
    }
    let (soon, never) = (DocumentId::random(), DocumentId::random());
    let t0 = Instant::now();
    let deadline = t0 + Duration::from_secs(3);
    // Devices 1 and 2 ask before anyone has them; a transport turns the answers into waits.
    for (i, id) in [(1, soon), (2, never), (2, soon)] {
        let (_, outs) = net.ask(i, id);
        assert!(
            matches!(&outs[..], [o] if matches!(o.action, Action::Send(Message::DocUnavailable { .. }))),
            "{outs:?}"
        );
        net.hub.wait(i as u64, id, Wait::Arrival, deadline);
    }
    // Device 0 refused to see `never` (another organisation's, say): answered at the deadline.
    net.hub.wait(0, never, Wait::Refusal, deadline);
    assert_eq!(net.hub.next_deadline(), Some(deadline));
    // Device 0 creates `soon`: device 1 gets it without asking again.
    net.devices[0].put(soon, "name", "Créé à l'instant");
    net.sync(0, soon);
    assert_eq!(
        net.devices[1].get(&soon, "name").as_deref(),
        Some("Créé à l'instant")
    );
    // Device 2 may not see `soon` (the transport's rule): it arrived, yet 2 hears it is not.
    let sees = |conn, id: &DocumentId| !(conn == 2 && *id == soon);
    let early = net.hub.expire(deadline - Duration::from_millis(1), sees);
    assert!(early.is_empty(), "{early:?}");
    let due = net.hub.expire(deadline, sees);
    let unavailable: Vec<(u64, DocumentId)> = due
        .iter()
        .filter_map(|o| match &o.action {
            Action::Send(Message::DocUnavailable { document_id, .. }) => {
                Some((o.conn, *document_id))
            }
            _ => None,
        })
        .collect();
    assert_eq!(unavailable.len(), 3, "{due:?}");
    for expected in [(2, never), (0, never), (2, soon)] {
        assert!(unavailable.contains(&expected), "{due:?}");
    }
    assert_eq!(net.hub.next_deadline(), None);
}
