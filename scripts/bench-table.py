#!/usr/bin/env python3
"""Prints the README's performance tables from criterion's last run (median of each bench,
read from target/criterion/<group>/<bench>/new/estimates.json), with ratios to each row's
floor. Run after `cargo bench -p benches --benches -- --warm-up-time 1 --measurement-time 3`."""
import json
import os
import sys

ROOT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "target", "criterion")


def median(bench_id):
    path = os.path.join(ROOT, *bench_id.split("/"), "new", "estimates.json")
    try:
        with open(path) as f:
            return json.load(f)["median"]["point_estimate"]
    except OSError:
        return None


def fmt(ns):
    if ns is None:
        return "n/a"
    return f"{ns / 1000:,.1f} µs" if ns >= 1_000 else f"{ns:.2f} ns"


def table(title, floor, rows, note="", base=None, against="ours"):
    """One table: each row's median and its ratio to `floor`, or, for groups without a floor,
    to `base` (ours), which is then the first row."""
    if base is None:
        f = median(floor)
        print(f"\n**{title}** (floor: `{floor}`, {fmt(f)})\n")
        print("| bench | median | × floor |")
    else:
        f = median(base)
        rows = [base] + rows
        print(f"\n**{title}**\n")
        print(f"| bench | median | × {against} |")
    print("|---|---:|---:|")
    for r in rows:
        m = median(r)
        ratio = f"{m / f:.2f}" if m is not None and f else "n/a"
        print(f"| `{r}` | {fmt(m)} | {ratio} |")
    if note:
        print(f"\n{note}")


def main():
    if not os.path.isdir(ROOT):
        sys.exit("no criterion results: run the benches first")
    peers = ["metrics", "prometheus", "prometheus_client", "measured", "metrics_lib"]
    print("### Record paths beside the raw-atomic floor (`benches/record.rs`)")
    table("Counter increment", "floor/atomic_fetch_add", ["counter/inc"])
    table(
        "Tagged counter increment (rotating pseudo-random tags)",
        "floor/atomic_fetch_add_rotating",
        ["counter/inc_tagged", "floor/atomic_fetch_add"],
    )
    table("Gauge set", "floor/atomic_store", ["gauge/set"])
    table("Histogram record", "floor/bucket_search_add", ["histogram/record"])
    table("Summary record", "floor/atomic_fetch_add", ["summary/record"])
    print("\n### Side by side with the peers (`benches/peers.rs`)")
    table("Counter increment", "counter_inc/floor", ["counter_inc/ours"] + [f"counter_inc/{p}" for p in peers])
    table(
        "Tagged counter increment (2 tags, rotating pseudo-random values, through each lookup path)",
        "counter_inc_tagged/floor_rotating",
        ["counter_inc_tagged/ours"] + [f"counter_inc_tagged/{p}" for p in peers + ["prometheus_static"]],
    )
    table(
        "Histogram record (11 default buckets, values spread over all buckets)",
        "histogram_record/floor_branchless",
        ["histogram_record/ours", "histogram_record/floor"]
        + [f"histogram_record/{p}" for p in ["metrics", "metrics_drained", "prometheus", "prometheus_client", "measured", "metrics_lib"]],
    )
    table(
        "Summary record (amortised; `metrics_histogram_drained` includes the exporter's drain)",
        None,
        ["summary_record/metrics_histogram", "summary_record/metrics_histogram_drained", "summary_record/metrics_lib"],
        base="summary_record/ours",
    )
    table(
        "Render a 1000-series counter family to Prometheus text (reused buffer)",
        "render_1000/floor",
        ["render_1000/ours"] + [f"render_1000/{p}" for p in ["measured", "prometheus_client", "metrics_lib", "prometheus", "metrics_exporter_prometheus"]],
    )
    table(
        "Contention: 2 threads on one series (time per increment per thread)",
        "contended_2/floor_shared_atomic",
        ["contended_2/ours", "contended_2/ours_sharded", "contended_2/ours_sharded_1_thread"],
    )
    table(
        "Contention: 2 threads recording into one histogram series (time per record per thread; `timed_record`: what timers record through)",
        None,
        ["histogram_record_contended_2/sampled_1_in_10", "histogram_record_contended_2/timed_record"],
        base="histogram_record_contended_2/unsampled",
        against="unsampled",
    )
    table(
        "#[timed] on an empty fn, against its two clock reads (`timed_into_nothing`: into a target that records nothing)",
        "clock/quanta_raw_twice",
        [
            "timed_sync_empty/timed",
            "timed_sync_empty/timed_into_nothing",
            "timed_async_empty/timed",
            "timed_sync_empty/manual_instant",
            "timed_async_empty/manual_instant",
            "timed_sync_empty/plain",
        ],
    )
    table(
        "A histogram's plain record and a timer's (`record_timed`), durations in one bucket and spread over nine (1 ms-1 s)",
        None,
        [
            "timed_histogram_record/record_spread",
            "timed_histogram_record/record_timed_one_bucket",
            "timed_histogram_record/record_timed_spread",
        ],
        base="timed_histogram_record/record_one_bucket",
        against="`record`, one bucket",
    )
    table("Clocks", "clock/instant_now", ["clock/instant_elapsed", "clock/quanta_now", "clock/quanta_raw", "clock/quanta_raw_twice"])
    table(
        "Record path with a push exporter attached (`benches/push.rs`)",
        "counter_inc/no_exporter",
        [
            "counter_inc/statsd_dead_target",
            "counter_inc/statsd_live_target",
            "counter_inc/remote_write_hanging_receiver",
            "counter_inc/otlp_dead_receiver",
            "floor/atomic_fetch_add",
        ],
    )
    table(
        "Sampling (histogram and summary record)",
        "histogram_record/unsampled",
        ["histogram_record/sampled_1_in_10", "histogram_record/sampled_1_in_100", "summary_record/unsampled", "summary_record/sampled_1_in_10", "summary_record/sampled_1_in_100"],
    )
    table("Render 1,000,000 series (one tagged counter)", None, [], base="scale/render_1m_series")
    table(
        "Run-time label lookup (100 route values, rotating)",
        None,
        ["dynamic_lookup/prometheus_with_label_values", "dynamic_lookup/metrics_counter_macro"],
        base="dynamic_lookup/ours_bounded_registry",
    )

    print("\n### Native histograms, exemplars and protobuf (`benches/native.rs`)")
    table(
        "Record into a native histogram, with and without exemplars (values over the 11 default buckets)",
        "native_record/floor_branchless",
        [f"native_record/{b}" for b in ["ours_classic", "ours_native", "ours_classic_exemplar", "ours_native_exemplar", "prometheus_client_exemplar", "metrics_native_drained"]],
    )
    table(
        "Two threads recording with exemplars into one series (time per record per thread)",
        None,
        ["exemplar_contended_2/prometheus_client_exemplar"],
        base="exemplar_contended_2/ours_classic_exemplar",
    )
    table(
        "Render a 1000-series counter family to protobuf (reused buffer)",
        None,
        ["render_protobuf_1000/prometheus"],
        base="render_protobuf_1000/ours",
    )

    print("\n### The `metrics` facade through each recorder (`benches/facade.rs`)")
    for title, path in [
        ("`metrics::counter!(\"bench_jobs_total\").increment(1)`", "counter_unlabeled"),
        ("`metrics::counter!` with 2 labels, 8 rotating combinations", "counter_labeled"),
        ("A registered `metrics::Counter` handle, `increment(1)`", "counter_cached"),
    ]:
        table(title, None, [f"facade/{path}_metrics_exporter_prometheus"], base=f"facade/{path}_ours")

    print("\n### Building one push of a 1000-series counter family (`benches/push_encode.rs`)")
    for title, ours, peers_ in [
        ("OTLP protobuf", "otlp_protobuf_ours", ["otlp_protobuf_opentelemetry_sdk", "otlp_protobuf_metrics_lib"]),
        ("OTLP protobuf, gzip", "otlp_protobuf_gzip_ours", ["otlp_protobuf_gzip_opentelemetry_sdk", "otlp_protobuf_gzip_metrics_lib"]),
        ("OTLP JSON", "otlp_json_ours", ["otlp_json_metrics_lib"]),
        ("Prometheus remote write (snappy)", "remote_write_snappy_ours", []),
        ("Pushgateway text body", "pushgateway_text_ours", ["pushgateway_text_prometheus"]),
    ]:
        table(title, None, [f"push_encode_1000/{p}" for p in peers_], base=f"push_encode_1000/{ours}")
    print("\n### Coalesced updates: `MetricBatch` against direct updates (`benches/batch.rs`)")
    table("One unit of work (4 counter increments, 1 gauge add, 2 histogram records), one thread",
          None, ["batch/per_unit", "batch/every_64"], base="batch/direct", against="direct")
    table("The same, two threads on the same series (time per unit per thread)",
          None, ["batch/per_unit/contended_2", "batch/every_64/contended_2"], base="batch/direct/contended_2", against="direct")

    print("\n### Run-time series (`benches/dynamic.rs`; the memory and insert table is printed by the bench itself)")
    for n in (100, 4000):
        table(
            f"Lookup + increment of an existing series by its strings, {n} series (64 Ki-long pseudo-random order)",
            None,
            [f"dynamic_lookup_{n}/{p}" for p in ["ours", "prometheus_client", "measured", "metrics_counter_macro"]],
            base=f"dynamic_lookup_{n}/prometheus",
            against="prometheus",
        )
    for n, shown in [(100, "100"), (4000, "4,000")]:
        print(f"\n**Two threads updating existing series of one family by their strings, {shown} series** "
              "(time per increment per thread; total rate = threads / time; the floor: the same "
              "increments straight into one shared cell per series, no lookup)\n")
        print("| library | 1 thread | 2 threads | total Mops/s, 1 → 2 threads | 2 threads ÷ 1 thread | total vs ours, 2 threads |")
        print("|---|---:|---:|---:|---:|---:|")
        ours2 = median(f"dynamic_threads_{n}/ours_2")
        for lib in ["floor_shared_cells", "ours", "prometheus", "prometheus_client", "measured"]:
            one, two = median(f"dynamic_threads_{n}/{lib}_1"), median(f"dynamic_threads_{n}/{lib}_2")
            if one is None or two is None or ours2 is None:
                continue
            r1, r2 = 1e3 / one, 2e3 / two
            print(f"| {lib} | {one:.1f} ns | {two:.1f} ns | {r1:.1f} → {r2:.1f} | {r2 / r1:.2f}x | {ours2 / two:.2f} |")

main()
