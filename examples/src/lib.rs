//! What the programs share: the simulated application of the migration programs (`migrate_*`,
//! see `docs/MIGRATING.md`), so that each shows only its metrics code; and how the demo, its
//! idle test and `benches/efficiency.rs` read a process's wakeups and CPU time ([`activity`]).

/// The requests every migration program serves, as (method, path).
pub const REQUESTS: [(&str, &str); 6] =
    [("GET", "/"), ("GET", "/cart"), ("POST", "/checkout"), ("GET", "/missing"), ("PATCH", "/cart"), ("GET", "/")];

/// The application: the HTTP status code of a request.
pub fn route(method: &str, path: &str) -> u16 {
    match (method, path) {
        ("GET", "/" | "/cart") => 200,
        ("POST", "/checkout") => 201,
        ("GET" | "POST", _) => 404,
        _ => 405,
    }
}

/// The status class used as a label value: `2xx`, `4xx` or `5xx`.
pub fn status_class(code: u16) -> &'static str {
    match code {
        200..=399 => "2xx",
        400..=499 => "4xx",
        _ => "5xx",
    }
}

/// A process's wakeups (voluntary context switches: a thread had blocked) and CPU time in
/// nanoseconds, summed over its threads, from its `/proc` directory (`/proc/self`,
/// `/proc/<pid>`); `None` where there is none (not Linux, or the process is gone).
pub fn activity(proc_dir: &std::path::Path) -> Option<(u64, u64)> {
    let mut wakeups = 0;
    let mut cpu_ns = 0;
    for task in std::fs::read_dir(proc_dir.join("task")).ok()?.flatten() {
        let status = std::fs::read_to_string(task.path().join("status")).unwrap_or_default();
        wakeups += status
            .lines()
            .find_map(|l| l.strip_prefix("voluntary_ctxt_switches:"))
            .and_then(|v| v.trim().parse::<u64>().ok())
            .unwrap_or(0);
        // `schedstat`: time on CPU (ns), time waiting to run, timeslices.
        let schedstat = std::fs::read_to_string(task.path().join("schedstat")).unwrap_or_default();
        cpu_ns += schedstat.split_whitespace().next().and_then(|v| v.parse::<u64>().ok()).unwrap_or(0);
    }
    Some((wakeups, cpu_ns))
}
