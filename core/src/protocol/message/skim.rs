//! A walk over a frame's CBOR item headers that builds nothing: it refuses a frame with more
//! items or deeper nesting than a protocol message has before a value tree is made of it (a
//! 32 MiB frame of tiny items made a tree about 30 times its size).

use super::{DecodeError, MAX_DEPTH, MAX_ITEMS};

/// Checks the shape of the first CBOR item of `bytes`.
pub(super) fn check(bytes: &[u8]) -> Result<(), DecodeError> {
    let mut walk = Walk {
        bytes,
        at: 0,
        items: 0,
    };
    walk.item(0)
}

fn truncated() -> DecodeError {
    DecodeError::Cbor("the frame ends inside an item".into())
}

/// Where the walk is in the frame, and how many items it has seen.
struct Walk<'a> {
    bytes: &'a [u8],
    at: usize,
    items: usize,
}

impl Walk<'_> {
    fn byte(&mut self) -> Result<u8, DecodeError> {
        let b = *self.bytes.get(self.at).ok_or_else(truncated)?;
        self.at += 1;
        Ok(b)
    }

    fn skip(&mut self, n: u64) -> Result<(), DecodeError> {
        let left = (self.bytes.len() - self.at) as u64;
        if n > left {
            return Err(truncated());
        }
        // `n` is at most what is left, which fits in a usize.
        self.at += n as usize;
        Ok(())
    }

    /// One item's major type and argument (`None`: indefinite length, or a break).
    fn head(&mut self) -> Result<(u8, Option<u64>), DecodeError> {
        let initial = self.byte()?;
        let (major, info) = (initial >> 5, initial & 0x1f);
        let width = match info {
            0..=23 => return Ok((major, Some(u64::from(info)))),
            24 => 1,
            25 => 2,
            26 => 4,
            27 => 8,
            31 => return Ok((major, None)),
            _ => {
                return Err(DecodeError::Cbor(format!(
                    "reserved item header {initial:#04x}"
                )))
            }
        };
        let mut argument = 0u64;
        for _ in 0..width {
            argument = (argument << 8) | u64::from(self.byte()?);
        }
        Ok((major, Some(argument)))
    }

    /// Whether the next byte is the break that ends an indefinite-length item (taken if so).
    fn at_break(&mut self) -> Result<bool, DecodeError> {
        let next = *self.bytes.get(self.at).ok_or_else(truncated)?;
        if next == 0xff {
            self.at += 1;
        }
        Ok(next == 0xff)
    }

    fn item(&mut self, depth: usize) -> Result<(), DecodeError> {
        self.items += 1;
        if self.items > MAX_ITEMS || depth > MAX_DEPTH {
            return Err(DecodeError::TooComplex);
        }
        match self.head()? {
            // Integers and simple values (their argument was the value), floats.
            (0 | 1 | 7, Some(_)) => Ok(()),
            (2 | 3, Some(n)) => self.skip(n),
            // An indefinite-length string: definite chunks of its own type until the break.
            (major @ (2 | 3), None) => {
                while !self.at_break()? {
                    match self.head()? {
                        (m, Some(n)) if m == major => self.skip(n)?,
                        _ => return Err(DecodeError::Cbor("a bad string chunk".into())),
                    }
                }
                Ok(())
            }
            (4, Some(n)) => self.items_of(n, depth),
            (5, Some(n)) => self.items_of(n.saturating_mul(2), depth),
            (4 | 5, None) => {
                while !self.at_break()? {
                    self.item(depth + 1)?;
                }
                Ok(())
            }
            (6, Some(_)) => self.item(depth + 1),
            _ => Err(DecodeError::Cbor("an unexpected break".into())),
        }
    }

    /// `n` items inside a list or map (the item count stops a huge `n` early).
    fn items_of(&mut self, n: u64, depth: usize) -> Result<(), DecodeError> {
        for _ in 0..n {
            self.item(depth + 1)?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cbor(value: &ciborium::Value) -> Vec<u8> {
        let mut out = Vec::new();
        let _ = ciborium::into_writer(value, &mut out);
        out
    }

    #[test]
    fn protocol_shaped_frames_pass() {
        use ciborium::Value::{Bytes, Map, Text};
        let frame = Map(vec![
            (Text("type".into()), Text("sync".into())),
            (Text("data".into()), Bytes(vec![7; 100_000])),
        ]);
        assert_eq!(check(&cbor(&frame)), Ok(()));
    }

    #[test]
    fn too_many_items_or_too_deep_is_refused() {
        use ciborium::Value::{Array, Integer};
        let wide = Array(vec![Integer(1.into()); MAX_ITEMS + 1]);
        assert_eq!(check(&cbor(&wide)), Err(DecodeError::TooComplex));
        let mut deep = Integer(0.into());
        for _ in 0..=MAX_DEPTH {
            deep = Array(vec![deep]);
        }
        assert_eq!(check(&cbor(&deep)), Err(DecodeError::TooComplex));
        // A list claiming 2^64 - 1 items stops at the limit, without reading them.
        let claim = [0x9b, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff];
        assert!(check(&claim).is_err());
    }

    #[test]
    fn truncated_and_reserved_headers_are_refused() {
        for bad in [
            &[][..],
            &[0x5a, 0, 0, 0, 9, 1],
            &[0x1c],
            &[0xff],
            &[0x5f, 0x61, 0x61],
        ] {
            assert!(matches!(check(bad), Err(DecodeError::Cbor(_))), "{bad:?}");
        }
    }
}
