# shellcheck shell=bash
# Shared by deploy/local/up, down and ctl: the state folder, topology.env, starting,
# checking and stopping the processes of the local topology.
#
# State folder (DIR):
#   topology.env        what tests read: URLs, PID_<name>, LISTEN_<name>, ...
#   secrets.env         NATS passwords (mode 600), kept across runs
#   run/<name>          how each process is started; `ctl start` runs it again
#   logs/<name>.log     each process's output, appended across restarts
#   nats/               node configurations and JetStream stores
#   postgres/data       the PostgreSQL cluster (elsewhere when the postgres user cannot
#                       reach DIR, see PG_DATA in topology.env)
#   gongzhi/            the shared --data-dir: secret.key and data/

LOCAL_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck disable=SC2034 # used by up
REPO_DIR=$(cd "$LOCAL_DIR/../.." && pwd)

PG_BIN='' PG_DATA='' PG_LOG=''

# Seconds a process may take to become ready, and to stop after SIGTERM.
TIMEOUT=60
STOP_TIMEOUT=20

die() {
    echo "${0##*/}: $*" >&2
    exit 1
}

say() { echo "==> $*"; }

is_root() { [ "$(id -u)" -eq 0 ]; }

# Absolute path of the state folder; refuses names that topology.env could not carry.
set_dir() {
    case $1 in
        *[[:space:]\"\'\\\$]*) die "the state folder's path may not contain spaces, quotes, \\ or \$: $1" ;;
    esac
    DIR=$(realpath -m -- "$1")
}

# --- topology.env: KEY=value lines, no quoting -------------------------------------

topo_get() {
    sed -n "s/^$1=//p" "$DIR/topology.env" 2>/dev/null | tail -n 1
}

# Sets KEY to VALUE, replacing an earlier line. Under a lock: `ctl start` may run
# concurrently for several processes.
topo_set() {
    local key=$1 value=$2 file="$DIR/topology.env"
    (
        umask 077 # it holds the NATS admin password
        flock 9
        { grep -v "^$key=" "$file" 2>/dev/null || true; printf '%s=%s\n' "$key" "$value"; } >"$file.tmp"
        mv "$file.tmp" "$file"
    ) 9>"$DIR/.lock"
}

require_topology() {
    [ -f "$DIR/topology.env" ] || die "no topology in $DIR (start one with deploy/local/up --dir $DIR)"
    PG_BIN=$(topo_get PG_BIN)
    PG_DATA=$(topo_get PG_DATA)
    PG_LOG=$(topo_get PG_LOG)
}

names() { topo_get NAMES; }

kind_of() {
    case $1 in
        nats[0-9]*) echo nats ;;
        postgres) echo postgres ;;
        *) echo gongzhi ;;
    esac
}

known_name() {
    local name
    for name in $(names); do [ "$name" = "$1" ] && return 0; done
    die "no process called '$1' in $DIR (there are: $(names))"
}

# --- processes ------------------------------------------------------------------------

# Whether PID runs and its command line holds every one of the given strings, so a PID
# the system has since given to another program is not taken for ours.
pid_matches() {
    local pid=$1 cmdline text
    shift
    [ -n "$pid" ] && [ -r "/proc/$pid/cmdline" ] || return 1
    cmdline=$(tr '\0' ' ' 2>/dev/null <"/proc/$pid/cmdline") || return 1
    [ -n "$cmdline" ] || return 1 # a zombie
    for text; do
        [[ $cmdline == *"$text"* ]] || return 1
    done
}

alive() {
    local name=$1
    case $(kind_of "$name") in
        postgres) pid_matches "$(pg_pid)" "$PG_DATA" ;;
        nats) pid_matches "$(topo_get "PID_$name")" "$DIR/nats/$name.conf" ;;
        gongzhi) pid_matches "$(topo_get "PID_$name")" "$DIR/gongzhi" "$(topo_get "LISTEN_$name")" ;;
    esac
}

http_ok() {
    [ "$(curl -s -o /dev/null -w '%{http_code}' --max-time 2 "$1" 2>/dev/null)" = 200 ]
}

ready() {
    local name=$1
    case $(kind_of "$name") in
        # 200 once the node serves JetStream: for a cluster, it sees a meta leader and is current.
        nats) http_ok "http://$(topo_get "MONITOR_$name")/healthz" ;;
        postgres) "$PG_BIN/pg_isready" -q -t 2 -U postgres -h 127.0.0.1 -p "$(topo_get LISTEN_postgres | sed 's/.*://')" ;;
        gongzhi) http_ok "http://$(topo_get "LISTEN_$name")/readyz" ;;
    esac
}

log_tail() {
    local log="$DIR/logs/$1.log"
    echo "--- last lines of $log:" >&2
    tail -n 25 "$log" >&2 2>/dev/null || echo "(no log)" >&2
    echo "---" >&2
}

# Waits until every NAME is ready; TIMEOUT seconds for all of them together.
wait_ready() {
    local deadline=$((SECONDS + TIMEOUT)) pending=("$@") still name
    while :; do
        still=()
        for name in "${pending[@]}"; do
            ready "$name" && continue
            if ! alive "$name"; then
                echo "${0##*/}: $name exited before it was ready" >&2
                log_tail "$name"
                return 1
            fi
            still+=("$name")
        done
        [ ${#still[@]} -eq 0 ] && return 0
        if [ $SECONDS -ge $deadline ]; then
            for name in "${still[@]}"; do
                echo "${0##*/}: $name is not ready after ${TIMEOUT} s" >&2
                log_tail "$name"
            done
            return 1
        fi
        pending=("${still[@]}")
        sleep 0.2
    done
}

# Starts NAME from its launcher DIR/run/NAME, in a session of its own so that it outlives
# this script and a signal to the caller's process group.
spawn() {
    local name=$1 log="$DIR/logs/$1.log"
    printf '=== %s: started by %s\n' "$(date '+%F %T')" "${0##*/}" >>"$log"
    setsid "$DIR/run/$name" </dev/null >>"$log" 2>&1 &
    topo_set "PID_$name" "$!"
}

# Sends SIGTERM to every NAME that runs, waits up to STOP_TIMEOUT, then SIGKILLs the rest.
terminate() {
    local name deadline=$((SECONDS + STOP_TIMEOUT)) left=()
    for name; do
        if alive "$name"; then
            kill -TERM "$(topo_get "PID_$name")" 2>/dev/null || true
            left+=("$name")
        fi
    done
    while [ ${#left[@]} -gt 0 ]; do
        local still=()
        for name in "${left[@]}"; do
            if alive "$name"; then still+=("$name"); fi
        done
        left=("${still[@]+"${still[@]}"}")
        [ ${#left[@]} -eq 0 ] && break
        if [ $SECONDS -ge $deadline ]; then
            for name in "${left[@]}"; do
                echo "${0##*/}: $name did not stop in ${STOP_TIMEOUT} s; killing it" >&2
                kill -KILL "$(topo_get "PID_$name")" 2>/dev/null || true
            done
            deadline=$((SECONDS + 5))
        fi
        sleep 0.1
    done
}

# SIGKILL, as a crash would, and wait until it is gone.
kill_now() {
    local name=$1
    alive "$name" || return 0
    kill -KILL "$(topo_get "PID_$name")"
    while alive "$name"; do sleep 0.05; done
}

# --- PostgreSQL -------------------------------------------------------------------------

# The newest server under /usr/lib/postgresql, or GONGZHI_PG_BIN.
find_pg_bin() {
    if [ -n "${GONGZHI_PG_BIN:-}" ]; then
        echo "$GONGZHI_PG_BIN"
        return
    fi
    local bin
    bin=$(find /usr/lib/postgresql -mindepth 3 -maxdepth 3 -path '*/bin/initdb' 2>/dev/null | sort -V | tail -n 1)
    [ -n "$bin" ] || die "no PostgreSQL server under /usr/lib/postgresql (apt-get install postgresql, or set GONGZHI_PG_BIN)"
    dirname "$bin"
}

# PostgreSQL refuses to run as root; as root, it and its files belong to the postgres user.
as_pg() {
    if is_root; then
        # From /, which it can enter (the caller's folder may be private).
        (cd / && runuser -u postgres -- "$@")
    else
        "$@"
    fi
}

pg() {
    local tool=$1
    shift
    as_pg "$PG_BIN/$tool" "$@"
}

pg_pid() { head -n 1 "$PG_DATA/postmaster.pid" 2>/dev/null || true; }

pg_start() {
    pg pg_ctl start -w -t "$TIMEOUT" -D "$PG_DATA" -l "$PG_LOG" >/dev/null ||
        { log_tail postgres; return 1; }
    topo_set PID_postgres "$(pg_pid)"
}

pg_stop() {
    local mode=$1
    alive postgres || return 0
    pg pg_ctl stop -m "$mode" -w -t "$STOP_TIMEOUT" -D "$PG_DATA" >/dev/null ||
        pg pg_ctl stop -m immediate -w -D "$PG_DATA" >/dev/null
}

# Stops what runs: gongzhi processes (gateways first), then NATS, then PostgreSQL.
stop_all() {
    local name front=() back=() nats=()
    for name in $(names); do
        case $(kind_of "$name") in
            nats) nats+=("$name") ;;
            postgres) ;;
            gongzhi) if [[ $name == gateway* ]]; then front+=("$name"); else back+=("$name"); fi ;;
        esac
    done
    terminate "${front[@]+"${front[@]}"}"
    terminate "${back[@]+"${back[@]}"}"
    terminate "${nats[@]+"${nats[@]}"}"
    if [ -n "$PG_DATA" ] && [ -n "$PG_BIN" ]; then
        pg_stop fast
    fi
}
