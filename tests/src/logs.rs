//! Capturing every log line the in-process services write, so tests can check what operators
//! would see (e.g. that no secret ever appears). One capture per test binary.

use std::io::Write;
use std::sync::{Arc, Mutex, OnceLock};

#[derive(Clone, Default)]
pub struct Captured(Arc<Mutex<Vec<u8>>>);

impl Captured {
    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.0.lock().unwrap_or_else(|p| p.into_inner())).to_string()
    }
}

struct Sink(Captured);

impl Write for Sink {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0
             .0
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

static CAPTURE: OnceLock<Captured> = OnceLock::new();

/// Installs the JSON logger (default level) writing into a buffer; returns that buffer.
pub fn capture() -> Captured {
    CAPTURE
        .get_or_init(|| {
            let c = Captured::default();
            let sink = c.clone();
            herald_core::telemetry::init_with_writer("herald-test", move || Sink(sink.clone()));
            c
        })
        .clone()
}
