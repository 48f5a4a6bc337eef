//! Helpers shared by the examples' tests.
#![allow(dead_code)]

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::time::Duration;

use asupersync::RuntimeBuilder;

/// Every scheduler flavor (as in the runtime's own tests): each server test runs on
/// each.
pub fn flavors() -> Vec<(&'static str, RuntimeBuilder)> {
    vec![
        ("current_thread", RuntimeBuilder::current_thread()),
        (
            "multi_thread",
            RuntimeBuilder::multi_thread().worker_threads(2),
        ),
    ]
}

/// How long a test client waits for the server before the test fails: generous, the
/// machine is shared.
pub const PATIENCE: Duration = Duration::from_secs(10);

/// A blocking client on its own thread, outside the runtime under test (so shutting
/// the runtime down does not touch it).
pub struct LineClient {
    reader: BufReader<TcpStream>,
    writer: TcpStream,
}

impl LineClient {
    pub fn connect(addr: SocketAddr) -> LineClient {
        let stream = TcpStream::connect(addr).expect("connect to the example server");
        stream.set_read_timeout(Some(PATIENCE)).unwrap();
        LineClient {
            reader: BufReader::new(stream.try_clone().unwrap()),
            writer: stream,
        }
    }

    pub fn send(&mut self, text: &str) {
        self.writer.write_all(text.as_bytes()).unwrap();
    }

    /// The next line, without its newline; `None` at end-of-file.
    pub fn line(&mut self) -> Option<String> {
        let mut line = String::new();
        match self.reader.read_line(&mut line) {
            Ok(0) => None,
            Ok(_) => Some(line.trim_end_matches('\n').to_string()),
            Err(e) => panic!("no line from the server within {PATIENCE:?}: {e}"),
        }
    }

    pub fn expect_line(&mut self, expected: &str) {
        assert_eq!(self.line().as_deref(), Some(expected));
    }

    /// Reads exactly `n` bytes.
    pub fn read_exact(&mut self, n: usize) -> Vec<u8> {
        let mut buf = vec![0; n];
        self.reader.read_exact(&mut buf).unwrap();
        buf
    }

    /// Asserts the server closed the connection (end-of-file, not a timeout).
    pub fn expect_eof(&mut self) {
        let mut rest = Vec::new();
        match self.reader.read_to_end(&mut rest) {
            Ok(_) => assert!(rest.is_empty(), "unexpected data before EOF: {rest:?}"),
            Err(e) => panic!("the server did not close the connection within {PATIENCE:?}: {e}"),
        }
    }

    /// Closes the sending direction (the server reads end-of-file).
    pub fn finish(&mut self) {
        self.writer.shutdown(std::net::Shutdown::Write).unwrap();
    }
}

/// Shuts the runtime down when dropped: a client thread holds one so that a failed
/// assertion on its side ends the server's `block_on` instead of hanging the test.
pub struct ShutdownOnDrop(pub asupersync::RuntimeHandle);

impl Drop for ShutdownOnDrop {
    fn drop(&mut self) {
        self.0
            .shutdown(asupersync::Budget::timeout(Duration::from_secs(1)));
    }
}
