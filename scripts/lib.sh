# Shared by scripts/test, scripts/serve and scripts/bench: source it from the
# repository root after `set -euo pipefail`.

root=$PWD
say() { printf '==> %s\n' "$*" >&2; }
die() { printf '%s: %s\n' "$(basename "$0")" "$*" >&2; exit 1; }

# The project's .venv, created if missing, reinstalled when pyproject.toml changes.
setup_venv() {
    if [[ ! -x .venv/bin/python ]]; then
        say "creating .venv"
        python3 -m venv .venv
    fi
    py=$root/.venv/bin/python
    local stamp=.venv/.smsledger-pyproject.sha256 want
    want=$(sha256sum pyproject.toml | cut -d' ' -f1)
    if [[ ! -f $stamp || $(cat "$stamp") != "$want" ]]; then
        say "installing project (pyproject.toml changed or first run)"
        "$py" -m pip install --quiet -e '.[dev]'
        echo "$want" > "$stamp"
    fi
    export PATH=$root/.venv/bin:$PATH
}

# mypy cannot follow the package-dir mapping, so it checks the layers through a
# tree of links that names them as the installed package does: smsledger.<layer>.
typecheck() {
    local tree=var/typecheck/smsledger layer
    mkdir -p "$tree"
    touch "$tree/__init__.py"
    for layer in api domain ledger projections; do
        ln -sfn "../../../$layer" "$tree/$layer"
    done
    mypy var/typecheck tests scripts
}

pg_answers() {
    "$py" - "$1" <<'PY' >/dev/null 2>&1
import sys

import psycopg

psycopg.connect(sys.argv[1], connect_timeout=3).close()
PY
}

# Runs in the background: starts pgserver, writes its URI, waits for SIGTERM,
# then stops the server (pgserver's atexit hook does the stop).
read -r -d '' pgserver_py <<'PY' || true
import json, os, signal, sys
from pathlib import Path

import psutil
import pgserver

pgdata, uri_file = Path(sys.argv[1]), Path(sys.argv[2])
# pgserver only stops the server when the last live handle exits; forget
# handles of runs that were killed before they could clean up.
handles = pgdata / ".handle_pids.json"
if handles.exists():
    live = [p for p in json.loads(handles.read_text()) if psutil.pid_exists(p)]
    handles.write_text(json.dumps(live))
signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
signal.signal(signal.SIGINT, lambda *_: sys.exit(0))
server = pgserver.get_server(pgdata, cleanup_mode="stop")
uri_file.write_text(server.get_uri())
while True:
    signal.pause()
PY

pgserver_pid=
stop_pgserver() {
    if [[ -n $pgserver_pid ]]; then
        kill -TERM "$pgserver_pid" 2>/dev/null || true
        wait "$pgserver_pid" 2>/dev/null || true
        pgserver_pid=
    fi
}
trap stop_pgserver EXIT

start_pgserver() {
    mkdir -p var
    local uri_file=var/pgserver.uri
    rm -f "$uri_file"
    "$py" -c "$pgserver_py" "$root/var/pgserver" "$root/$uri_file" \
        >var/pgserver.out 2>&1 &
    pgserver_pid=$!
    for _ in $(seq 1 600); do  # up to 60 s: initdb on first use is slow
        if [[ -s $uri_file ]]; then
            pg_url=$(cat "$uri_file")
            return 0
        fi
        if ! kill -0 "$pgserver_pid" 2>/dev/null; then
            wait "$pgserver_pid" 2>/dev/null || true
            pgserver_pid=
            cat var/pgserver.out >&2
            return 1
        fi
        sleep 0.1
    done
    cat var/pgserver.out >&2
    return 1
}

# PostgreSQL, first that works: the URL given ($1, named $2 in messages), the
# local server on 127.0.0.1:5432, the Debian cluster started, or a throwaway
# pgserver under var/pgserver, stopped on exit. Sets pg_url.
# SMSLEDGER_FORCE_PGSERVER=1 skips straight to pgserver (to test that path).
find_postgres() {
    pg_url=
    pg_source=
    local local_url=postgresql://postgres@127.0.0.1:5432/postgres
    if [[ ${SMSLEDGER_FORCE_PGSERVER:-} == 1 ]]; then
        say "SMSLEDGER_FORCE_PGSERVER=1: skipping to pgserver"
    elif [[ -n ${1:-} ]]; then
        pg_url=$1 pg_source="${2:-the given URL}"
    elif pg_answers "$local_url"; then
        pg_url=$local_url pg_source="local server"
    elif command -v pg_ctlcluster >/dev/null && [[ -d /etc/postgresql ]]; then
        local version
        version=$(ls /etc/postgresql | sort -V | tail -n1)
        say "starting Debian cluster $version/main"
        if pg_ctlcluster --skip-systemctl-redirect "$version" main start \
            && pg_answers "$local_url"; then
            pg_url=$local_url pg_source="Debian cluster $version/main"
        fi
    fi
    if [[ -z $pg_url ]]; then
        say "starting throwaway pgserver in var/pgserver"
        start_pgserver || die "no PostgreSQL available: set ${2:-a database URL}, run a server on 127.0.0.1:5432, or fix pgserver (log above)"
        pg_source="pgserver (var/pgserver)"
    fi
    pg_answers "$pg_url" || die "PostgreSQL from $pg_source does not answer at $pg_url"
    say "PostgreSQL: $pg_source -> $pg_url"
}

# The browser tests drive Debian's Chromium (Playwright cannot download its
# own here). Install it when missing and apt-get can; else stop, saying so:
# the tests are never skipped. CHROMIUM names another binary.
ensure_chromium() {
    local chromium=${CHROMIUM:-/usr/bin/chromium}
    if [[ -x $chromium ]]; then
        return 0
    fi
    if [[ $chromium == /usr/bin/chromium ]] && command -v apt-get >/dev/null \
        && [[ $(id -u) == 0 ]]; then
        say "installing Chromium for the browser tests (apt-get install chromium)"
        if apt-get update -qq >&2 && apt-get install -y -qq chromium >&2; then
            [[ -x $chromium ]] && return 0
        fi
    fi
    die "no Chromium at $chromium for the browser tests: install Debian's (apt-get install -y chromium, as root) or set CHROMIUM to a Chromium binary"
}

# `scripts/bench --users` and its smoke test load the server with wrk.
# Install Debian's when missing and apt-get can; else stop, saying so.
ensure_wrk() {
    if command -v wrk >/dev/null; then
        return 0
    fi
    if command -v apt-get >/dev/null && [[ $(id -u) == 0 ]]; then
        say "installing wrk for the benchmark (apt-get install wrk)"
        if apt-get update -qq >&2 && apt-get install -y -qq wrk >&2; then
            command -v wrk >/dev/null && return 0
        fi
    fi
    die "no wrk for the benchmark: install Debian's (apt-get install -y wrk, as root)"
}
