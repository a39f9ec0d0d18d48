//! A connection's queues between its socket task and the hub thread, each bounded in bytes, and
//! its inbound rate. Frames the hub sends wait in the outbox: a peer that lets more than
//! [`OUTBOX_BYTES`] pile up is cut off, so the hub never waits for a socket and never buffers
//! for one that does not read. Frames the socket hands the hub are in flight until handled: past
//! [`INBOX_BYTES`] the socket stops reading, and past [`RATE`] messages a second it reads
//! slower, so a fast sender is held back by TCP instead of buffered.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use tokio::sync::mpsc::{unbounded_channel, UnboundedReceiver, UnboundedSender};
use tokio::sync::Notify;
use tokio::time::Instant;

use crate::hub::Outgoing;

/// The most bytes queued for one peer. A frame that finds the queue empty always goes (a
/// document may be larger); beyond that, room for a window of 2048 answers of 16 KiB, what a
/// device's first sync asks at once.
pub const OUTBOX_BYTES: usize = 32 << 20;
/// The most bytes of one connection's frames handed to the hub and not yet handled (the first
/// one always goes, whatever its size).
pub const INBOX_BYTES: usize = 4 << 20;
/// Inbound messages a connection may send per second, sustained (a device's first sync sends
/// a few per document), and [`BURST`] at once.
pub const RATE: f64 = 10_000.0;
pub const BURST: f64 = 20_000.0;

/// What both ends share.
#[derive(Debug, Default)]
struct Shared {
    queued: AtomicUsize,
    in_flight: AtomicUsize,
    cut: Notify,
    room: Notify,
}

/// The peer let too many bytes pile up.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Full;

/// The hub's end of a connection.
#[derive(Debug, Clone)]
pub struct Outbox {
    frames: UnboundedSender<Outgoing>,
    shared: Arc<Shared>,
}

/// The socket writer's end: what to send.
#[derive(Debug)]
pub struct Writer {
    frames: UnboundedReceiver<Outgoing>,
    shared: Arc<Shared>,
}

/// The socket reader's end: room in the hub, and the rate.
#[derive(Debug)]
pub struct Reader {
    shared: Arc<Shared>,
    tokens: f64,
    at: Instant,
}

/// A new connection's three ends.
pub fn link() -> (Outbox, Writer, Reader) {
    let (frames, receiver) = unbounded_channel();
    let shared = Arc::new(Shared::default());
    let reader = Reader {
        shared: shared.clone(),
        tokens: BURST,
        at: Instant::now(),
    };
    let writer = Writer {
        frames: receiver,
        shared: shared.clone(),
    };
    (Outbox { frames, shared }, writer, reader)
}

impl Outbox {
    /// Queues a frame, unless the peer has not taken those before it and this one would pass
    /// [`OUTBOX_BYTES`].
    pub fn frame(&self, bytes: Vec<u8>) -> Result<(), Full> {
        let len = bytes.len();
        let before = self.shared.queued.fetch_add(len, Ordering::SeqCst);
        if before > 0 && before + len > OUTBOX_BYTES {
            self.shared.queued.fetch_sub(len, Ordering::SeqCst);
            return Err(Full);
        }
        // A writer gone has ended the connection already.
        let _ = self.frames.send(Outgoing::Frame(bytes));
        Ok(())
    }

    /// Closes the socket after the frames queued before.
    pub fn close(&self, reason: String) {
        let _ = self.frames.send(Outgoing::Close(reason));
    }

    /// Ends the connection now, whatever is queued.
    pub fn cut(&self) {
        self.shared.cut.notify_one();
    }

    /// The hub handled a frame of `bytes` the socket handed it.
    pub fn handled(&self, bytes: usize) {
        self.shared.in_flight.fetch_sub(bytes, Ordering::SeqCst);
        self.shared.room.notify_one();
    }

    /// Bytes queued for the peer.
    pub fn queued(&self) -> usize {
        self.shared.queued.load(Ordering::SeqCst)
    }
}

impl Writer {
    /// The next thing to send; `None` once the hub is gone or has cut the connection off.
    pub async fn next(&mut self) -> Option<Outgoing> {
        tokio::select! {
            o = self.frames.recv() => o,
            _ = self.shared.cut.notified() => None,
        }
    }

    /// A frame of `bytes` left.
    pub fn sent(&self, bytes: usize) {
        self.shared.queued.fetch_sub(bytes, Ordering::SeqCst);
    }

    /// Resolves when the hub cuts the connection off.
    pub async fn cut(&self) {
        self.shared.cut.notified().await;
    }
}

impl Reader {
    /// Waits until a message of `bytes` may go to the hub: its rate allows one more, and the
    /// hub has room for it; then counts it in flight.
    pub async fn admit(&mut self, bytes: usize) {
        self.refill();
        if self.tokens < 1.0 {
            // The timer counts whole milliseconds: wait for at least one (ten messages' worth).
            let wait = ((1.0 - self.tokens) / RATE).max(0.001);
            tokio::time::sleep(Duration::from_secs_f64(wait)).await;
            self.refill();
        }
        self.tokens -= 1.0;
        loop {
            let now = self.shared.in_flight.load(Ordering::SeqCst);
            if now == 0 || now + bytes <= INBOX_BYTES {
                self.shared.in_flight.fetch_add(bytes, Ordering::SeqCst);
                return;
            }
            self.shared.room.notified().await;
        }
    }

    fn refill(&mut self) {
        let now = Instant::now();
        let earned = now.duration_since(self.at).as_secs_f64() * RATE;
        self.tokens = (self.tokens + earned).min(BURST);
        self.at = now;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_peer_that_does_not_read_fills_its_outbox_then_is_refused() {
        let (outbox, _writer, _reader) = link();
        // The first frame goes whatever its size.
        assert_eq!(outbox.frame(vec![0; OUTBOX_BYTES + 1]), Ok(()));
        assert_eq!(outbox.frame(vec![0; 1]), Err(Full));
        assert_eq!(outbox.queued(), OUTBOX_BYTES + 1);
    }

    #[tokio::test]
    async fn what_was_sent_makes_room() {
        let (outbox, mut writer, _reader) = link();
        for _ in 0..4 {
            assert_eq!(outbox.frame(vec![0; OUTBOX_BYTES / 4]), Ok(()));
        }
        assert_eq!(outbox.frame(vec![0; 1]), Err(Full));
        if let Some(Outgoing::Frame(bytes)) = writer.next().await {
            writer.sent(bytes.len());
        }
        assert_eq!(outbox.frame(vec![0; 1]), Ok(()));
    }

    #[tokio::test]
    async fn the_reader_waits_for_the_hub_and_the_rate() {
        let (outbox, _writer, mut reader) = link();
        reader.admit(INBOX_BYTES).await;
        let waiting = tokio::time::timeout(Duration::from_millis(200), reader.admit(1)).await;
        assert!(waiting.is_err(), "admitted past the inbox bound");
        outbox.handled(INBOX_BYTES);
        reader.admit(1).await;
        outbox.handled(1);
        // The burst spent, messages come at the rate.
        let started = Instant::now();
        for _ in 0..(BURST as usize + RATE as usize) {
            reader.admit(0).await;
        }
        assert!(
            started.elapsed() >= Duration::from_millis(900),
            "{:?}",
            started.elapsed()
        );
    }
}
