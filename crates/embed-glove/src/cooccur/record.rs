//! One co-occurrence entry and its two on-disk encodings.
//!
//! * [`Cooccurrence`] — the finished entry, stored as 12 bytes
//!   (`u32` word, `u32` context, `f32` value, little-endian) in matrix files
//!   and in memory.
//! * [`PartialCount`] — an entry of a spilled run while counting: the value
//!   is a partial sum kept in `f64` (16 bytes) so merging runs loses nothing.

use std::io::{self, Read, Write};

/// One non-zero entry `X[word, context]` of the co-occurrence matrix.
///
/// `word` and `context` are vocabulary ids (rows of the word and context
/// matrices); `count` is the distance-weighted count.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Cooccurrence {
    /// Id of the word whose vector `W` this entry trains.
    pub word: u32,
    /// Id of the context word whose vector `W̃` this entry trains.
    pub context: u32,
    /// Distance-weighted count, always positive.
    pub count: f32,
}

impl Cooccurrence {
    /// Bytes of one encoded entry.
    pub const ENCODED_LEN: usize = 12;

    pub(crate) fn encode(&self, out: &mut [u8]) {
        out[0..4].copy_from_slice(&self.word.to_le_bytes());
        out[4..8].copy_from_slice(&self.context.to_le_bytes());
        out[8..12].copy_from_slice(&self.count.to_le_bytes());
    }

    pub(crate) fn decode(bytes: &[u8]) -> Cooccurrence {
        let u = |i: usize| u32::from_le_bytes([bytes[i], bytes[i + 1], bytes[i + 2], bytes[i + 3]]);
        Cooccurrence {
            word: u(0),
            context: u(4),
            count: f32::from_bits(u(8)),
        }
    }
}

/// An entry of a sorted run while counting: a partial sum in `f64`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) struct PartialCount {
    pub word: u32,
    pub context: u32,
    pub count: f64,
}

impl PartialCount {
    pub const ENCODED_LEN: usize = 16;

    pub fn key(&self) -> (u32, u32) {
        (self.word, self.context)
    }

    pub fn write_to(&self, out: &mut impl Write) -> io::Result<()> {
        let mut buf = [0u8; Self::ENCODED_LEN];
        buf[0..4].copy_from_slice(&self.word.to_le_bytes());
        buf[4..8].copy_from_slice(&self.context.to_le_bytes());
        buf[8..16].copy_from_slice(&self.count.to_le_bytes());
        out.write_all(&buf)
    }

    /// Reads the next entry; `Ok(None)` at a clean end of input.
    pub fn read_from(input: &mut impl Read) -> io::Result<Option<PartialCount>> {
        let mut buf = [0u8; Self::ENCODED_LEN];
        let mut filled = 0;
        while filled < buf.len() {
            match input.read(&mut buf[filled..]) {
                Ok(0) if filled == 0 => return Ok(None),
                Ok(0) => return Err(io::ErrorKind::UnexpectedEof.into()),
                Ok(n) => filled += n,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => return Err(e),
            }
        }
        let mut w = [0u8; 4];
        let mut c = [0u8; 4];
        let mut v = [0u8; 8];
        w.copy_from_slice(&buf[0..4]);
        c.copy_from_slice(&buf[4..8]);
        v.copy_from_slice(&buf[8..16]);
        Ok(Some(PartialCount {
            word: u32::from_le_bytes(w),
            context: u32::from_le_bytes(c),
            count: f64::from_le_bytes(v),
        }))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn entries_round_trip_through_their_encodings() {
        let e = Cooccurrence {
            word: 7,
            context: 70_000,
            count: 0.125,
        };
        let mut buf = [0u8; Cooccurrence::ENCODED_LEN];
        e.encode(&mut buf);
        assert_eq!(Cooccurrence::decode(&buf), e);

        let p = PartialCount {
            word: 1,
            context: 2,
            count: 1.0 / 3.0,
        };
        let mut bytes = Vec::new();
        p.write_to(&mut bytes).unwrap();
        let mut input = &bytes[..];
        assert_eq!(PartialCount::read_from(&mut input).unwrap(), Some(p));
        assert_eq!(PartialCount::read_from(&mut input).unwrap(), None);
        let mut cut = &bytes[..5];
        assert!(PartialCount::read_from(&mut cut).is_err());
    }
}
