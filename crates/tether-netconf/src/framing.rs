//! RFC 6242 §4 message framing: base:1.0 end-of-message (`]]>]]>`) and base:1.1 chunked
//! framing (`\n#<size>\n<data>…\n##\n`), strict and size-limited.
//!
//! The decoder is pure (bytes in, messages out) so it is tested without SSH. It refuses,
//! rather than guesses: a chunk header that is not exactly `\n#` + a size without leading
//! zero (1..=4294967295) + `\n`, and any message longer than the limit, are errors after
//! which the session is closed (RFC 6242 §4.2: the framing cannot be resynchronised).

use thiserror::Error;

/// The end-of-message marker of base:1.0.
pub const EOM: &[u8] = b"]]>]]>";
/// The largest chunk size RFC 6242 allows.
const MAX_CHUNK: u64 = 4_294_967_295;

/// Which framing a session uses. Hello messages are always end-of-message; both peers
/// advertising base:1.1 switch to chunked right after them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Framing {
    EndOfMessage,
    Chunked,
}

/// The peer broke the framing; the session must be closed.
#[derive(Debug, Error, PartialEq, Eq)]
pub enum FrameError {
    #[error("message larger than the limit of {limit} bytes")]
    TooLarge { limit: usize },
    #[error("malformed chunk header")]
    BadChunkHeader,
}

/// Where the chunked decoder is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Chunk {
    /// Expecting `\n#` then a size or `#`.
    Header,
    /// Inside a chunk, this many bytes left.
    Data(usize),
}

/// Splits a byte stream into NETCONF messages.
#[derive(Debug)]
pub struct Decoder {
    framing: Framing,
    limit: usize,
    buf: Vec<u8>,
    /// Chunked: the message assembled so far and the state.
    message: Vec<u8>,
    chunk: Chunk,
}

impl Decoder {
    /// A decoder for messages of at most `limit` bytes, starting in end-of-message framing.
    pub fn new(limit: usize) -> Self {
        Decoder {
            framing: Framing::EndOfMessage,
            limit,
            buf: Vec::new(),
            message: Vec::new(),
            chunk: Chunk::Header,
        }
    }

    /// Switches framing for the messages after the current one (after the hello).
    pub fn set_framing(&mut self, framing: Framing) {
        self.framing = framing;
    }

    /// Feeds bytes from the transport.
    pub fn push(&mut self, data: &[u8]) {
        self.buf.extend_from_slice(data);
    }

    /// The next complete message, if the bytes pushed so far hold one.
    pub fn next_message(&mut self) -> Result<Option<Vec<u8>>, FrameError> {
        match self.framing {
            Framing::EndOfMessage => self.next_eom(),
            Framing::Chunked => self.next_chunked(),
        }
    }

    fn next_eom(&mut self) -> Result<Option<Vec<u8>>, FrameError> {
        match find(&self.buf, EOM) {
            Some(at) if at > self.limit => Err(FrameError::TooLarge { limit: self.limit }),
            Some(at) => {
                let msg = self.buf[..at].to_vec();
                self.buf.drain(..at + EOM.len());
                Ok(Some(msg))
            }
            None if self.buf.len() > self.limit + EOM.len() => {
                Err(FrameError::TooLarge { limit: self.limit })
            }
            None => Ok(None),
        }
    }

    fn next_chunked(&mut self) -> Result<Option<Vec<u8>>, FrameError> {
        let mut pos = 0;
        let result = loop {
            match self.chunk {
                Chunk::Data(left) => {
                    let take = left.min(self.buf.len() - pos);
                    self.message.extend_from_slice(&self.buf[pos..pos + take]);
                    pos += take;
                    if take < left {
                        self.chunk = Chunk::Data(left - take);
                        break Ok(None);
                    }
                    self.chunk = Chunk::Header;
                }
                Chunk::Header => match parse_header(&self.buf[pos..])? {
                    None => break Ok(None),
                    Some((used, None)) => {
                        pos += used;
                        break Ok(Some(std::mem::take(&mut self.message)));
                    }
                    Some((used, Some(size))) => {
                        if self.message.len().saturating_add(size) > self.limit {
                            break Err(FrameError::TooLarge { limit: self.limit });
                        }
                        pos += used;
                        self.chunk = Chunk::Data(size);
                    }
                },
            }
        };
        self.buf.drain(..pos);
        result
    }
}

/// Parses `\n#<size>\n` (→ `Some(size)`) or `\n##\n` (→ `None`, end of message) at the start
/// of `b`; `Ok(None)` when more bytes are needed.
#[allow(clippy::type_complexity)]
fn parse_header(b: &[u8]) -> Result<Option<(usize, Option<usize>)>, FrameError> {
    const MAX_DIGITS: usize = 10;
    let need = |n: usize| b.len() < n;
    if need(1) {
        return Ok(None);
    }
    if b[0] != b'\n' {
        return Err(FrameError::BadChunkHeader);
    }
    if need(2) {
        return Ok(None);
    }
    if b[1] != b'#' {
        return Err(FrameError::BadChunkHeader);
    }
    if need(3) {
        return Ok(None);
    }
    if b[2] == b'#' {
        if need(4) {
            return Ok(None);
        }
        return if b[3] == b'\n' {
            Ok(Some((4, None)))
        } else {
            Err(FrameError::BadChunkHeader)
        };
    }
    if !(b'1'..=b'9').contains(&b[2]) {
        return Err(FrameError::BadChunkHeader);
    }
    let mut size: u64 = 0;
    for (i, &c) in b[2..].iter().enumerate() {
        match c {
            b'0'..=b'9' if i < MAX_DIGITS => {
                size = size * 10 + u64::from(c - b'0');
                if size > MAX_CHUNK {
                    return Err(FrameError::BadChunkHeader);
                }
            }
            b'\n' => {
                let size = usize::try_from(size).map_err(|_| FrameError::BadChunkHeader)?;
                return Ok(Some((2 + i + 1, Some(size))));
            }
            _ => return Err(FrameError::BadChunkHeader),
        }
    }
    Ok(None)
}

fn find(hay: &[u8], needle: &[u8]) -> Option<usize> {
    hay.windows(needle.len()).position(|w| w == needle)
}

/// Frames one message for sending.
pub fn encode(framing: Framing, message: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(message.len() + 16);
    match framing {
        Framing::EndOfMessage => {
            out.extend_from_slice(message);
            out.extend_from_slice(EOM);
        }
        Framing::Chunked => {
            if !message.is_empty() {
                out.extend_from_slice(format!("\n#{}\n", message.len()).as_bytes());
                out.extend_from_slice(message);
            }
            out.extend_from_slice(b"\n##\n");
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn chunked(limit: usize) -> Decoder {
        let mut d = Decoder::new(limit);
        d.set_framing(Framing::Chunked);
        d
    }

    #[test]
    fn end_of_message() {
        let mut d = Decoder::new(100);
        d.push(b"<a/>]]>]]><b/>]]>");
        assert_eq!(d.next_message().unwrap(), Some(b"<a/>".to_vec()));
        assert_eq!(d.next_message().unwrap(), None);
        d.push(b"]]>");
        assert_eq!(d.next_message().unwrap(), Some(b"<b/>".to_vec()));
    }

    #[test]
    fn rfc6242_example() {
        // RFC 6242 §4.2's example: two chunks of 4 and 18 bytes.
        let mut d = chunked(100);
        d.push(b"\n#4\n<rpc\n#18\n message-id=\"102\"\n\n##\n");
        assert_eq!(
            d.next_message().unwrap(),
            Some(b"<rpc message-id=\"102\"\n".to_vec())
        );
        assert_eq!(d.next_message().unwrap(), None);
    }

    #[test]
    fn bad_headers() {
        for bad in [
            &b"#4\n"[..],
            b"\n4\n",
            b"\n#04\n",
            b"\n#0\n",
            b"\n#4294967296\n",
            b"\n#12345678901\n",
            b"\n#4x\n",
            b"\n##x",
            b"\n#-1\n",
        ] {
            let mut d = chunked(1 << 40);
            d.push(bad);
            assert_eq!(d.next_message(), Err(FrameError::BadChunkHeader), "{bad:?}");
        }
    }

    #[test]
    fn limits() {
        let mut d = chunked(10);
        d.push(b"\n#6\nabcdef\n#6\n");
        assert_eq!(d.next_message(), Err(FrameError::TooLarge { limit: 10 }));
        let mut d = Decoder::new(4);
        d.push(b"abcdefghijk");
        assert_eq!(d.next_message(), Err(FrameError::TooLarge { limit: 4 }));
        let mut d = Decoder::new(4);
        d.push(b"abcd]]>]]>");
        assert_eq!(d.next_message().unwrap(), Some(b"abcd".to_vec()));
    }

    #[test]
    fn hello_then_chunked() {
        let mut d = Decoder::new(100);
        d.push(b"<hello/>]]>]]>\n#3\nabc\n##\n");
        assert_eq!(d.next_message().unwrap(), Some(b"<hello/>".to_vec()));
        d.set_framing(Framing::Chunked);
        assert_eq!(d.next_message().unwrap(), Some(b"abc".to_vec()));
    }

    proptest! {
        /// encode ∘ decode is the identity for any messages, however the bytes are split.
        #[test]
        fn roundtrip_any_split(
            msgs in proptest::collection::vec(proptest::collection::vec(any::<u8>(), 1..200), 1..5),
            cuts in proptest::collection::vec(1usize..50, 0..20),
        ) {
            let mut wire = Vec::new();
            for m in &msgs {
                wire.extend(encode(Framing::Chunked, m));
            }
            let mut d = chunked(1000);
            let mut got = Vec::new();
            let mut rest = &wire[..];
            for c in cuts.iter().chain(std::iter::repeat(&7)) {
                if rest.is_empty() { break; }
                let n = (*c).min(rest.len());
                d.push(&rest[..n]);
                rest = &rest[n..];
                while let Some(m) = d.next_message().unwrap() {
                    got.push(m);
                }
            }
            prop_assert_eq!(got, msgs);
        }

        /// Arbitrary bytes never panic the decoder, and it never returns more than the limit.
        #[test]
        fn garbage_is_refused_or_bounded(bytes in proptest::collection::vec(any::<u8>(), 0..300)) {
            for framing in [Framing::Chunked, Framing::EndOfMessage] {
                let mut d = Decoder::new(64);
                d.set_framing(framing);
                d.push(&bytes);
                while let Ok(Some(m)) = d.next_message() {
                    prop_assert!(m.len() <= 64);
                }
            }
        }
    }
}
