//! Energy-aware background work: how much CPU the process may use and how much of it it uses,
//! whether the machine runs on battery or in a power-saving profile, and the policy that turns
//! those into how often the push exporters read and send and how hard samplers sample.
//!
//! What is read, under [`EnergyConfig::root`] (`/` in production; tests give a directory of
//! fake files):
//!
//! | what | from |
//! | --- | --- |
//! | the CPUs the process may use | cgroup v2 `cpu.max` (quota / period) of the process's cgroup (`proc/self/cgroup`), at most `available_parallelism()` |
//! | throttling | cgroup v2 `cpu.stat` `throttled_usec`: the share of wall time throttled since the last reading |
//! | load | cgroup v2 `cpu.stat` `usage_usec`: CPU used since the last reading over the CPUs it may use |
//! | on battery | `sys/class/power_supply/*`: no `Mains` supply `online` and a `Battery` `Discharging` |
//! | power saving | `sys/firmware/acpi/platform_profile` is `low-power`, `quiet` or `cool` |
//!
//! The policy ([`EnergyConfig::default`], every factor overridable, each part disabled with
//! `None`, everything with [`EnergyConfig::disabled`]):
//!
//! - **CPU** ([`CpuPolicy`]): the process is *constrained* when the cgroup throttled it for more
//!   than 5% of the last period, or it used more than 90% of the CPUs it may use, or it may use
//!   less than one CPU. Constrained, exporters read and send half as often (factor 2): fewer,
//!   bigger batches (each covers twice the time; a delta protocol's batch sums twice the
//!   events).
//! - **Power** ([`PowerPolicy`]): on battery, intervals are doubled and adaptive samplers keep
//!   half as many records; in a power-saving profile, four times.
//! - `LocalBatch::adaptive` publishes every `base` times the interval factor; a
//!   `ShardedCounter` spreads threads that have no stripe of their own over as many shared
//!   stripes as the process has CPUs, at most 4 (the gauge `sharded_shared_stripes`).
//! - The factors multiply, bounded by [`EnergyConfig::max_interval_factor`] (8) and
//!   [`EnergyConfig::max_sample_factor`] (8).
//!
//! The push exporters refresh the reading at their reads (at most once a second for the whole
//! process, a few small file reads, no wakeup of its own); [`refresh`] does it on demand. An
//! [`AdaptiveSampler`](crate::sampling::AdaptiveSampler) applies [`sample_factor`] at each
//! [`adapt`](crate::sampling::AdaptiveSampler::adapt). Every input and decision is exported
//! by [`ENERGY_STATS`] (`metrics_runtime_energy_*`), which a registry exports like any struct.
//!
//! # Examples
//!
//! ```
//! use metrics_runtime::energy::{EnergyConfig, EnergyMonitor};
//!
//! // A cgroup allowed half a CPU, on a laptop on battery.
//! let root = std::env::temp_dir().join(format!("energy-doc-{}", std::process::id()));
//! let write = |path: &str, text: &str| {
//!     let file = root.join(path);
//!     std::fs::create_dir_all(file.parent().unwrap()).unwrap();
//!     std::fs::write(file, text).unwrap();
//! };
//! write("proc/self/cgroup", "0::/app\n");
//! write("sys/fs/cgroup/app/cpu.max", "50000 100000\n");
//! write("sys/class/power_supply/AC/type", "Mains\n");
//! write("sys/class/power_supply/AC/online", "0\n");
//! write("sys/class/power_supply/BAT0/type", "Battery\n");
//! write("sys/class/power_supply/BAT0/status", "Discharging\n");
//!
//! let mut monitor = EnergyMonitor::new(EnergyConfig { root: root.clone(), ..EnergyConfig::default() });
//! let reading = monitor.read();
//! assert_eq!(reading.cpus, 0.5);
//! assert!(reading.on_battery && !reading.power_saver);
//! assert_eq!(reading.interval_factor, 4); // 2 for the CPU budget, 2 for the battery
//! assert_eq!(reading.sample_factor, 2);
//! # std::fs::remove_dir_all(root).unwrap();
//! ```

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU32, Ordering::Relaxed};
use std::sync::Mutex;
use std::time::Instant;

use crate::{Gauge, Metrics};

/// Where to read and how to adapt.
#[derive(Debug, Clone)]
pub struct EnergyConfig {
    /// The filesystem root the cgroup, power-supply and platform-profile files are read under.
    pub root: PathBuf,
    /// The CPU policy; `None` to ignore the CPU budget and load.
    pub cpu: Option<CpuPolicy>,
    /// The power policy; `None` to ignore battery and power profile.
    pub power: Option<PowerPolicy>,
    /// The widest any adaptation makes a push interval: this many times the configured one.
    pub max_interval_factor: u32,
    /// The most any adaptation multiplies a sampler's N by.
    pub max_sample_factor: u32,
}

impl Default for EnergyConfig {
    fn default() -> Self {
        Self {
            root: PathBuf::from("/"),
            cpu: Some(CpuPolicy::default()),
            power: Some(PowerPolicy::default()),
            max_interval_factor: 8,
            max_sample_factor: 8,
        }
    }
}

impl EnergyConfig {
    /// No adaptation at all: every factor stays 1.
    ///
    /// # Examples
    ///
    /// ```
    /// use metrics_runtime::energy::{EnergyConfig, EnergyMonitor};
    ///
    /// assert_eq!(EnergyMonitor::new(EnergyConfig::disabled()).read().interval_factor, 1);
    /// ```
    pub fn disabled() -> Self {
        Self { cpu: None, power: None, ..Self::default() }
    }
}

/// When the process counts as CPU-constrained, and what that does.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct CpuPolicy {
    /// Throttled for more than this share of wall time since the last reading (default 0.05).
    pub throttled_above: f64,
    /// Used more than this share of the CPUs it may use (default 0.9).
    pub saturated_above: f64,
    /// May use fewer CPUs than this (default 1.0).
    pub cpus_below: f64,
    /// Constrained, push intervals are multiplied by this (default 2).
    pub interval_factor: u32,
}

impl Default for CpuPolicy {
    fn default() -> Self {
        Self { throttled_above: 0.05, saturated_above: 0.9, cpus_below: 1.0, interval_factor: 2 }
    }
}

/// What battery and power-saving profiles do.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PowerPolicy {
    /// On battery, push intervals are multiplied by this (default 2).
    pub on_battery_interval: u32,
    /// On battery, samplers' N is multiplied by this (default 2).
    pub on_battery_sampling: u32,
    /// In a power-saving profile, push intervals are multiplied by this (default 4).
    pub power_saver_interval: u32,
    /// In a power-saving profile, samplers' N is multiplied by this (default 4).
    pub power_saver_sampling: u32,
}

impl Default for PowerPolicy {
    fn default() -> Self {
        Self { on_battery_interval: 2, on_battery_sampling: 2, power_saver_interval: 4, power_saver_sampling: 4 }
    }
}

/// One reading and the decisions taken from it.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct EnergyReading {
    /// The CPUs the process may use.
    pub cpus: f64,
    /// The share of wall time the cgroup throttled the process since the last reading.
    pub throttled_ratio: f64,
    /// The CPU the cgroup used since the last reading, over the CPUs it may use.
    pub busy_ratio: f64,
    /// Whether the CPU policy found the process constrained.
    pub cpu_constrained: bool,
    /// Whether the machine runs on battery.
    pub on_battery: bool,
    /// Whether the platform profile saves power.
    pub power_saver: bool,
    /// What push intervals are multiplied by.
    pub interval_factor: u32,
    /// What adaptive samplers' N is multiplied by.
    pub sample_factor: u32,
}

impl Default for EnergyReading {
    fn default() -> Self {
        Self {
            cpus: available_cpus(),
            throttled_ratio: 0.0,
            busy_ratio: 0.0,
            cpu_constrained: false,
            on_battery: false,
            power_saver: false,
            interval_factor: 1,
            sample_factor: 1,
        }
    }
}

fn available_cpus() -> f64 {
    std::thread::available_parallelism().map_or(1.0, |n| n.get() as f64)
}

/// Reads the machine's state under a root and applies the policy.
#[derive(Debug)]
pub struct EnergyMonitor {
    config: EnergyConfig,
    /// The last reading's instant and the cgroup's `usage_usec` and `throttled_usec` then.
    last: Option<(Instant, u64, u64)>,
}

impl EnergyMonitor {
    /// A monitor with `config`.
    pub fn new(config: EnergyConfig) -> Self {
        Self { config, last: None }
    }

    /// Reads now.
    pub fn read(&mut self) -> EnergyReading {
        self.read_at(Instant::now())
    }

    /// Reads, taking `now` as the time of the reading (ratios are over the time since the last
    /// one; the first reading has none).
    pub fn read_at(&mut self, now: Instant) -> EnergyReading {
        let mut reading = EnergyReading::default();
        let root = &self.config.root;
        let mut interval = 1u32;
        let mut sample = 1u32;
        if let Some(policy) = self.config.cpu {
            let cgroup = cgroup_dir(root);
            if let Some(quota) = cgroup.as_deref().and_then(cpu_max) {
                reading.cpus = reading.cpus.min(quota);
            }
            if let Some((usage, throttled)) = cgroup.as_deref().and_then(cpu_stat) {
                if let Some((at, usage_0, throttled_0)) = self.last {
                    let wall = now.saturating_duration_since(at).as_secs_f64() * 1e6;
                    if wall > 0.0 {
                        reading.throttled_ratio = throttled.saturating_sub(throttled_0) as f64 / wall;
                        reading.busy_ratio = usage.saturating_sub(usage_0) as f64 / (wall * reading.cpus.max(1e-9));
                    }
                }
                self.last = Some((now, usage, throttled));
            }
            reading.cpu_constrained = reading.throttled_ratio > policy.throttled_above
                || reading.busy_ratio > policy.saturated_above
                || reading.cpus < policy.cpus_below;
            if reading.cpu_constrained {
                interval = interval.saturating_mul(policy.interval_factor.max(1));
            }
        }
        if let Some(policy) = self.config.power {
            reading.on_battery = on_battery(root);
            reading.power_saver = power_saver(root);
            let (i, s) = match (reading.power_saver, reading.on_battery) {
                (true, _) => (policy.power_saver_interval, policy.power_saver_sampling),
                (false, true) => (policy.on_battery_interval, policy.on_battery_sampling),
                (false, false) => (1, 1),
            };
            interval = interval.saturating_mul(i.max(1));
            sample = sample.saturating_mul(s.max(1));
        }
        reading.interval_factor = interval.min(self.config.max_interval_factor.max(1));
        reading.sample_factor = sample.min(self.config.max_sample_factor.max(1));
        reading
    }
}

fn read_trimmed(path: &Path) -> Option<String> {
    std::fs::read_to_string(path).ok().map(|s| s.trim().to_owned())
}

/// The process's cgroup v2 directory: `sys/fs/cgroup` + the `0::` path of `proc/self/cgroup`.
fn cgroup_dir(root: &Path) -> Option<PathBuf> {
    let base = root.join("sys/fs/cgroup");
    let own = std::fs::read_to_string(root.join("proc/self/cgroup")).ok();
    let path = own.as_deref().and_then(|text| text.lines().find_map(|l| l.strip_prefix("0::")));
    let dir = match path.map(|p| p.trim().trim_start_matches('/')) {
        Some(p) if !p.is_empty() => base.join(p),
        _ => base,
    };
    dir.is_dir().then_some(dir)
}

/// `cpu.max`: `QUOTA PERIOD` in CPUs, `None` for `max` (no quota).
fn cpu_max(dir: &Path) -> Option<f64> {
    let text = read_trimmed(&dir.join("cpu.max"))?;
    let mut parts = text.split_whitespace();
    let quota: f64 = parts.next()?.parse().ok()?;
    let period: f64 = parts.next().unwrap_or("100000").parse().ok()?;
    (quota > 0.0 && period > 0.0).then(|| quota / period)
}

/// `cpu.stat`: `usage_usec` and `throttled_usec`.
fn cpu_stat(dir: &Path) -> Option<(u64, u64)> {
    let text = std::fs::read_to_string(dir.join("cpu.stat")).ok()?;
    let field = |name: &str| text.lines().find_map(|l| l.strip_prefix(name).and_then(|v| v.trim().parse::<u64>().ok()));
    Some((field("usage_usec ")?, field("throttled_usec ").unwrap_or(0)))
}

/// No mains supply online, and a battery discharging.
fn on_battery(root: &Path) -> bool {
    let Ok(entries) = std::fs::read_dir(root.join("sys/class/power_supply")) else {
        return false;
    };
    let mut mains_online = false;
    let mut discharging = false;
    for entry in entries.flatten() {
        let dir = entry.path();
        match read_trimmed(&dir.join("type")).as_deref() {
            Some("Mains") => mains_online |= read_trimmed(&dir.join("online")).as_deref() == Some("1"),
            Some("Battery") => discharging |= read_trimmed(&dir.join("status")).as_deref() == Some("Discharging"),
            _ => {}
        }
    }
    discharging && !mains_online
}

/// The ACPI platform profile saves power.
fn power_saver(root: &Path) -> bool {
    matches!(
        read_trimmed(&root.join("sys/firmware/acpi/platform_profile")).as_deref(),
        Some("low-power" | "quiet" | "cool")
    )
}

/// The energy policy's inputs and decisions, as metrics: set at each reading (each push
/// exporter's read, at most once a second, or [`refresh`]); zero before the first.
#[derive(Metrics)]
#[metrics(namespace = "metrics_runtime_energy")]
pub struct EnergyStats {
    /// CPUs the process may use (its cgroup's quota, at most the CPUs available).
    pub cpus: Gauge,
    /// Share of wall time the cgroup was throttled, over the last reading's period.
    #[metric(unit = "ratio")]
    pub cpu_throttled_ratio: Gauge,
    /// CPU the cgroup used over the CPUs it may use, over the last reading's period.
    #[metric(unit = "ratio")]
    pub cpu_busy_ratio: Gauge,
    /// 1 when the CPU policy finds the process constrained.
    pub cpu_constrained: Gauge,
    /// 1 when the machine runs on battery.
    pub on_battery: Gauge,
    /// 1 when the platform profile saves power.
    pub power_saver: Gauge,
    /// What push intervals are multiplied by.
    pub interval_factor: Gauge,
    /// What adaptive samplers' N is multiplied by.
    pub sample_factor: Gauge,
    /// The shared stripes a `ShardedCounter` spreads threads without their own stripe over:
    /// the CPUs the process may use, at most 4.
    pub sharded_shared_stripes: Gauge,
}

/// The process's energy metrics.
pub static ENERGY_STATS: EnergyStats = EnergyStats::new();

impl std::fmt::Debug for EnergyStats {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("EnergyStats").finish_non_exhaustive()
    }
}

/// The process-wide monitor and its last reading.
struct Global {
    monitor: EnergyMonitor,
    last: Option<(Instant, EnergyReading)>,
}

static GLOBAL: Mutex<Option<Global>> = Mutex::new(None);
static INTERVAL_FACTOR: AtomicU32 = AtomicU32::new(1);
static SAMPLE_FACTOR: AtomicU32 = AtomicU32::new(1);

/// Replaces the process's policy (the default: [`EnergyConfig::default`], read under `/`) and
/// reads under it at once.
pub fn configure(config: EnergyConfig) -> EnergyReading {
    let mut global = GLOBAL.lock().unwrap_or_else(|e| e.into_inner());
    *global = Some(Global { monitor: EnergyMonitor::new(config), last: None });
    drop(global);
    refresh()
}

/// Reads now under the process's policy, publishes the factors and [`ENERGY_STATS`].
pub fn refresh() -> EnergyReading {
    let mut global = GLOBAL.lock().unwrap_or_else(|e| e.into_inner());
    let global =
        global.get_or_insert_with(|| Global { monitor: EnergyMonitor::new(EnergyConfig::default()), last: None });
    let now = Instant::now();
    let reading = global.monitor.read_at(now);
    global.last = Some((now, reading));
    publish(&reading);
    reading
}

/// The last reading if younger than a second, else a new one: what the push exporters call at
/// each read.
#[cfg(any(feature = "push-http", feature = "statsd"))]
pub(crate) fn refresh_if_stale() -> EnergyReading {
    {
        let global = GLOBAL.lock().unwrap_or_else(|e| e.into_inner());
        if let Some((at, reading)) = global.as_ref().and_then(|g| g.last) {
            if at.elapsed() < std::time::Duration::from_secs(1) {
                return reading;
            }
        }
    }
    refresh()
}

fn publish(r: &EnergyReading) {
    INTERVAL_FACTOR.store(r.interval_factor, Relaxed);
    SAMPLE_FACTOR.store(r.sample_factor, Relaxed);
    let s = &ENERGY_STATS;
    s.cpus.set(r.cpus);
    s.cpu_throttled_ratio.set(r.throttled_ratio);
    s.cpu_busy_ratio.set(r.busy_ratio);
    s.cpu_constrained.set(f64::from(u8::from(r.cpu_constrained)));
    s.on_battery.set(f64::from(u8::from(r.on_battery)));
    s.power_saver.set(f64::from(u8::from(r.power_saver)));
    s.interval_factor.set(f64::from(r.interval_factor));
    s.sample_factor.set(f64::from(r.sample_factor));
    s.sharded_shared_stripes.set(crate::sharded::shared_stripes() as f64);
}

/// What push intervals are multiplied by, as of the last reading (1 before any).
pub fn interval_factor() -> u32 {
    INTERVAL_FACTOR.load(Relaxed)
}

/// What adaptive samplers' N is multiplied by, as of the last reading (1 before any).
pub fn sample_factor() -> u32 {
    SAMPLE_FACTOR.load(Relaxed)
}
