//! Decoding received frames and loading the documents they bring, on a thread of its own: a
//! fresh device spends most of its time loading documents, and this lets it load one batch
//! while the session writes the one before. Batches come out in the order they went in.

use std::collections::VecDeque;
use std::sync::mpsc;
use std::sync::Arc;

use tokio::sync::mpsc as tokio_mpsc;
use tokio_tungstenite::tungstenite::Bytes;

use super::engine::SyncError;
use super::session::{prepare, Incoming};
use crate::book::Book;
use crate::protocol::Message;

/// Batches handed over and not yet taken back, at most: enough to keep the loader busy
/// while the session writes, few enough to bound memory.
const IN_FLIGHT: usize = 2;

/// Batches this small are prepared on the caller's thread when nothing is in flight: a live
/// edit does not pay for a thread hop.
const INLINE: usize = 16;

type Prepared = Result<Vec<Incoming>, SyncError>;

pub(super) struct Loader {
    book: Arc<Book>,
    /// `None` when no thread could be started: everything is then prepared inline.
    input: Option<mpsc::Sender<Vec<Bytes>>>,
    output: tokio_mpsc::UnboundedReceiver<Prepared>,
    /// Prepared inline, waiting to be taken (ahead of nothing: only when none is in flight).
    ready: VecDeque<Prepared>,
    in_flight: usize,
}

impl Loader {
    pub fn start(book: Arc<Book>) -> Self {
        let (input, frames) = mpsc::channel::<Vec<Bytes>>();
        let (done, output) = tokio_mpsc::unbounded_channel();
        let thread_book = book.clone();
        let spawned = std::thread::Builder::new()
            .name("fiche-sync-loader".into())
            .spawn(move || {
                // Ends when the session drops its sender (or stops listening).
                while let Ok(batch) = frames.recv() {
                    if done.send(load(&thread_book, batch)).is_err() {
                        break;
                    }
                }
            });
        Self {
            book,
            input: spawned.is_ok().then_some(input),
            output,
            ready: VecDeque::new(),
            in_flight: 0,
        }
    }

    /// Whether it takes no more batches until one is taken back.
    pub fn full(&self) -> bool {
        self.in_flight >= IN_FLIGHT
    }

    /// Whether a batch is on its way back.
    pub fn pending(&self) -> bool {
        self.in_flight > 0 || !self.ready.is_empty()
    }

    /// Hands over the binary frames of one batch.
    pub fn send(&mut self, frames: Vec<Bytes>) {
        if self.in_flight == 0 && frames.len() <= INLINE {
            self.ready.push_back(load(&self.book, frames));
            return;
        }
        let sent = match &self.input {
            Some(input) => input.send(frames).is_ok(),
            None => {
                // No thread: the batch is prepared here (and in order, as nothing is in flight).
                self.ready.push_back(load(&self.book, frames));
                return;
            }
        };
        if sent {
            self.in_flight += 1;
        } else {
            self.input = None;
            self.ready.push_back(Err(stopped()));
        }
    }

    /// The next batch, in order.
    pub async fn next(&mut self) -> Prepared {
        if let Some(ready) = self.ready.pop_front() {
            return ready;
        }
        let prepared = self.output.recv().await;
        self.in_flight = self.in_flight.saturating_sub(1);
        prepared.unwrap_or_else(|| Err(stopped()))
    }
}

fn stopped() -> SyncError {
    SyncError::Refused("the thread loading received documents stopped".into())
}

/// Decodes one batch of frames and loads the documents they bring.
fn load(book: &Book, frames: Vec<Bytes>) -> Prepared {
    let messages = frames
        .iter()
        .map(|bytes| Message::decode(bytes))
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| SyncError::Refused(format!("the server sent a bad message: {e}")))?;
    Ok(prepare(book, messages)?)
}
