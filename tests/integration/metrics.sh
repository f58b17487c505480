#!/usr/bin/env bash
# GET /metrics end to end: two serve'd nodes on loopback, bb peered with
# aa; bb's exposition, read by the Prometheus client library's own parser,
# counts aa's live records as `oernode list` does, one connected peer,
# applied packs, requests by route and status class, and warn lines.
set -euo pipefail

. "$(dirname "$0")/lib.bash"
. "$(dirname "$0")/nodes.bash"
command -v curl >/dev/null || { echo "skipped: no curl"; exit 77; }
# Debian's python3-prometheus-client is for the system's python3, which
# another python3 on PATH may hide.
py=
for p in python3 /usr/bin/python3; do
    "$p" -c 'import prometheus_client.parser' 2>/dev/null && { py=$p; break; }
done
[ -n "$py" ] || { echo "skipped: no python3-prometheus-client"; exit 77; }


count() { node "$1" list --origin aa 2>/dev/null | wc -l; }
caught_up() { test "$(count bb)" = "$(count aa)"; }

# metric BASE NAME [LABEL=VALUE...]: the value of the sample, read from
# a scrape of BASE/metrics by prometheus_client's parser; "none" when no
# sample matches.
metric() {
    curl -s "$1/metrics" | "$py" -c '
import sys
from prometheus_client.parser import text_string_to_metric_families
name, want = sys.argv[1], dict(a.split("=", 1) for a in sys.argv[2:])
for family in text_string_to_metric_families(sys.stdin.read()):
    for s in family.samples:
        if s.name == name and all(s.labels.get(k) == v
                                  for k, v in want.items()):
            print(int(s.value) if s.value == int(s.value) else s.value)
            sys.exit(0)
print("none")' "${@:2}"
}

for n in aa bb; do
    node "$n" init --id "$n" >/dev/null
done
node aa import lom "$(dirname "$0")/../../demo/records.xml" >/dev/null
gone=$(node aa list | head -n 1 | cut -f 1)
node aa withdraw "$gone" --reason "duplicate" >/dev/null
[ "$(count aa)" -gt 1 ] || fail "aa has too few records"

node bb peer add aa 127.0.0.1:1 "$(fingerprint aa)" >/dev/null
start bb
node aa peer add bb "127.0.0.1:$(cat "$work/bb.peer")" \
    "$(fingerprint bb)" >/dev/null
start aa
wait_for "bb never caught up with aa" caught_up
b=http://127.0.0.1:$(cat "$work/bb.http")

# The whole exposition parses, with the right media type.
check "metrics 200" test "$(http_get "$b/metrics")" = 200
curl -s -o /dev/null -D "$work/headers" "$b/metrics"
contains "$work/headers" \
    "Content-Type: text/plain; version=0.0.4; charset=utf-8"
check "the client library parses it" "$py" -c '
import sys
from prometheus_client.parser import text_string_to_metric_families
families = {f.name: f.type for f in
            text_string_to_metric_families(open(sys.argv[1]).read())}
for name, kind in [("oernode_info", "gauge"), ("oernode_resources", "gauge"),
                   ("oernode_peers_connected", "gauge"),
                   ("oernode_sync_packs", "counter"),
                   ("oernode_errors", "counter"),
                   ("oernode_http_request_duration_seconds", "histogram")]:
    assert families.get(name) == kind, (name, families.get(name))' \
    "$work/body"

# Resources as `oernode list` shows them, the withdrawn one left out.
wait_for "resources{origin=aa} is not what list shows" \
    test "$(metric "$b" oernode_resources origin=aa)" = "$(count bb)"
check "no catalogue of bb, no sample" \
    test "$(metric "$b" oernode_resources origin=bb)" = none
check "info" test "$(metric "$b" oernode_info node=bb \
    version="$("$OERNODE" --version | awk '{print $NF}')")" = 1

# Peers and sync.
wait_for "peers connected is not 1" \
    test "$(metric "$b" oernode_peers_connected)" = 1
check "packs applied" test "$(metric "$b" oernode_sync_packs_total \
    result=applied)" -ge 1
check "no pack rejected" test "$(metric "$b" oernode_sync_packs_total \
    result=rejected)" = 0
check "sync rounds" test "$(metric "$b" oernode_sync_rounds_total)" -ge 1

# Requests by route pattern and status class, counted as they come.
req() { metric "$b" oernode_http_request_duration_seconds_count "$@"; }
before=$(req method=GET route=/api/resources/ status=2xx)
[ "$before" = none ] && before=0
http_get "$b/api/resources/$(node bb list --origin aa | head -n 1 |
    cut -f 1)" >/dev/null
http_get "$b/api/resources/aa/nothere" >/dev/null
http_get "$b/nowhere" >/dev/null
check "2xx counted" test "$(req method=GET route=/api/resources/ \
    status=2xx)" = $((before + 1))
check "404 counted" test "$(req method=GET route=/api/resources/ \
    status=4xx)" = 1
check "unknown path counted" test "$(req method=other route=other \
    status=4xx)" = 1
check "+Inf is the count" test "$(metric "$b" \
    oernode_http_request_duration_seconds_bucket route=other \
    le=+Inf)" = 1

# A peer gone is a peer no longer connected, and a warn line of the peer
# module.
kill -KILL "${pids[1]}"
wait "${pids[1]}" 2>/dev/null || true
wait_for "peers connected is not 0 after aa stopped" \
    test "$(metric "$b" oernode_peers_connected)" = 0
wait_for "no peer warning counted" \
    test "$(metric "$b" oernode_errors_total kind=peer level=warn)" != none

kill -TERM "${pids[0]}"
wait "${pids[0]}" || fail "bb exited $? after SIGTERM"
trap - EXIT
echo "metrics: all checks passed"
