#!/usr/bin/env bash
# The search page in a real headless Chromium (tests/web/page_test.mjs,
# driven by playwright-core) against a node serving records, one of them
# with a hostile title, one with a file to download, one with a Flemish
# level (shown in the Dutch system
# once chosen); the page's files over plain HTTP: media types, cache
# headers, and no way out of the web folder; then, with a peer holding a
# catalogue this node does not accept, the peer's hit on the page.
set -euo pipefail

. "$(dirname "$0")/lib.bash"
here=$(cd "$(dirname "$0")/../web" && pwd)
skip() { echo "skipped: $*"; exit 77; }
command -v curl >/dev/null || skip "no curl"
command -v node >/dev/null || skip "no node (install nodejs)"
[ -x /usr/bin/chromium ] || skip "no /usr/bin/chromium (install chromium)"
if [ ! -d "$here/node_modules/playwright-core" ]; then
    command -v npm >/dev/null || skip "no npm to install playwright-core"
    (cd "$here" && npm ci --no-audit --no-fund >"$work/npm.log" 2>&1) ||
        { cat "$work/npm.log" >&2; fail "npm ci in tests/web"; }
fi

export OERNODE_DATA=$work/data
"$OERNODE" -q init --id nl-test >/dev/null
add() { "$OERNODE" -q add "$@" >/dev/null; }
add --title 'nl:Breuken <script>alert(1)</script> <img src=x onerror=window.__pwned=1>' \
    --description "nl:Oefenen met breuken" --language nl \
    --licence "CC BY 4.0" --level primair --subject '<i>rekenen</i>' \
    --url https://example.org/breuken
printf '1/2 is groter dan 1/3\n' >"$work/vergelijk breuken.txt"
sheet=$("$OERNODE" -q add --title "nl:Breuken vergelijken" \
    --description "nl:Welke is groter?" --language nl --licence "CC0 1.0" \
    --level primair --subject rekenen --url https://example.org/vergelijken \
    "$work/vergelijk breuken.txt")
add --title "nl:Breuken in de brugklas" --language nl \
    --licence "CC BY-SA 4.0" --level secundair --subject wiskunde
add --title "en:Volcanoes" --description "en:How a volcano erupts" \
    --language en --licence "CC BY 4.0" --level secondary \
    --url https://example.org/volcanoes
cat >"$work/fractions.json" <<'EOF'
{"schema":1,"title":{"en":"Fractions in year five"},"languages":["en"],
 "licence":"CC-BY-SA-4.0",
 "levels":[{"source":"http://purl.org/oernode/vocab/be-vl","value":"lager-5"}]}
EOF
fractions=$("$OERNODE" -q add --json "$work/fractions.json")
for i in $(seq 21); do
    add --title "en:Exercise $i" --language en --licence "CC0 1.0" \
        --level secondary
done

start_serve "$work/port" "$work/serve.log"
pid=$serve_pid
trap 'kill $pid 2>/dev/null || true' EXIT
base=http://127.0.0.1:$(cat "$work/port")

# the files, by plain HTTP
head_of() { curl -s --path-as-is -D "$work/head" -o "$work/body" \
    -w '%{http_code}' "$base$1"; }
check "page 200" test "$(head_of /)" = 200
contains "$work/head" "Content-Type: text/html; charset=utf-8"
contains "$work/head" "Cache-Control: no-cache"
contains "$work/head" "Content-Security-Policy: default-src 'none'"
contains "$work/body" '<script src="/web/app.js" defer></script>'
check "app.js 200" test "$(head_of /web/app.js)" = 200
contains "$work/head" "Content-Type: text/javascript; charset=utf-8"
contains "$work/head" "Cache-Control: public, max-age=300"
check "style.css 200" test "$(head_of /web/style.css)" = 200
contains "$work/head" "Content-Type: text/css; charset=utf-8"
for bad in /web/../config /web/%2e%2e/config /web/..%2fconfig \
        /web/.gitignore.txt /web/ /web//app.js /web/nope.js /index.html; do
    check "$bad refused" test "$(head_of "$bad")" = 404
done
check "API still served" test "$(head_of /api/status)" = 200

# a rating for the page to show (paradata, counted here)
rater=$("$OERNODE" -q token create --role contributor --name rater)
check "rated" test "$(curl -s -o "$work/body" -w '%{http_code}' \
    -H "Authorization: Bearer $rater" -d '{"rating": 4}' \
    "$base/api/resources/$sheet/rating")" = 200

# a resource's levels as the page shows them: in lang and system
check "resource 200" test "$(head_of "/api/resources/$fractions?lang=en&system=nl")" = 200
contains "$work/body" '"levels_shown":[{"source":"http://purl.org/oernode/vocab/be-vl","value":"lager-5","label":"primary education, year 5","system":"be-vl","equivalent":{"system":"nl","id":"po_groep7","label":"primary school, group 7","match":"broader"}}]'
check "resource unknown parameter 400" test \
    "$(head_of "/api/resources/$fractions?q=x")" = 400
contains "$work/body" '"code":"unknown_parameter"'
check "resource unknown system 400" test \
    "$(head_of "/api/resources/$fractions?system=xx")" = 400
contains "$work/body" "no education system 'xx' here"
check "resource system twice 400" test \
    "$(head_of "/api/resources/$fractions?system=nl&system=nl")" = 400

# the page, in the browser
shot=$work/web.png
node "$here/page_test.mjs" "$base" "$shot" >"$work/page.log" 2>&1 || {
    cat "$work/page.log" >&2
    fail "page_test.mjs"
}
cat "$work/page.log"
check "screenshot taken" test -s "$shot"
if [ -n "${OERNODE_WEB_SHOT:-}" ]; then
    cp "$shot" "$OERNODE_WEB_SHOT"
fi

# A peer's hit: node pb holds a record this node does not accept, so a
# search here asks pb (federated search) and the page shows its hit.
kill "$pid"
wait "$pid" 2>/dev/null || true
fp() { "$OERNODE" -q --data "$1" id | sed -n 's/^fingerprint: //p'; }
peer=$work/pb
"$OERNODE" -q --data "$peer" init --id pb >/dev/null
"$OERNODE" -q --data "$peer" add --title 'nl:Breuken op afstand <b>vet</b>' \
    --language nl --licence "CC BY 4.0" --url https://example.org/afstand \
    >/dev/null
"$OERNODE" -q --data "$peer" peer add nl-test 127.0.0.1:1 \
    "$(fp "$OERNODE_DATA")" >/dev/null
"$OERNODE" --data "$peer" serve --http 127.0.0.1:0 \
    --port-file "$work/pb.http" --peer 127.0.0.1:0 \
    --peer-port-file "$work/pb.peer" 2>"$work/pb.log" &
pbpid=$!
trap 'kill $pid $pbpid 2>/dev/null || true' EXIT
for _ in $(seq 100); do [ -s "$work/pb.peer" ] && break; sleep 0.1; done
[ -s "$work/pb.peer" ] || { cat "$work/pb.log" >&2; fail "pb did not start"; }
git config -f "$OERNODE_DATA/config" policy.accept none
"$OERNODE" -q peer add pb "127.0.0.1:$(cat "$work/pb.peer")" "$(fp "$peer")" \
    >/dev/null
start_serve "$work/port2" "$work/serve2.log"
pid=$serve_pid
base=http://127.0.0.1:$(cat "$work/port2")
for _ in $(seq 100); do
    curl -s "$base/api/peers" | grep -q '"state":"connected"' && break
    sleep 0.1
done
curl -s "$base/api/peers" | grep -q '"state":"connected"' ||
    fail "pb never connected"
# pb answers once its index is ready: ask through the API first
for _ in $(seq 50); do
    curl -s "$base/api/search?q=afstand&wait_ms=2000" | grep -q '"source":"pb"' &&
        break
    sleep 0.2
done
node "$here/page_test.mjs" "$base" "$work/peer.png" peer \
    >"$work/peer.log" 2>&1 || {
    cat "$work/peer.log" "$work/serve2.log" >&2
    fail "page_test.mjs peer"
}
cat "$work/peer.log"
"$OERNODE" -q list --origin pb 2>/dev/null | grep -q . &&
    fail "this node took pb's catalogue"
echo "web: ok"
