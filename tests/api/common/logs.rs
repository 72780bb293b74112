//! The node's JSON log lines caught per test.
//!
//! The test binary has one logger for the whole process, installed before the first
//! node starts, and it writes only on a thread whose test is capturing. A logger of the
//! test's own (`set_default` for one thread) is not enough: `tracing` caches per call
//! site whether anyone listens, and a site first reached by another test while no
//! logger listened could stay silent for this one too. One process-wide logger whose
//! answer never changes leaves that cache nothing to get wrong.

use std::cell::RefCell;
use std::io::Write;
use std::sync::{Arc, Mutex, Once, PoisonError};

use serde_json::Value;
use tracing_subscriber::EnvFilter;
use tracing_subscriber::filter::{FilterExt, dynamic_filter_fn};
use tracing_subscriber::layer::{Layer, SubscriberExt};

thread_local! {
    /// Where this thread's lines go while its test captures.
    static SINK: RefCell<Option<Arc<Mutex<Vec<u8>>>>> = const { RefCell::new(None) };
}

/// Installs the binary's logger once; every node the harness spawns calls it first.
pub fn install() {
    static INSTALL: Once = Once::new();
    INSTALL.call_once(|| {
        // Dynamic, so `tracing` asks on every line rather than caching the first answer.
        let capturing = dynamic_filter_fn(|_, _| SINK.with(|sink| sink.borrow().is_some()));
        let levels = EnvFilter::new("warn,urr_actors=debug,urr_http=info,tower_http=debug");
        let layer = urr::telemetry::json_layer(ThreadSink).with_filter(capturing.and(levels));
        tracing::subscriber::set_global_default(tracing_subscriber::registry().with(layer))
            .expect("the test binary installs its logger once");
    });
}

/// Writes into the current thread's capture, if it has one.
struct ThreadSink;

impl Write for ThreadSink {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        SINK.with(|sink| {
            if let Some(lines) = sink.borrow().as_ref() {
                lines
                    .lock()
                    .unwrap_or_else(PoisonError::into_inner)
                    .extend_from_slice(buf);
            }
        });
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl<'a> tracing_subscriber::fmt::MakeWriter<'a> for ThreadSink {
    type Writer = ThreadSink;

    fn make_writer(&'a self) -> ThreadSink {
        ThreadSink
    }
}

/// The JSON lines the node logged on this thread while the capture lives. The API tests
/// run on a current-thread runtime, so the node's tasks log on the test's thread.
pub struct Logs {
    lines: Arc<Mutex<Vec<u8>>>,
}

impl Logs {
    pub fn capture() -> Logs {
        install();
        // A site registered while the logger was being installed may have cached the
        // answer from before it; asking again settles every site against this logger.
        tracing::callsite::rebuild_interest_cache();
        let lines = Arc::new(Mutex::new(Vec::new()));
        SINK.with(|sink| *sink.borrow_mut() = Some(lines.clone()));
        Logs { lines }
    }

    /// Every line logged so far.
    pub fn lines(&self) -> Vec<Value> {
        let bytes = self
            .lines
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone();
        String::from_utf8_lossy(&bytes)
            .lines()
            .map(|line| serde_json::from_str::<Value>(line).expect("a JSON log line"))
            .collect()
    }
}

impl Drop for Logs {
    fn drop(&mut self) {
        SINK.with(|sink| *sink.borrow_mut() = None);
    }
}
