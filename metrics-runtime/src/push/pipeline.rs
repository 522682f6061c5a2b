//! The push task shared by the HTTP exporters: periodic read, bounded queue, one request in
//! flight, retries with backoff and jitter, circuit breaker, load shedding.

use std::collections::VecDeque;
use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::sync::atomic::{AtomicU64, Ordering::Relaxed};
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime};

use bytes::Bytes;
use hyper::StatusCode;
use tokio::sync::{mpsc, oneshot};
use tokio::time::Instant;

use super::breaker::{BreakerConfig, MetricCircuitBreaker};
use super::client::{Answer, Call, HttpClient};
use super::driver::{self, Activity, Commands};
use super::source::Source;
use super::stats::{DropReason, ExporterKind, ExporterOutcome, PushTotals, RequestOutcome, Totals, PUSH_STATS};

/// Retry timing: exponential backoff with jitter, and how far a `Retry-After` is followed.
///
/// The n-th retry of a batch waits `initial * 2^(n-1)`, capped at `max`, of which the fraction
/// `jitter` is random (so that a fleet that lost its receiver at once does not come back at
/// once); a `Retry-After` longer than that is waited instead, up to `max_retry_after`.
///
/// # Examples
///
/// ```
/// use std::time::Duration;
/// use metrics_runtime::push::Backoff;
///
/// let backoff = Backoff { jitter: 0.0, ..Backoff::default() };
/// assert_eq!(backoff.delay(1), Duration::from_millis(500));
/// assert_eq!(backoff.delay(3), Duration::from_secs(2));
/// assert_eq!(backoff.delay(30), Duration::from_secs(30)); // capped
/// let jittered = Backoff::default().delay(2);
/// assert!(jittered >= Duration::from_millis(500) && jittered <= Duration::from_secs(1));
/// ```
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Backoff {
    /// The first retry's delay. Default 500 ms.
    pub initial: Duration,
    /// The longest delay. Default 30 s.
    pub max: Duration,
    /// The random fraction of each delay, 0 to 1. Default 0.5: a delay `d` is uniform in
    /// `[d/2, d]`.
    pub jitter: f64,
    /// The longest `Retry-After` followed. Default 5 min.
    pub max_retry_after: Duration,
}

impl Default for Backoff {
    fn default() -> Self {
        Self {
            initial: Duration::from_millis(500),
            max: Duration::from_secs(30),
            jitter: 0.5,
            max_retry_after: Duration::from_secs(300),
        }
    }
}

impl Backoff {
    /// The delay before retry number `attempt` (1 for the first retry).
    pub fn delay(&self, attempt: u32) -> Duration {
        let exp = attempt.saturating_sub(1).min(30);
        let full = self.initial.saturating_mul(1u32 << exp).min(self.max);
        let jitter = self.jitter.clamp(0.0, 1.0);
        full.mul_f64(1.0 - jitter * fastrand::f64())
    }
}

/// Load shedding, in this order: when a read finds the queue full, the oldest batch is dropped
/// (always); when a read had to drop (the receiver takes batches slower than they come), the
/// interval doubles too, up to `max_widen` times the configured one; it halves back
/// at each read that finds the queue at or below `low_water` and requests faster than half the
/// interval.
///
/// # Examples
///
/// ```
/// use metrics_runtime::push::BackpressureConfig;
///
/// assert_eq!(BackpressureConfig::default(), BackpressureConfig { low_water: 0.25, max_widen: 8 });
/// ```
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct BackpressureConfig {
    /// The fraction of [`PushConfig::max_queued_batches`] at or below which a widened interval
    /// narrows back. Default 0.25.
    pub low_water: f64,
    /// The most the interval widens: up to this many times the configured one (1 turns widening
    /// off). Default 8.
    pub max_widen: u32,
}

impl Default for BackpressureConfig {
    fn default() -> Self {
        Self { low_water: 0.25, max_widen: 8 }
    }
}

/// The settings every push exporter shares.
///
/// # Examples
///
/// ```
/// use std::time::Duration;
/// use metrics_runtime::push::PushConfig;
///
/// let config = PushConfig { interval: Duration::from_secs(15), ..PushConfig::default() };
/// assert_eq!(config.max_queued_batches, 16);
/// assert_eq!(PushConfig::default().interval, Duration::from_secs(10));
/// ```
#[derive(Debug, Clone, PartialEq)]
pub struct PushConfig {
    /// How often the source is read and a batch queued. Default 10 s.
    pub interval: Duration,
    /// The longest a request may take, connection and answer included. Default 10 s.
    pub timeout: Duration,
    /// The most batches waiting to be sent; a new batch finding the queue full drops the
    /// oldest. Default 16 (at a 10 s interval, 160 s of outage kept).
    pub max_queued_batches: usize,
    /// Retry timing.
    pub backoff: Backoff,
    /// The circuit breaker.
    pub breaker: BreakerConfig,
    /// When the interval widens.
    pub backpressure: BackpressureConfig,
    /// The roots trusted for `https://` URLs (feature `tls`): Mozilla's by default.
    #[cfg(feature = "tls")]
    pub tls: crate::tls::ClientTls,
}

impl Default for PushConfig {
    fn default() -> Self {
        Self {
            interval: Duration::from_secs(10),
            timeout: Duration::from_secs(10),
            max_queued_batches: 16,
            backoff: Backoff::default(),
            breaker: BreakerConfig::default(),
            backpressure: BackpressureConfig::default(),
            #[cfg(feature = "tls")]
            tls: crate::tls::ClientTls::default(),
        }
    }
}

/// One encoded read: a request body and the points it carries.
#[derive(Debug, Clone)]
pub(crate) struct Batch {
    pub(crate) body: Bytes,
    pub(crate) points: u64,
}

/// What an exporter adds to the pipeline: its encoder and its requests.
pub(crate) trait Protocol: Send + 'static {
    /// The `exporter` label.
    const KIND: ExporterKind;
    /// Encodes a read of `source` taken at `at`; `None` when there is nothing to send.
    fn encode(&mut self, source: &Source, at: SystemTime) -> Option<Batch>;
    /// The request that sends a batch body.
    fn call(&self, body: Bytes) -> Call;
    /// Whether an answer with this status is retried. By default 429 and every 5xx.
    fn retryable(&self, status: StatusCode) -> bool {
        status == StatusCode::TOO_MANY_REQUESTS || status.is_server_error()
    }
    /// How many points of an accepted batch the answer says were rejected.
    fn rejected_points(&self, body: &[u8]) -> u64 {
        let _ = body;
        0
    }
    /// The request made at shutdown, after the last batch (the Pushgateway's DELETE).
    fn farewell(&self) -> Option<Call> {
        None
    }
}

/// What a [`PushExporter::flush`] did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PushReport {
    /// Points read into the new batch.
    pub points_read: u64,
    /// Batches the receiver accepted.
    pub batches_sent: u64,
    /// Points in them.
    pub points_sent: u64,
    /// The status of the last answer, if one came.
    pub last_status: Option<u16>,
    /// Whether batches are still queued (the receiver failed, or the breaker is open).
    pub pending: bool,
    /// The last failure of this flush (a status and the start of its body, or the connection
    /// error), if it had one.
    pub error: Option<String>,
}

enum Command {
    Flush(oneshot::Sender<PushReport>),
    Shutdown(oneshot::Sender<PushReport>),
}

/// What the exporter handle and its task share.
#[derive(Debug, Default)]
struct Shared {
    totals: Totals,
    /// The interval in force, in nanoseconds.
    interval_nanos: AtomicU64,
    last_error: Mutex<Option<String>>,
}

/// A running push exporter: a tokio task reading its [`Source`] every interval and sending
/// what it read (see [the module](super)). Dropping the handle stops the task as
/// [`shutdown`](Self::shutdown) does (a last push, the farewell request), in the background. Made by an exporter's `start`
/// ([`otlp::start`](super::otlp::start), [`remote_write::start`](super::remote_write::start),
/// [`pushgateway::start`](super::pushgateway::start)).
pub struct PushExporter {
    kind: ExporterKind,
    commands: Commands<Command>,
    shared: Arc<Shared>,
    breaker: Arc<MetricCircuitBreaker>,
    task: tokio::task::JoinHandle<()>,
}

impl fmt::Debug for PushExporter {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PushExporter").field("kind", &self.kind).field("totals", &self.totals()).finish_non_exhaustive()
    }
}

impl PushExporter {
    /// Starts the task, on the push thread (see the module docs): any thread may call it.
    pub(crate) fn start<P: Protocol>(protocol: P, source: Source, config: PushConfig) -> Self {
        let breaker = Arc::new(MetricCircuitBreaker::new(config.breaker));
        let shared = Arc::new(Shared::default());
        shared.interval_nanos.store(nanos(config.interval), Relaxed);
        let (commands, rx) = mpsc::channel(4);
        PUSH_STATS.interval_seconds.with(P::KIND).set(config.interval.as_secs_f64());
        let task = Task {
            client: HttpClient::new(
                config.timeout,
                #[cfg(feature = "tls")]
                &config.tls,
            ),
            protocol,
            source,
            queue: VecDeque::new(),
            current: None,
            attempt: 0,
            retry_at: None,
            widen: 1,
            energy: 1,
            latency: None,
            breaker: Arc::clone(&breaker),
            shared: Arc::clone(&shared),
            config,
            last_maintenance: None,
        };
        let task = driver::spawn(task.run(rx));
        Self { kind: P::KIND, commands: Commands::new(commands), shared, breaker, task }
    }

    /// Reads the source now and sends every queued batch, oldest first, one attempt each
    /// (stopping at the first failure; no backoff wait, but an open breaker is respected).
    /// Returns once done.
    pub async fn flush(&self) -> PushReport {
        let (tx, rx) = oneshot::channel();
        if self.commands.send(Command::Flush(tx)).await.is_err() {
            return PushReport::default();
        }
        rx.await.unwrap_or_default()
    }

    /// Reads the source a last time, sends what is queued (each request bounded by the
    /// timeout, stopping at the first failure), makes the protocol's farewell request (the
    /// Pushgateway's DELETE when asked), counts what is left as dropped (`shutdown`) and stops.
    pub async fn shutdown(self) -> PushReport {
        let (tx, rx) = oneshot::channel();
        if self.commands.send(Command::Shutdown(tx)).await.is_err() {
            return PushReport::default();
        }
        let report = rx.await.unwrap_or_default();
        let _ = self.task.await;
        report
    }

    /// This exporter's totals so far.
    pub fn totals(&self) -> PushTotals {
        self.shared.totals.read()
    }

    /// The interval in force: the configured one, or wider under backpressure.
    pub fn interval(&self) -> Duration {
        Duration::from_nanos(self.shared.interval_nanos.load(Relaxed))
    }

    /// The circuit breaker guarding the requests.
    pub fn breaker(&self) -> &Arc<MetricCircuitBreaker> {
        &self.breaker
    }

    /// The last failure: a status and the start of its body, or the connection error.
    pub fn last_error(&self) -> Option<String> {
        self.shared.last_error.lock().unwrap_or_else(|e| e.into_inner()).clone()
    }

    /// Which exporter this is.
    pub fn kind(&self) -> ExporterKind {
        self.kind
    }
}

fn nanos(d: Duration) -> u64 {
    u64::try_from(d.as_nanos()).unwrap_or(u64::MAX)
}

type InFlight = Pin<Box<dyn Future<Output = (Answer, Duration)> + Send>>;

struct Task<P> {
    protocol: P,
    source: Source,
    client: HttpClient,
    config: PushConfig,
    /// Batches not yet sent, oldest first.
    queue: VecDeque<Batch>,
    /// The batch of the request in flight, or of the retry being waited for.
    current: Option<Batch>,
    /// Failed attempts of `current`.
    attempt: u32,
    retry_at: Option<Instant>,
    /// The interval in force is `config.interval * widen * energy`.
    widen: u32,
    /// The energy policy's factor as of the last read.
    energy: u32,
    /// A moving average of request durations.
    latency: Option<Duration>,
    breaker: Arc<MetricCircuitBreaker>,
    shared: Arc<Shared>,
    last_maintenance: Option<Instant>,
}

/// How often a pipeline runs [`Source::maintain`] after its read (a `BoundedRegistry` evicts
/// its idle series then).
const MAINTENANCE_INTERVAL: Duration = Duration::from_secs(60);

/// How a request ended, for the task's bookkeeping.
enum Sent {
    Ok,
    Retry,
    Dropped,
}

impl<P: Protocol> Task<P> {
    async fn run(mut self, mut commands: mpsc::Receiver<Command>) {
        let activity = Activity::new();
        self.energy = crate::energy::refresh_if_stale().interval_factor;
        self.shared.interval_nanos.store(nanos(self.interval()), Relaxed);
        // The first read a whole interval from now at least, on the shared schedule.
        let first = std::time::Instant::now() + self.interval();
        let mut next_read = Instant::from_std(super::next_tick(first, self.interval()));
        let mut in_flight: Option<InFlight> = None;
        loop {
            if in_flight.is_none() {
                in_flight = self.next_request(Instant::now());
            }
            let retry_at = self.retry_at.filter(|_| in_flight.is_none());
            if in_flight.is_some() {
                activity.busy();
            } else {
                activity.waiting(retry_at.map_or(next_read, |r| r.min(next_read)));
            }
            tokio::select! {
                biased;
                command = commands.recv() => {
                    activity.busy();
                    match command {
                        Some(Command::Flush(reply)) => {
                            let report = self.flush(in_flight.take()).await;
                            let _ = reply.send(report);
                        }
                        Some(Command::Shutdown(reply)) => {
                            let report = self.shutdown(in_flight.take()).await;
                            let _ = reply.send(report);
                            return;
                        }
                        None => {
                            self.shutdown(in_flight.take()).await;
                            return;
                        }
                    }
                },
                (answer, took) = async { in_flight.as_mut().expect("guarded").await }, if in_flight.is_some() => {
                    in_flight = None;
                    self.answered(answer, took);
                }
                () = tokio::time::sleep_until(retry_at.unwrap_or_else(Instant::now)), if retry_at.is_some() => {
                    self.retry_at = None;
                }
                () = tokio::time::sleep_until(next_read) => {
                    let dropped = self.read().1;
                    self.adapt(dropped);
                    next_read = Instant::from_std(super::next_tick(std::time::Instant::now(), self.interval()));
                }
            }
        }
    }

    /// The request to start now, if a batch is ready, no retry is being waited for and the
    /// breaker allows it.
    fn next_request(&mut self, now: Instant) -> Option<InFlight> {
        if self.retry_at.is_some_and(|t| t > now) {
            return None;
        }
        if self.current.is_none() {
            self.current = self.queue.pop_front();
            self.attempt = 0;
        }
        let batch = self.current.as_ref()?;
        if !self.breaker.try_acquire() {
            // Open: look again when the cool-down is over.
            self.retry_at = Some(now + self.config.breaker.cool_down.max(Duration::from_millis(10)));
            self.update_gauges();
            return None;
        }
        if self.attempt > 0 {
            self.shared.totals.retries.fetch_add(1, Relaxed);
            PUSH_STATS.retries_total.with(P::KIND).inc();
        }
        let call = self.protocol.call(batch.body.clone());
        let client = self.client.clone();
        Some(Box::pin(async move {
            let start = Instant::now();
            let answer = client.call(&call).await;
            (answer, start.elapsed())
        }))
    }

    /// Reads the source into a new batch at the back of the queue, dropping the oldest if full.
    /// Returns the points read and whether a batch was dropped.
    fn read(&mut self) -> (u64, bool) {
        let batch = self.protocol.encode(&self.source, SystemTime::now());
        if self.last_maintenance.is_none_or(|t| t.elapsed() >= MAINTENANCE_INTERVAL) {
            self.source.maintain();
            self.last_maintenance = Some(Instant::now());
        }
        let Some(batch) = batch else {
            return (0, false);
        };
        let points = batch.points;
        let totals = &self.shared.totals;
        totals.queued.fetch_add(points, Relaxed);
        totals.waiting.fetch_add(points, Relaxed);
        PUSH_STATS.points_queued_total.with(P::KIND).add(points);
        let cap = self.config.max_queued_batches.max(1);
        let mut dropped = false;
        while self.queue.len() + usize::from(self.current.is_some()) >= cap {
            // The oldest batch waiting goes: the one being retried when nothing else waits.
            let oldest = match self.queue.pop_front() {
                Some(b) => b,
                None => match self.current.take() {
                    Some(b) => {
                        self.attempt = 0;
                        b
                    }
                    None => break,
                },
            };
            self.drop_batch(&oldest, DropReason::QueueFull);
            dropped = true;
        }
        self.queue.push_back(batch);
        self.update_gauges();
        (points, dropped)
    }

    fn drop_batch(&self, batch: &Batch, reason: DropReason) {
        self.shared.totals.waiting.fetch_sub(batch.points, Relaxed);
        self.shared.totals.drop_points(P::KIND, reason, batch.points);
    }

    /// Widens the interval when this read had to drop (the queue stayed full), and
    /// narrows it back once the queue is short and requests are fast (see
    /// [`BackpressureConfig`]).
    fn adapt(&mut self, dropped: bool) {
        let interval = self.config.interval.saturating_mul(self.widen);
        let cap = self.config.max_queued_batches.max(1) as f64;
        let low = (cap * self.config.backpressure.low_water).floor() as usize;
        let waiting = self.queue.len() + usize::from(self.current.is_some());
        let max = self.config.backpressure.max_widen.max(1);
        if dropped {
            self.widen = (self.widen * 2).min(max);
        } else if waiting <= low.max(1) && self.latency.is_none_or(|l| l < interval / 2) {
            self.widen = (self.widen / 2).max(1);
        }
        self.energy = crate::energy::refresh_if_stale().interval_factor;
        let interval = self.interval();
        self.shared.interval_nanos.store(nanos(interval), Relaxed);
        PUSH_STATS.interval_seconds.with(P::KIND).set(interval.as_secs_f64());
    }

    /// The interval in force: the configured one, widened under backpressure and by the
    /// energy policy ([`energy`](crate::energy)).
    fn interval(&self) -> Duration {
        self.config.interval.saturating_mul(self.widen).saturating_mul(self.energy)
    }

    fn answered(&mut self, answer: Answer, took: Duration) -> (Sent, Option<u16>) {
        PUSH_STATS.request_duration_seconds.with(P::KIND).record(took.as_secs_f64());
        self.latency = Some(match self.latency {
            Some(l) => (l * 3 + took) / 4,
            None => took,
        });
        let now = Instant::now();
        let totals = &self.shared.totals;
        let (sent, status, outcome) = match answer {
            Answer::Status { status, body, .. } if status.is_success() => {
                self.breaker.record_success();
                let batch = self.current.take().expect("a request has its batch");
                let rejected = self.protocol.rejected_points(&body).min(batch.points);
                totals.waiting.fetch_sub(batch.points, Relaxed);
                totals.sent.fetch_add(batch.points - rejected, Relaxed);
                totals.requests_ok.fetch_add(1, Relaxed);
                PUSH_STATS.points_sent_total.with(P::KIND).add(batch.points - rejected);
                if rejected > 0 {
                    totals.drop_points(P::KIND, DropReason::PartialSuccess, rejected);
                    self.note_error(format!("{status}: {rejected} points rejected: {}", snippet(&body)));
                }
                self.retry_at = None;
                (Sent::Ok, Some(status.as_u16()), RequestOutcome::Success)
            }
            Answer::Status { status, retry_after, body } if self.protocol.retryable(status) => {
                self.retry_later(now, retry_after, format!("{status}: {}", snippet(&body)));
                (Sent::Retry, Some(status.as_u16()), RequestOutcome::Retryable)
            }
            Answer::Status { status, body, .. } => {
                // The receiver is up and refuses this batch: never retried, and no sign of an
                // outage for the breaker.
                self.breaker.record_success();
                totals.requests_failed.fetch_add(1, Relaxed);
                let batch = self.current.take().expect("a request has its batch");
                self.drop_batch(&batch, DropReason::Rejected);
                self.retry_at = None;
                self.note_error(format!("{status}: {}", snippet(&body)));
                (Sent::Dropped, Some(status.as_u16()), RequestOutcome::Rejected)
            }
            Answer::Failed(error) => {
                self.retry_later(now, None, error);
                (Sent::Retry, None, RequestOutcome::Error)
            }
        };
        PUSH_STATS.requests_total.with(ExporterOutcome { exporter: P::KIND, outcome }).inc();
        self.update_gauges();
        (sent, status)
    }

    /// A failed attempt that is retried: the breaker counts it, and the next attempt waits the
    /// backoff, or the `Retry-After` (capped) when longer.
    fn retry_later(&mut self, now: Instant, retry_after: Option<Duration>, error: String) {
        self.breaker.record_failure();
        self.shared.totals.requests_failed.fetch_add(1, Relaxed);
        self.attempt += 1;
        let mut wait = self.config.backoff.delay(self.attempt);
        if let Some(after) = retry_after {
            wait = wait.max(after.min(self.config.backoff.max_retry_after));
        }
        self.retry_at = Some(now + wait);
        self.note_error(error);
    }

    fn note_error(&self, error: String) {
        *self.shared.last_error.lock().unwrap_or_else(|e| e.into_inner()) = Some(error);
    }

    fn update_gauges(&self) {
        PUSH_STATS.queue_batches.with(P::KIND).set((self.queue.len() + usize::from(self.current.is_some())) as f64);
        PUSH_STATS.breaker_state.with(P::KIND).set(f64::from(self.breaker.state().as_number()));
    }

    /// Waits for the request in flight, reads, then sends what is queued, one attempt each.
    async fn flush(&mut self, in_flight: Option<InFlight>) -> PushReport {
        let mut report = PushReport::default();
        if let Some(request) = in_flight {
            let (answer, took) = request.await;
            self.tally(&mut report, answer, took);
        }
        report.points_read = self.read().0;
        self.retry_at = None;
        while self.current.is_some() || !self.queue.is_empty() {
            let Some(request) = self.next_request(Instant::now()) else { break };
            let (answer, took) = request.await;
            if !matches!(self.tally(&mut report, answer, took), Sent::Ok | Sent::Dropped) {
                break;
            }
        }
        // An explicit flush does not wait for the backoff of its failure; the task's next
        // attempt does.
        report.pending = self.current.is_some() || !self.queue.is_empty();
        report
    }

    fn tally(&mut self, report: &mut PushReport, answer: Answer, took: Duration) -> Sent {
        let points = self.current.as_ref().map_or(0, |b| b.points);
        let (sent, status) = self.answered(answer, took);
        if matches!(sent, Sent::Ok) {
            report.batches_sent += 1;
            report.points_sent += points;
        }
        report.last_status = status.or(report.last_status);
        if !matches!(sent, Sent::Ok) {
            report.error = self.shared.last_error.lock().unwrap_or_else(|e| e.into_inner()).clone();
        }
        sent
    }

    async fn shutdown(&mut self, in_flight: Option<InFlight>) -> PushReport {
        let report = self.flush(in_flight).await;
        if let Some(call) = self.protocol.farewell() {
            let _ = self.client.call(&call).await;
        }
        let left: Vec<Batch> = self.current.take().into_iter().chain(self.queue.drain(..)).collect();
        for batch in &left {
            self.drop_batch(batch, DropReason::Shutdown);
        }
        self.update_gauges();
        report
    }
}

/// The start of a response body, for error messages.
fn snippet(body: &[u8]) -> String {
    let text = String::from_utf8_lossy(&body[..body.len().min(200)]);
    text.trim().to_owned()
}
