//! The energy policy on fake cgroup and sysfs roots: the CPU budget, throttling and load of a
//! cgroup, battery and power-saving profiles, the factors they give, and what the push
//! exporters and samplers do with them: the adapted intervals (read from the exporters and
//! measured between their pushes to real receivers) and sampling.

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use metrics_runtime::energy::{self, CpuPolicy, EnergyConfig, EnergyMonitor, PowerPolicy, ENERGY_STATS};
use metrics_runtime::push::otlp::{self, OtlpConfig};
use metrics_runtime::push::{PushConfig, Source, PUSH_STATS};
use metrics_runtime::sampling::AdaptiveSampler;
use metrics_runtime::statsd::{StatsdConfig, StatsdExporter};
use metrics_runtime::{Counter, Histogram, Metrics, Registry};

/// A fake filesystem root, removed on drop.
struct Root(PathBuf);

impl Root {
    fn new(name: &str) -> Self {
        let dir = std::env::temp_dir().join(format!("metrics-runtime-energy-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        Root(dir)
    }

    fn write(&self, path: &str, text: &str) -> &Self {
        let file = self.0.join(path);
        std::fs::create_dir_all(file.parent().unwrap()).unwrap();
        std::fs::write(file, text).unwrap();
        self
    }

    fn remove(&self, path: &str) -> &Self {
        let _ = std::fs::remove_dir_all(self.0.join(path));
        self
    }

    fn path(&self) -> &Path {
        &self.0
    }

    /// A cgroup v2 `app` with `cpu.max` and `cpu.stat`.
    fn cgroup(&self, max: &str, usage_usec: u64, throttled_usec: u64) -> &Self {
        self.write("proc/self/cgroup", "0::/app\n")
            .write("sys/fs/cgroup/app/cpu.max", &format!("{max}\n"))
            .write(
                "sys/fs/cgroup/app/cpu.stat",
                &format!("usage_usec {usage_usec}\nuser_usec {usage_usec}\nsystem_usec 0\nnr_periods 10\nnr_throttled 1\nthrottled_usec {throttled_usec}\n"),
            )
    }

    /// A laptop: mains `online` or not, battery `status`.
    fn power(&self, mains_online: bool, battery: &str) -> &Self {
        self.write("sys/class/power_supply/AC/type", "Mains\n")
            .write("sys/class/power_supply/AC/online", if mains_online { "1\n" } else { "0\n" })
            .write("sys/class/power_supply/BAT0/type", "Battery\n")
            .write("sys/class/power_supply/BAT0/status", &format!("{battery}\n"))
    }
}

impl Drop for Root {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

fn monitor(root: &Root) -> EnergyMonitor {
    EnergyMonitor::new(EnergyConfig { root: root.path().to_owned(), ..EnergyConfig::default() })
}

#[test]
fn the_cpu_budget_throttling_and_load_of_the_cgroup() {
    let cpus = std::thread::available_parallelism().unwrap().get() as f64;
    let root = Root::new("cpu");
    // No cgroup v2 files: all CPUs, nothing to adapt.
    let r = monitor(&root).read();
    assert_eq!((r.cpus, r.cpu_constrained, r.interval_factor), (cpus, false, 1));

    // No quota: `max`.
    root.cgroup("max 100000", 0, 0);
    assert_eq!(monitor(&root).read().cpus, cpus);

    // A quota of 4 CPUs on a machine with fewer: the machine's CPUs.
    root.cgroup("400000 100000", 0, 0);
    assert_eq!(monitor(&root).read().cpus, cpus.min(4.0));

    // Half a CPU: below one CPU, constrained from the first reading.
    root.cgroup("50000 100000", 0, 0);
    let r = monitor(&root).read();
    assert_eq!((r.cpus, r.cpu_constrained, r.interval_factor), (0.5, true, 2));

    // One CPU, and over one second: throttled 300 ms (30%), then 10 ms (1%).
    let t0 = Instant::now();
    root.cgroup("100000 100000", 1_000_000, 0);
    let mut m = monitor(&root);
    let first = m.read_at(t0);
    assert_eq!((first.throttled_ratio, first.busy_ratio, first.interval_factor), (0.0, 0.0, 1), "no period yet");
    root.cgroup("100000 100000", 1_400_000, 300_000);
    let r = m.read_at(t0 + Duration::from_secs(1));
    assert!((r.throttled_ratio - 0.3).abs() < 1e-9, "{r:?}");
    assert!((r.busy_ratio - 0.4).abs() < 1e-9, "{r:?}");
    assert_eq!((r.cpu_constrained, r.interval_factor), (true, 2));
    root.cgroup("100000 100000", 1_800_000, 310_000);
    let r = m.read_at(t0 + Duration::from_secs(2));
    assert!((r.throttled_ratio - 0.01).abs() < 1e-9, "{r:?}");
    assert_eq!((r.cpu_constrained, r.interval_factor), (false, 1), "1% throttled, 40% busy: not constrained");

    // Saturated: 950 ms of CPU in a second on one CPU.
    root.cgroup("100000 100000", 2_750_000, 310_000);
    let r = m.read_at(t0 + Duration::from_secs(3));
    assert!((r.busy_ratio - 0.95).abs() < 1e-9, "{r:?}");
    assert_eq!((r.cpu_constrained, r.interval_factor), (true, 2));

    // The policy's numbers are the user's.
    let mut lenient = EnergyMonitor::new(EnergyConfig {
        root: root.path().to_owned(),
        cpu: Some(CpuPolicy { saturated_above: 0.99, interval_factor: 3, ..CpuPolicy::default() }),
        ..EnergyConfig::default()
    });
    lenient.read_at(t0);
    root.cgroup("100000 100000", 3_700_000, 310_000);
    assert_eq!(lenient.read_at(t0 + Duration::from_secs(1)).interval_factor, 1, "95% is under 99%");
    root.cgroup("50000 100000", 3_700_000, 310_000);
    assert_eq!(lenient.read_at(t0 + Duration::from_secs(2)).interval_factor, 3);
}

#[test]
fn battery_and_power_profiles() {
    let root = Root::new("power");
    root.power(true, "Charging");
    let r = monitor(&root).read();
    assert_eq!((r.on_battery, r.power_saver, r.interval_factor, r.sample_factor), (false, false, 1, 1));

    root.power(false, "Discharging");
    let r = monitor(&root).read();
    assert_eq!((r.on_battery, r.power_saver, r.interval_factor, r.sample_factor), (true, false, 2, 2));

    // Plugged in, battery full: not on battery.
    root.power(true, "Full");
    assert!(!monitor(&root).read().on_battery);

    for profile in ["low-power", "quiet", "cool"] {
        root.write("sys/firmware/acpi/platform_profile", &format!("{profile}\n"));
        let r = monitor(&root).read();
        assert_eq!((r.power_saver, r.interval_factor, r.sample_factor), (true, 4, 4), "{profile}");
    }
    root.write("sys/firmware/acpi/platform_profile", "balanced\n");
    assert!(!monitor(&root).read().power_saver);

    // Power saving on battery in a throttled half-CPU cgroup: 2 x 4 = 8, the bound.
    root.power(false, "Discharging").write("sys/firmware/acpi/platform_profile", "low-power\n").cgroup(
        "50000 100000",
        0,
        0,
    );
    let r = monitor(&root).read();
    assert_eq!((r.interval_factor, r.sample_factor), (8, 4));
    let capped = EnergyMonitor::new(EnergyConfig {
        root: root.path().to_owned(),
        max_interval_factor: 4,
        max_sample_factor: 2,
        ..EnergyConfig::default()
    })
    .read();
    assert_eq!((capped.interval_factor, capped.sample_factor), (4, 2));
    let custom = EnergyMonitor::new(EnergyConfig {
        root: root.path().to_owned(),
        cpu: None,
        power: Some(PowerPolicy { power_saver_interval: 3, power_saver_sampling: 5, ..PowerPolicy::default() }),
        ..EnergyConfig::default()
    })
    .read();
    assert_eq!((custom.interval_factor, custom.sample_factor, custom.cpu_constrained), (3, 5, false));
    let off = EnergyMonitor::new(EnergyConfig { root: root.path().to_owned(), ..EnergyConfig::disabled() }).read();
    assert_eq!((off.interval_factor, off.sample_factor, off.on_battery), (1, 1, false));
    root.remove("sys");
}

#[derive(Metrics)]
struct Work {
    /// Jobs done.
    jobs_total: Counter,
}

static WORK: Work = Work::new();

/// The process-wide policy on a fake root: the exporters' intervals, the spacing of their
/// pushes, the samplers and the exported gauges. One test, since the policy is the process's.
#[test]
fn exporters_and_samplers_follow_the_process_policy() {
    let root = Root::new("global");
    root.power(false, "Discharging").write("sys/firmware/acpi/platform_profile", "low-power\n");
    let reading =
        energy::configure(EnergyConfig { root: root.path().to_owned(), cpu: None, ..EnergyConfig::default() });
    assert_eq!((reading.interval_factor, reading.sample_factor), (4, 4));
    assert_eq!((energy::interval_factor(), energy::sample_factor()), (4, 4));

    let mut registry = Registry::new();
    registry.register(&ENERGY_STATS).unwrap();
    let text = registry.render_prometheus();
    for line in [
        "metrics_runtime_energy_interval_factor 4.0\n",
        "metrics_runtime_energy_sample_factor 4.0\n",
        "metrics_runtime_energy_on_battery 1.0\n",
        "metrics_runtime_energy_power_saver 1.0\n",
        "metrics_runtime_energy_cpu_constrained 0.0\n",
    ] {
        assert!(text.contains(line), "{line} missing:\n{text}");
    }

    let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
    runtime.block_on(async {
        // OTLP every 150 ms, stretched 4x: 600 ms between pushes.
        let receiver = tests::OtlpReceiver::start();
        let mut config = OtlpConfig::new(&receiver.url).unwrap();
        config.push = PushConfig { interval: Duration::from_millis(150), ..PushConfig::default() };
        let exporter = otlp::start(Source::new().with(&WORK), config).unwrap();
        // StatsD every 150 ms, stretched the same.
        let server = tokio::net::UdpSocket::bind("127.0.0.1:0").await.unwrap();
        let statsd = StatsdExporter::start(
            Source::new().with(&WORK),
            StatsdConfig {
                target: server.local_addr().unwrap(),
                flush_interval: Duration::from_millis(150),
                push_own_stats: false,
                ..StatsdConfig::default()
            },
        )
        .await
        .unwrap();

        let mut arrivals = Vec::new();
        let mut datagrams = Vec::new();
        let deadline = Instant::now() + Duration::from_secs(10);
        let mut buf = [0u8; 65536];
        while (arrivals.len() < 3 || datagrams.len() < 3) && Instant::now() < deadline {
            WORK.jobs_total.inc(); // StatsD sends deltas: give it something each time
            let got = receiver.wait_requests(0, Duration::ZERO).len();
            if got > arrivals.len() {
                arrivals.push(Instant::now());
            }
            if let Ok(Ok(n)) = tokio::time::timeout(Duration::from_millis(20), server.recv(&mut buf)).await {
                if n > 0 {
                    datagrams.push(Instant::now());
                }
            }
        }
        assert!(
            arrivals.len() >= 3 && datagrams.len() >= 3,
            "{} OTLP pushes, {} datagrams",
            arrivals.len(),
            datagrams.len()
        );
        assert_eq!(exporter.interval(), Duration::from_millis(600));
        let gauge = PUSH_STATS.interval_seconds.with(metrics_runtime::push::ExporterKind::Otlp).get();
        assert!((gauge - 0.6).abs() < 1e-9, "push_interval_seconds {gauge}");
        for (what, times) in [("OTLP", &arrivals), ("StatsD", &datagrams)] {
            for pair in times.windows(2) {
                let gap = pair[1] - pair[0];
                assert!(gap >= Duration::from_millis(450), "{what}: {gap:?} between pushes, expected about 600 ms");
            }
        }
        exporter.shutdown().await;
        statsd.shutdown().await;
    });

    // Samplers keep 4x fewer: a target of 1000 a second keeps 250 a second.
    static SIZES: Histogram = Histogram::new();
    static SAMPLER: AdaptiveSampler = AdaptiveSampler::target_per_sec(1_000).manual();
    let t0 = Instant::now();
    SAMPLER.adapt_at(t0);
    for _ in 0..20_000 {
        SAMPLER.record(&SIZES, 1.0);
    }
    assert!(SAMPLER.adapt_at(t0 + Duration::from_secs(2)));
    assert_eq!(SAMPLER.current_keep_one_in(), 40, "10 000 records/s for 250 kept a second");

    // Batches publish 4x less often: every 64 increments for a base of 16.
    static EVENTS: Counter = Counter::new();
    let mut batch = metrics_runtime::LocalBatch::adaptive(EVENTS.with(()), 16);
    assert_eq!(batch.bound(), 64);
    for _ in 0..63 {
        batch.inc();
    }
    assert_eq!(EVENTS.get(), 0);
    batch.inc();
    assert_eq!(EVENTS.get(), 64);
    let text = registry.render_prometheus();
    let cpus = std::thread::available_parallelism().unwrap().get().min(4);
    assert!(text.contains(&format!("metrics_runtime_energy_sharded_shared_stripes {cpus}.0\n")), "{text}");

    // Off again: factors back to 1 at the next reading.
    let reading = energy::configure(EnergyConfig::disabled());
    assert_eq!((reading.interval_factor, reading.sample_factor), (1, 1));
    batch.inc();
    batch.flush();
    assert_eq!(batch.bound(), 16, "the bound follows the factor at each publish");
}
