#!/usr/bin/env bash
# Peers end to end: real `oernode serve` nodes on loopback peer by their
# key fingerprints, say HELLO and exchange PING/PONG (debug log and
# `oernode status`); refusals (unknown key, a key that is not the pinned
# one, plain TCP, TLS 1.2, no certificate, wrong ALPN) leave the
# established peer connected; a peer that stops sending is dropped after
# the silence limit and comes back; BYE on shutdown; "node not running".
set -euo pipefail

. "$(dirname "$0")/lib.bash"
command -v openssl >/dev/null || { echo "skipped: no openssl"; exit 77; }

times=(--ping-interval 200 --silence-limit 1500 --handshake-timeout 1000
    --retry-min 100 --retry-max 400)
pids=()
trap 'kill "${pids[@]}" 2>/dev/null || true' EXIT

node() { "$OERNODE" --data "$work/$1" "${@:2}"; }
fingerprint() { node "$1" id | sed -n 's/^fingerprint: //p'; }
wait_file() { # wait_file FILE LOG
    for _ in $(seq 100); do
        [ -s "$1" ] && return 0
        sleep 0.1
    done
    cat "$2" >&2
    fail "no $1"
}
start() { # start NODE: serve on free ports, written to NODE.http/.peer
    rm -f "$work/$1.http" "$work/$1.peer"
    "$OERNODE" --data "$work/$1" -v serve --http 127.0.0.1:0 \
        --port-file "$work/$1.http" --peer 127.0.0.1:0 \
        --peer-port-file "$work/$1.peer" "${times[@]}" \
        </dev/null >"$work/$1.out" 2>>"$work/$1.log" &
    pids+=($!)
    eval "pid_$1=$!"
    wait_file "$work/$1.http" "$work/$1.log"
}
status() { # status NODE: oernode status of a running node to NODE.status
    node "$1" status --http "127.0.0.1:$(cat "$work/$1.http")" \
        >"$work/$1.status"
}
# The status block of one peer: from "peer ID" to the next blank line.
peer_block() { sed -n "/^peer $2\$/,/^\$/p" "$work/$1.status"; }
wait_state() { # wait_state NODE PEER TEXT: until PEER's block has TEXT
    for _ in $(seq 100); do
        status "$1" && peer_block "$1" "$2" | grep -qF -- "$3" && return 0
        sleep 0.1
    done
    cat "$work/$1.status" "$work/$1.log" >&2
    fail "$1: peer $2 never showed: $3"
}
wait_log() { # wait_log NODE TEXT...: until one line of NODE's log has all
    local pattern
    for _ in $(seq 100); do
        pattern=$(printf '%s\n' "${@:2}")
        if awk -v want="$pattern" '
            BEGIN { n = split(want, w, "\n") }
            { ok = 1; for (i = 1; i <= n; i++) if (!index($0, w[i])) ok = 0
              if (ok) { found = 1; exit } }
            END { exit !found }' "$work/$1.log"; then
            return 0
        fi
        sleep 0.1
    done
    cat "$work/$1.log" >&2
    fail "$1 never logged: ${*:2}"
}

for n in aa bb cc xx; do
    node "$n" -q init --id "$n" >/dev/null
done
git config -f "$work/bb/config" policy.commercial yes

# bb knows aa but not where it listens; aa dials bb.  cc runs with no
# peers; aa also knows "mm" at cc's address, pinned to xx's key.
node bb -q peer add aa 127.0.0.1:1 "$(fingerprint aa)" >/dev/null
start bb
start cc
node aa -q peer add bb "127.0.0.1:$(cat "$work/bb.peer")" "$(fingerprint bb)" \
    >/dev/null
node aa -q peer add mm "127.0.0.1:$(cat "$work/cc.peer")" "$(fingerprint xx)" \
    >/dev/null
start aa
pa=$(cat "$work/aa.peer")

# HELLO, then PING/PONG both ways, in the debug log and in status.
wait_state aa bb "state: connected since"
wait_state bb aa "state: connected since"
wait_log aa 'msg="ping sent" peer=bb'
wait_log aa 'msg="pong received" peer=bb'
wait_log aa 'msg="peer connected" peer=bb' direction=outgoing commercial=yes
status aa
peer_block aa bb >"$work/block"
contains "$work/block" "(outgoing)"
contains "$work/block" "address: 127.0.0.1:$(cat "$work/bb.peer")"
contains "$work/block" "declared use: commercial yes, adapts no"
contains "$work/block" "last error: none"
contains "$work/block" "software: oernode/"
grep -q 'liveness: [1-9][0-9]* pings, [1-9][0-9]* pongs' "$work/block" ||
    fail "no PING/PONG in status: $(cat "$work/block")"
since=$(grep 'state: connected since' "$work/block")
status bb
peer_block bb aa >"$work/block"
contains "$work/block" "(incoming)"
contains "$work/block" "declared use: commercial no, adapts no"

# A key that is not the one pinned: aa refuses cc's key for "mm".
wait_log aa 'msg="peer key does not match the pinned fingerprint"' peer=mm
wait_state aa mm "does not match the pinned"

# Refusals at aa's peer port, each with its own log line.
openssl genpkey -algorithm ed25519 -out "$work/stranger.key" 2>/dev/null
openssl req -new -x509 -key "$work/stranger.key" -subj /CN=stranger \
    -days 2 -out "$work/stranger.crt" 2>/dev/null
client() { # client ARGS...: openssl s_client to aa's peer port
    timeout 5 openssl s_client -connect "127.0.0.1:$pa" "$@" \
        </dev/null >>"$work/s_client.out" 2>&1 || true
}
client -tls1_3 -alpn oernode/1 -cert "$work/stranger.crt" \
    -key "$work/stranger.key"
wait_log aa 'msg="connection refused: unknown key"'
client -tls1_2 -alpn oernode/1
wait_log aa 'msg="handshake failed"' 'reason="peer does not offer tls 1.3"'
client -tls1_3 -alpn oernode/1
wait_log aa 'msg="handshake failed"' 'certificate'
client -tls1_3 -alpn http/1.1 -cert "$work/stranger.crt" \
    -key "$work/stranger.key"
wait_log aa 'msg="handshake failed"' 'reason="peer does not offer alpn'
exec 3<>"/dev/tcp/127.0.0.1/$pa"
printf 'GET / HTTP/1.0\r\n\r\n' >&3
timeout 5 cat <&3 >/dev/null || true
exec 3<&-
wait_log aa 'msg="handshake failed"' 'http request'

# ... and bb stayed connected all along, still answering PINGs.
status aa
peer_block aa bb >"$work/block"
contains "$work/block" "$since"
pongs=$(sed -n 's/.* pings, \([0-9]*\) pongs.*/\1/p' "$work/block")
sleep 0.6
status aa
peer_block aa bb >"$work/block"
contains "$work/block" "$since"
[ "$(sed -n 's/.* pings, \([0-9]*\) pongs.*/\1/p' "$work/block")" -gt \
    "$pongs" ] || fail "no new PONG from bb: $(cat "$work/block")"

# A peer that stops sending is dropped after the silence limit...
kill -STOP "$pid_bb"
wait_log aa 'msg="closing on a violation"' peer=bb code=timeout
wait_state aa bb "last error: timeout: nothing received for"
# ... and connects again once it runs again: the error shows as history.
kill -CONT "$pid_bb"
wait_state aa bb "state: connected since"
wait_state aa bb ", not of this connection)"

# SIGTERM: BYE to the peers, a clean exit, and then "node not running".
kill -TERM "$pid_aa"
wait "$pid_aa" || fail "aa exited $? after SIGTERM"
wait_log bb 'msg="peer said bye"' peer=aa reason=shutdown
expect_exit 1 node aa status --http "127.0.0.1:$(cat "$work/aa.http")"
contains "$work/err" "node not running"

kill -TERM "$pid_bb" "$pid_cc"
wait "$pid_bb" || fail "bb exited $? after SIGTERM"
wait "$pid_cc" || fail "cc exited $? after SIGTERM"
trap - EXIT
echo "peers: all checks passed"
