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

"$OERNODE" serve --http 127.0.0.1:0 --port-file "$work/port" \
    --peer 127.0.0.1:0 2>"$work/serve.log" &
pid=$!
trap 'kill $pid 2>/dev/null || true' EXIT
for _ in $(seq 100); do
    [ -s "$work/port" ] && break
    sleep 0.1
done
[ -s "$work/port" ] || { cat "$work/serve.log" >&2; fail "serve did not start"; }
base=http://127.0.0.1:$(cat "$work/port")

get() { # get PATH: body to $work/body, prints the status
    curl -s --path-as-is -o "$work/body" -w '%{http_code}' "$base$1"
}

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
check "unknown origin 404" test "$(get '/api/resources?origin=nl-other')" = 404
contains "$work/body" '"code":"not_found"'

check "unknown path 404" test "$(get /nothing)" = 404

kill -TERM $pid
wait $pid || fail "serve exited $? after SIGTERM"
trap - EXIT
contains "$work/serve.log" 'msg=stopped node=nl-test'
echo "serve: all checks passed"
