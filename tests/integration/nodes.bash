# Shared by the integration scripts that run several `oernode serve`
# nodes on loopback, each in $work/NAME; source it after lib.bash.
#   node NAME ARGS...      oernode -q on NAME's data folder
#   fingerprint NAME       its key's fingerprint
#   start NAME [PEER ADDR] serve -v (log NAME.log), ports to NAME.http and
#                          NAME.peer, pid in pid_NAME; returns once both
#                          ports are written (start_tenths, default 100)
#   stop NAME              SIGTERM, and wait for it
#   wait_for WHAT CMD...   until CMD succeeds (wait_tenths, default 300)
# Short liveness times (`times`) make peers notice each other quickly;
# every node started is stopped at exit.
# shellcheck shell=bash

times=(--ping-interval 500 --silence-limit 5000 --handshake-timeout 2000
    --retry-min 100 --retry-max 400)
pids=()
trap 'kill "${pids[@]}" 2>/dev/null || true' EXIT

node() { "$OERNODE" -q --data "$work/$1" "${@:2}"; }
fingerprint() { node "$1" id | sed -n 's/^fingerprint: //p'; }

start() {
    rm -f "$work/$1.http" "$work/$1.peer"
    "$OERNODE" --data "$work/$1" -v serve --http 127.0.0.1:0 \
        --port-file "$work/$1.http" --peer "${2:-127.0.0.1:0}" \
        --peer-port-file "$work/$1.peer" "${times[@]}" \
        </dev/null >"$work/$1.out" 2>>"$work/$1.log" &
    pids+=($!)
    eval "pid_$1=$!"
    for _ in $(seq "${start_tenths:-100}"); do
        [ -s "$work/$1.http" ] && [ -s "$work/$1.peer" ] && return 0
        sleep 0.1
    done
    cat "$work/$1.log" >&2
    fail "$1 did not start"
}

stop() {
    local pid
    eval "pid=\$pid_$1"
    kill "$pid"
    wait "$pid" 2>/dev/null || true
}

# The checks that wait_for runs are run again each time: pass a command
# and its arguments, not a $(...) result.
wait_for() {
    local what=$1; shift
    for _ in $(seq "${wait_tenths:-300}"); do
        "$@" && return 0
        sleep 0.1
    done
    tail -n 30 "$work"/*.log >&2
    fail "$what"
}
