//! Guest standard output and error as log events: one `tracing` event per line, with the
//! component and the stream, so that `--log json` prints nothing but JSON.

use std::io;
use std::pin::Pin;
use std::sync::{Arc, Mutex, PoisonError};
use std::task::{Context, Poll};

use bytes::Bytes;
use tokio::io::AsyncWrite;
use wasmtime_wasi::cli::{IsTerminal, StdoutStream};
use wasmtime_wasi::p2::{OutputStream, Pollable, StreamResult};

/// Longest line kept whole, in bytes; a longer one is logged in pieces of this size, so a
/// guest that never prints a newline holds at most this much per stream.
pub const MAX_LINE_BYTES: usize = 16 * 1024;

/// Bytes a guest may hand over in one write.
const WRITE_PERMIT_BYTES: usize = 64 * 1024;

/// Which of a guest's output streams.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Stream {
    Stdout,
    Stderr,
}

impl Stream {
    /// The `stream` field of the log event.
    pub fn name(self) -> &'static str {
        match self {
            Stream::Stdout => "stdout",
            Stream::Stderr => "stderr",
        }
    }
}

/// One output stream of one instance; clones share its line buffer, and the last one
/// dropped (with the store) logs an unfinished line.
#[derive(Clone)]
pub struct GuestOutput {
    shared: Arc<Mutex<Shared>>,
}

struct Shared {
    component: String,
    stream: Stream,
    lines: LineBuffer,
}

impl GuestOutput {
    /// The `stream` of an instance of `component`.
    pub fn new(component: &str, stream: Stream) -> Self {
        let shared = Shared {
            component: component.to_string(),
            stream,
            lines: LineBuffer::default(),
        };
        GuestOutput {
            shared: Arc::new(Mutex::new(shared)),
        }
    }

    fn write(&self, bytes: &[u8]) {
        let mut shared = self.shared.lock().unwrap_or_else(PoisonError::into_inner);
        let Shared {
            component,
            stream,
            lines,
        } = &mut *shared;
        lines.push(bytes, |line| emit(component, *stream, line));
    }
}

impl Drop for Shared {
    fn drop(&mut self) {
        let (component, stream) = (&self.component, self.stream);
        self.lines.finish(|line| emit(component, stream, line));
    }
}

fn emit(component: &str, stream: Stream, line: &[u8]) {
    let line = String::from_utf8_lossy(line);
    tracing::info!(component = %component, stream = stream.name(), line = %line, "Guest output");
}

/// Splits written bytes into lines, holding at most [`MAX_LINE_BYTES`] of an unfinished one.
#[derive(Debug, Default)]
struct LineBuffer {
    pending: Vec<u8>,
}

impl LineBuffer {
    /// Appends `bytes`, handing every finished line (without `\n` or `\r\n`) to `line`.
    fn push(&mut self, mut bytes: &[u8], mut line: impl FnMut(&[u8])) {
        while !bytes.is_empty() {
            let room = MAX_LINE_BYTES - self.pending.len();
            let newline = bytes.iter().take(room).position(|&b| b == b'\n');
            let taken = newline.unwrap_or(room.min(bytes.len()));
            self.pending.extend_from_slice(&bytes[..taken]);
            bytes = &bytes[taken..];
            if let Some(rest) = bytes.strip_prefix(b"\n") {
                bytes = rest;
                self.take(&mut line);
            } else if self.pending.len() == MAX_LINE_BYTES {
                self.take(&mut line);
            }
        }
    }

    /// Hands an unfinished line, if any, to `line`.
    fn finish(&mut self, mut line: impl FnMut(&[u8])) {
        if !self.pending.is_empty() {
            self.take(&mut line);
        }
    }

    fn take(&mut self, line: &mut impl FnMut(&[u8])) {
        let text = self.pending.strip_suffix(b"\r").unwrap_or(&self.pending);
        line(text);
        self.pending.clear();
    }
}

impl IsTerminal for GuestOutput {
    fn is_terminal(&self) -> bool {
        false
    }
}

impl StdoutStream for GuestOutput {
    fn p2_stream(&self) -> Box<dyn OutputStream> {
        Box::new(self.clone())
    }

    fn async_stream(&self) -> Box<dyn AsyncWrite + Send + Sync> {
        Box::new(self.clone())
    }
}

#[wasmtime_wasi::async_trait]
impl Pollable for GuestOutput {
    async fn ready(&mut self) {}
}

impl OutputStream for GuestOutput {
    fn write(&mut self, bytes: Bytes) -> StreamResult<()> {
        GuestOutput::write(self, &bytes);
        Ok(())
    }

    fn flush(&mut self) -> StreamResult<()> {
        Ok(())
    }

    fn check_write(&mut self) -> StreamResult<usize> {
        Ok(WRITE_PERMIT_BYTES)
    }
}

impl AsyncWrite for GuestOutput {
    fn poll_write(
        self: Pin<&mut Self>,
        _: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        self.write(buf);
        Poll::Ready(Ok(buf.len()))
    }

    fn poll_flush(self: Pin<&mut Self>, _: &mut Context<'_>) -> Poll<io::Result<()>> {
        Poll::Ready(Ok(()))
    }

    fn poll_shutdown(self: Pin<&mut Self>, _: &mut Context<'_>) -> Poll<io::Result<()>> {
        Poll::Ready(Ok(()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn lines_of(writes: &[&[u8]]) -> Vec<String> {
        let mut buffer = LineBuffer::default();
        let mut lines = Vec::new();
        let mut collect = |l: &[u8]| lines.push(String::from_utf8_lossy(l).into_owned());
        for bytes in writes {
            buffer.push(bytes, &mut collect);
        }
        buffer.finish(&mut collect);
        lines
    }

    #[test]
    fn splits_writes_into_lines_across_write_boundaries() {
        let lines = lines_of(&[b"one\ntw", b"o\r\n", b"\nthree"]);
        assert_eq!(lines, ["one", "two", "", "three"]);
    }

    #[test]
    fn output_without_newlines_is_logged_in_bounded_pieces() {
        let long = vec![b'x'; MAX_LINE_BYTES * 2 + 5];
        let lines = lines_of(&[&long[..10], &long[10..]]);
        let lengths: Vec<usize> = lines.iter().map(String::len).collect();
        assert_eq!(lengths, [MAX_LINE_BYTES, MAX_LINE_BYTES, 5]);
    }

    #[test]
    fn line_of_exactly_the_limit_is_one_line() {
        let mut bytes = vec![b'y'; MAX_LINE_BYTES];
        bytes.extend_from_slice(b"\nz\n");
        let lines = lines_of(&[&bytes]);
        let lengths: Vec<usize> = lines.iter().map(String::len).collect();
        assert_eq!(lengths, [MAX_LINE_BYTES, 1]);
    }

    #[test]
    fn nothing_written_logs_nothing() {
        assert!(lines_of(&[b""]).is_empty());
    }
}
