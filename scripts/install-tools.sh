#!/usr/bin/env bash
# Installs the real collectors and parsers that the conformance tests run against:
#   - prometheus and promtool (Debian package `prometheus`)
#   - the Python `prometheus_client` package (its strict OpenMetrics parser), in a virtualenv
#   - the StatsD server (npm package `statsd`), in target/statsd-server
# Idempotent: quick when everything is already there. Prints where the tools are.
set -euo pipefail
cd "$(dirname "$0")/.."

PROM_CLIENT_VERSION="0.21.1"
VENV="${TOOLS_VENV:-$PWD/target/tools-venv}"

need_apt=()
command -v promtool >/dev/null 2>&1 || need_apt+=(prometheus)
command -v prometheus >/dev/null 2>&1 || need_apt+=(prometheus)
if [ "${#need_apt[@]}" -gt 0 ]; then
    echo "installing Debian packages: prometheus"
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq
    # policy-rc.d keeps the package from starting a system-wide server.
    if [ ! -e /usr/sbin/policy-rc.d ]; then
        printf '#!/bin/sh\nexit 101\n' > /usr/sbin/policy-rc.d
        chmod +x /usr/sbin/policy-rc.d
        trap 'rm -f /usr/sbin/policy-rc.d' EXIT
    fi
    apt-get install -y -qq --no-install-recommends prometheus >/dev/null
    # Stop a server the package may have started anyway: the tests start their own.
    pkill -x prometheus 2>/dev/null || true
fi

if [ ! -x "$VENV/bin/python" ] || ! "$VENV/bin/python" -c "import prometheus_client, sys; sys.exit(prometheus_client.__version__ != '$PROM_CLIENT_VERSION') if hasattr(prometheus_client, '__version__') else None" 2>/dev/null; then
    echo "creating virtualenv $VENV with prometheus_client==$PROM_CLIENT_VERSION"
    python3 -m venv "$VENV"
    "$VENV/bin/pip" install -q --disable-pip-version-check "prometheus_client==$PROM_CLIENT_VERSION"
fi

# The StatsD server that tests/tests/statsd.rs pushes to: Etsy statsd on node, in target/.
# 0.9.0 is the newest release on the npm registry. Its optional syslog backend needs a native
# build that nothing here uses: skip install scripts.
STATSD_VERSION="0.9.0"
STATSD_DIR="${STATSD_DIR:-$PWD/target/statsd-server}"
if ! command -v node >/dev/null 2>&1 || ! command -v npm >/dev/null 2>&1; then
    echo "installing Debian packages: nodejs npm"
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

echo "promtool:   $(command -v promtool) ($(promtool --version 2>&1 | head -1))"
echo "prometheus: $(command -v prometheus)"
echo "python:     $VENV/bin/python (prometheus_client $("$VENV/bin/pip" show prometheus_client 2>/dev/null | sed -n 's/^Version: //p'))"
echo "statsd:     $STATSD_DIR/node_modules/statsd ($STATSD_VERSION, node $(node --version))"
