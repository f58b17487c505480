#!/usr/bin/env bash
# oernode serve end to end: a node with a record serves its status, its
# resources and JSON errors on loopback, then stops cleanly on SIGTERM.
set -euo pipefail

. "$(dirname "$0")/lib.bash"
command -v curl >/dev/null || { echo "skipped: no curl"; exit 77; }

export OERNODE_DATA=$work/data
"$OERNODE" -q init --id nl-test >/dev/null
id=$("$OERNODE" -q add --title "nl:Breuken oefenen" --language nl \
    --licence "CC BY-SA 4.0")

start_serve "$work/port" "$work/serve.log"
pid=$serve_pid
trap 'kill $pid 2>/dev/null || true' EXIT
base=http://127.0.0.1:$(cat "$work/port")

get() { http_get "$base$1"; }

# One daemon a data folder: a second is refused, naming the first's pid
expect_exit 1 "$OERNODE" serve --http 127.0.0.1:0 --peer 127.0.0.1:0
contains "$work/err" "another oernode serve runs on $work/data (pid $pid)"
kill -0 "$pid" || fail "the first serve died"

check "status 200" test "$(get /api/status)" = 200
contains "$work/body" '"node":"nl-test"'
contains "$work/body" "\"fingerprint\":\"$("$OERNODE" id |
    sed -n 's/^fingerprint: //p')\""
contains "$work/body" "\"head\":\"$(git -C "$work/data/repo.git" \
    rev-parse refs/catalog/nl-test)\""

check "list 200" test "$(get /api/resources)" = 200
contains "$work/body" '"total":1'
contains "$work/body" "\"id\":\"$id\""

check "resource 200" test "$(get "/api/resources/$id")" = 200
contains "$work/body" '"licence":"CC-BY-SA-4.0"'
contains "$work/body" '"title":{"nl":"Breuken oefenen"}'

check "missing 404" test "$(get /api/resources/nl-test/nothere)" = 404
contains "$work/body" '{"error":{"code":"not_found"'
check "bad id 400" test "$(get /api/resources/NL/..)" = 400
contains "$work/body" '"code":"bad_id"'
check "bad limit 400" test "$(get '/api/resources?limit=-1')" = 400
contains "$work/body" '"message":"limit: a whole number from 0 to 1000"'
contains "$work/body" '"code":"bad_parameter"'
check "unknown origin 404" test "$(get '/api/resources?origin=nl-other')" = 404
contains "$work/body" '"code":"not_found"'

check "unknown path 404" test "$(get /nothing)" = 404

kill -TERM $pid
wait $pid || fail "serve exited $? after SIGTERM"
trap - EXIT
contains "$work/serve.log" 'msg=stopped node=nl-test'
echo "serve: all checks passed"
