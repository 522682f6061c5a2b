#!/usr/bin/env bash
# Installs the real collectors and parsers that the conformance tests run against, all under
# target/ (override with TOOLS_DIR), without touching the rest of the system:
#   - prometheus, promtool and the Pushgateway: Debian's `prometheus` and
#     `prometheus-pushgateway` packages, downloaded with apt-get into target/tools and unpacked
#     there with dpkg-deb (not installed: no maintainer script runs, no service starts, apt's
#     own package lists are not updated; apt-get keeps its lists under target/tools/apt)
#   - the Python `prometheus_client` package (its strict OpenMetrics parser) and the official
#     `opentelemetry-proto` package (the OTLP receiver of the push tests decodes with it), in a
#     virtualenv under target/tools-venv
#   - the StatsD server (npm package `statsd`), in target/statsd-server
# Only when the machine has no `node`/`npm` does it install Debian's `nodejs` and `npm`
# packages system-wide (the one change outside target/; a fresh machine of this project's kind
# has both). It starts no process that outlives it and stops none it did not start.
# Idempotent: quick when everything is already there. Prints where the tools are.
set -euo pipefail
cd "$(dirname "$0")/.."

PROM_CLIENT_VERSION="0.21.1"
OTLP_PROTO_VERSION="1.39.1"
TOOLS="${TOOLS_DIR:-$PWD/target/tools}"
VENV="${TOOLS_VENV:-$PWD/target/tools-venv}"
DEBS=(prometheus prometheus-pushgateway)

mkdir -p "$TOOLS/bin"
missing=0
for bin in prometheus promtool prometheus-pushgateway; do
    [ -x "$TOOLS/bin/$bin" ] || missing=1
done
if [ "$missing" = 1 ]; then
    echo "downloading Debian packages into $TOOLS: ${DEBS[*]}"
    apt_dir="$TOOLS/apt"
    mkdir -p "$apt_dir/lists/partial" "$apt_dir/cache/archives/partial" "$TOOLS/debs" "$TOOLS/root"
    # apt-get with its state and cache redirected under target/: the system's lists stay as
    # they are.
    apt_opts=(-q -o "Dir::State::Lists=$apt_dir/lists" -o "Dir::Cache=$apt_dir/cache"
        -o "APT::Sandbox::User=root")
    apt-get "${apt_opts[@]}" update >/dev/null
    (cd "$TOOLS/debs" && rm -f ./*.deb && apt-get "${apt_opts[@]}" download "${DEBS[@]}" >/dev/null)
    for deb in "$TOOLS"/debs/*.deb; do
        dpkg-deb -x "$deb" "$TOOLS/root"
    done
    for bin in prometheus promtool prometheus-pushgateway; do
        ln -sf "$TOOLS/root/usr/bin/$bin" "$TOOLS/bin/$bin"
    done
fi

venv_ok() {
    [ -x "$VENV/bin/python" ] || return 1
    "$VENV/bin/pip" show prometheus_client 2>/dev/null | grep -x "Version: $PROM_CLIENT_VERSION" >/dev/null || return 1
    "$VENV/bin/pip" show opentelemetry-proto 2>/dev/null | grep -x "Version: $OTLP_PROTO_VERSION" >/dev/null || return 1
}
if ! venv_ok; then
    echo "creating virtualenv $VENV with prometheus_client==$PROM_CLIENT_VERSION opentelemetry-proto==$OTLP_PROTO_VERSION"
    python3 -m venv "$VENV"
    "$VENV/bin/pip" install -q --disable-pip-version-check "prometheus_client==$PROM_CLIENT_VERSION" \
        "opentelemetry-proto==$OTLP_PROTO_VERSION"
fi

# The StatsD server that tests/tests/statsd.rs pushes to: Etsy statsd on node, in target/.
# 0.9.0 is the newest release on the npm registry. Its optional syslog backend needs a native
# build that nothing here uses: skip install scripts.
STATSD_VERSION="0.9.0"
STATSD_DIR="${STATSD_DIR:-$PWD/target/statsd-server}"
if ! command -v node >/dev/null 2>&1 || ! command -v npm >/dev/null 2>&1; then
    echo "installing Debian packages (system-wide): nodejs npm"
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq
    apt-get install -y -qq --no-install-recommends nodejs npm >/dev/null
fi
installed_statsd="$(node -e "try { console.log(require(process.argv[1]).version) } catch (e) {}" \
    "$STATSD_DIR/node_modules/statsd/package.json" 2>/dev/null || true)"
if [ "$installed_statsd" != "$STATSD_VERSION" ]; then
    echo "installing statsd@$STATSD_VERSION into $STATSD_DIR"
    mkdir -p "$STATSD_DIR"
    npm install --prefix "$STATSD_DIR" --no-audit --no-fund --ignore-scripts --loglevel=error \
        "statsd@$STATSD_VERSION"
fi

echo "promtool:    $TOOLS/bin/promtool ($("$TOOLS/bin/promtool" --version 2>&1 | head -1))"
echo "prometheus:  $TOOLS/bin/prometheus"
echo "pushgateway: $TOOLS/bin/prometheus-pushgateway ($("$TOOLS/bin/prometheus-pushgateway" --version 2>&1 | head -1))"
echo "python:      $VENV/bin/python (prometheus_client $("$VENV/bin/pip" show prometheus_client 2>/dev/null | sed -n 's/^Version: //p'), opentelemetry-proto $("$VENV/bin/pip" show opentelemetry-proto 2>/dev/null | sed -n 's/^Version: //p'))"
echo "statsd:      $STATSD_DIR/node_modules/statsd ($STATSD_VERSION, node $(node --version))"
