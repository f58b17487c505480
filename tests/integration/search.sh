#!/usr/bin/env bash
# oernode search, reindex and GET /api/search end to end: records added
# with oernode add, a hostile query, catch-up against reindex, and the
# API route's answers and JSON errors.
set -euo pipefail

. "$(dirname "$0")/lib.bash"
command -v curl >/dev/null || { echo "skipped: no curl"; exit 77; }

export OERNODE_DATA=$work/data
"$OERNODE" -q init --id nl-test >/dev/null
add() { "$OERNODE" -q add "$@"; }
ecole=$(add --title "fr:L'école des fractions" --language fr \
    --licence "CC BY 4.0" --level primaire --subject math)
add --title "nl:Breuken oefenen" --language nl --licence "CC0 1.0" \
    --level primair --subject math >/dev/null
add --title "nl:Vulkanen" --language nl --licence "CC BY 4.0" \
    --level secundair --keyword "nl:aardrijkskunde" >/dev/null

expect_exit 0 "$OERNODE" search ecole
contains "$work/out" "1 hits"
contains "$work/out" "$ecole	CC-BY-4.0	L'école des fractions"
expect_exit 0 "$OERNODE" search --licence CC-BY-4.0
contains "$work/out" "2 hits"
contains "$work/out" "language: fr (1), nl (1)"
expect_exit 0 "$OERNODE" search --licence CC-BY-4.0 --limit 1 --offset 1
contains "$work/out" "2 hits"
contains "$work/out" "showing 2-2; --offset and --limit page through them"
expect_exit 0 "$OERNODE" search 'AND (' '"' 'title:x' '*' NEAR
contains "$work/out" "0 hits"
expect_exit 2 "$OERNODE" search $(printf 'ecole %.0s' $(seq 33))
contains "$work/err" "at most 1000 bytes and 32 words"
expect_exit 2 "$OERNODE" search --limit 101
contains "$work/err" "limit: a whole number from 0 to 100"
expect_exit 2 "$OERNODE" search --system xx --level foo
contains "$work/err" "no education system 'xx' here"

# catch-up after a withdraw, then the same answers from a rebuilt index
"$OERNODE" -q withdraw "$ecole" --reason duplicate >/dev/null
expect_exit 0 "$OERNODE" search --json
cp "$work/out" "$work/caught-up.json"
contains "$work/out" '"total":2,"exact":true,"counted":2'
expect_exit 0 "$OERNODE" reindex
contains "$work/out" "index rebuilt: 3 documents read from 1 catalogues"
expect_exit 0 "$OERNODE" search --json
cmp "$work/out" "$work/caught-up.json" || fail "reindex answers differently"

start_serve "$work/port" "$work/serve.log"
pid=$serve_pid
trap 'kill $pid 2>/dev/null || true' EXIT
base=http://127.0.0.1:$(cat "$work/port")
get() { http_get "$base$1"; }

check "search 200" test "$(get '/api/search')" = 200
cmp "$work/body" <(tr -d '\n' <"$work/caught-up.json") ||
    fail "the API answers differently from oernode search --json"
check "filter 200" test "$(get '/api/search?level=primair&lang=nl')" = 200
contains "$work/body" '"total":1'
contains "$work/body" '"title":"Breuken oefenen"'
contains "$work/body" '"level":[{"value":"primair","count":1,"label":"primair"}]'
words=$(printf 'breuken+%.0s' $(seq 32))
check "32 words 200" test "$(get "/api/search?q=${words%+}")" = 200
contains "$work/body" '"total":1'
check "33 words 400" test "$(get "/api/search?q=${words}vulkanen")" = 400
contains "$work/body" '"code":"bad_parameter"'
contains "$work/body" 'and 32 words'
check "lang not a tag 400" test "$(get '/api/search?lang=english')" = 400
contains "$work/body" 'lang: a language tag'
check "empty lang 200" test "$(get '/api/search?lang=')" = 200
check "words 200" test "$(get '/api/search?q=vulkanen')" = 200
contains "$work/body" '"order":"rank"'
check "sort newest 200" test "$(get '/api/search?q=vulkanen&sort=newest')" = 200
contains "$work/body" '"order":"updated"'
check "sort relevance 200" test \
    "$(get '/api/search?q=vulkanen&sort=relevance')" = 200
contains "$work/body" '"order":"rank"'
check "bad sort 400" test "$(get '/api/search?sort=title')" = 400
contains "$work/body" '"message":"sort: relevance or newest"'
check "hostile 200" test \
    "$(get '/api/search?q=%22AND%20(%20title:x%20NEAR%20*')" = 200
contains "$work/body" '"total":0'

# a record added while serving is found at the next search
add --title "en:Volcanoes" --language en --licence "CC0 1.0" >/dev/null
check "new record" test "$(get '/api/search?q=volcanoes')" = 200
contains "$work/body" '"total":1'

# Flemish and Dutch levels find each other through ISCED 2011
vl=http://purl.org/oernode/vocab/be-vl
nl=http://purl.org/oernode/vocab/nl
level_doc() {
    printf '{"schema":1,"title":{"nl":"%s"},"languages":["nl"],"licence":"CC0-1.0",' "$1"
    printf '"levels":[{"source":"%s","value":"%s"}]}\n' "$2" "$3"
}
level_doc "Breuken groep 5" "$nl" po_groep5 >"$work/nl5.json"
level_doc "Breuken vijfde leerjaar" "$vl" lager-5 >"$work/vl5.json"
add --json "$work/nl5.json" >/dev/null
add --json "$work/vl5.json" >/dev/null
check "flemish filter" test \
    "$(get '/api/search?system=be-vl&level=lager-5&lang=nl')" = 200
contains "$work/body" '"total":2'
contains "$work/body" '"title":"Breuken groep 5"'
contains "$work/body" '{"value":"isced:1","count":2,"label":"'
check "dutch filter" test \
    "$(get '/api/search?system=nl&level=po_groep5&lang=nl')" = 200
contains "$work/body" '"total":2'
contains "$work/body" '"value":"lager-5","label":"lager onderwijs, 5e leerjaar","system":"be-vl","equivalent":{"system":"nl"'
check "unmapped filter" test "$(get '/api/search?system=nl&level=primai')" = 200
contains "$work/body" '"total":0'
expect_exit 0 "$OERNODE" search --system be-vl --level "lager onderwijs, 5e leerjaar"
contains "$work/out" "2 hits"
expect_exit 2 "$OERNODE" search --language "$(printf 'n\xff')"
contains "$work/err" "not UTF-8 text"

check "unknown 400" test "$(get '/api/search?colour=red')" = 400
contains "$work/body" '{"error":{"code":"unknown_parameter"'
check "limit 400" test "$(get '/api/search?limit=101')" = 400
contains "$work/body" '"code":"bad_parameter"'
contains "$work/body" '"message":"limit: a whole number from 0 to 100"'
check "offset 400" test "$(get '/api/search?offset=-1')" = 400
check "bad utf-8 400" test "$(get '/api/search?q=%FF')" = 400
contains "$work/body" '"code":"bad_parameter"'
for p in language licence level system lang; do
    check "bad utf-8 $p 400" test "$(get "/api/search?q=a&$p=x%C3")" = 400
    contains "$work/body" '"message":"a value that is not UTF-8 text"'
done
check "twice 400" test "$(get '/api/search?q=a&q=b')" = 400
for p in lang system sort limit offset peers wait_ms; do
    check "$p twice 400" test "$(get "/api/search?$p=1&$p=0")" = 400
    contains "$work/body" "\"message\":\"$p: given twice\""
done
check "unknown system 400" test "$(get '/api/search?system=xx&level=a')" = 400
contains "$work/body" '"code":"bad_parameter"'
contains "$work/body" "no education system 'xx' here; there are be-vl, isced-2011, nl"
check "known system 200" test "$(get '/api/search?system=be-vl')" = 200
# 81 bytes, the 64th inside a character: cut before it
long=a$(printf 'é%.0s' $(seq 40))
check "long unknown system 400" test "$(get "/api/search?system=$long")" = 400
contains "$work/body" "no education system 'a$(printf 'é%.0s' $(seq 31))' here"

kill -TERM $pid
wait $pid || fail "serve exited $? after SIGTERM"
trap - EXIT

# vocab.root: the vocabularies of another folder; a change rebuilds
cp -r "$(dirname "$0")/../../vocab" "$OERNODE_DATA/myvocab"
git config -f "$OERNODE_DATA/config" vocab.root myvocab
expect_exit 0 "$OERNODE" search --system nl --level po_groep5
contains "$work/out" "2 hits"
# a vocabulary's key after its label, as a filter takes it
contains "$work/out" "level: Primary education [isced:1] (2)"
echo >>"$OERNODE_DATA/myvocab/nl.json"
expect_exit 0 "$OERNODE" search --system nl --level po_groep5
contains "$work/err" "vocabularies changed: rebuilding"
contains "$work/out" "2 hits"

# A served node rebuilds for changed vocabularies on its indexer, while
# searches are answered from the index as it was, without waiting.
start_serve "$work/port2" "$work/serve2.log"
pid=$serve_pid
trap 'kill $pid 2>/dev/null || true' EXIT
base=http://127.0.0.1:$(cat "$work/port2")
check "served nl level 200" \
    test "$(get '/api/search?system=nl&level=po_groep5')" = 200
contains "$work/body" '"total":2'
echo >>"$OERNODE_DATA/myvocab/nl.json"
rebuilt() { grep -q "vocabularies changed: rebuilding" "$work/serve2.log"; }
for _ in $(seq 50); do
    t0=$(date +%s%N)
    check "search during the change 200" \
        test "$(get '/api/search?system=nl&level=po_groep5')" = 200
    ms=$((($(date +%s%N) - t0) / 1000000))
    contains "$work/body" '"total":2'
    [ "$ms" -lt 400 ] || fail "a search during the change took $ms ms"
    rebuilt && break
    sleep 0.1
done
rebuilt || fail "the indexer did not rebuild: $(cat "$work/serve2.log")"
kill -TERM $pid
wait $pid || fail "serve exited $? after SIGTERM"
trap - EXIT

git config -f "$OERNODE_DATA/config" vocab.root /nonexistent
expect_exit 0 "$OERNODE" search --level primair
contains "$work/err" "searching without vocabularies"
contains "$work/out" "1 hits"
echo "search: all checks passed"
