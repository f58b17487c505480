#!/usr/bin/env bash
# File downloads and paradata over HTTP: a file added with oernode add
# comes back byte for byte with its media type and a safely quoted file
# name; bad names are refused, unknown files are 404, a file whose blob is
# not held redirects to the record's source_url; ratings (one per
# account: a token of any role) and download counts show in search hits.
set -euo pipefail

. "$(dirname "$0")/lib.bash"
command -v curl >/dev/null || { echo "skipped: no curl"; exit 77; }

export OERNODE_DATA=$work/data
"$OERNODE" -q init --id nl-test >/dev/null
name='wörk "sheet";1.txt'
printf 'hello\000bytes\n' >"$work/$name"
id=$("$OERNODE" -q add --title "en:Sheet" --language en \
    --licence "CC0 1.0" "$work/$name")
# a record naming a file this node does not hold, with and without a URL
held_elsewhere() {
    printf '{"schema":1,"title":{"en":"%s"},"languages":["en"],' "$1"
    printf '"licence":"CC0-1.0",%s"files":[{"name":"a.pdf",' "$2"
    printf '"media_type":"application/pdf","size":3,'
    printf '"blob":"%s",' 0123456789abcdef0123456789abcdef01234567
    printf '"sha256":"%s"}]}\n' \
        0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef
}
held_elsewhere Away '"source_url":"https://example.org/a.pdf",' \
    >"$work/away.json"
held_elsewhere Lost '' >"$work/lost.json"
away=$("$OERNODE" -q add --json "$work/away.json")
lost=$("$OERNODE" -q add --json "$work/lost.json")

ann=$("$OERNODE" -q token create --role contributor --name ann)
bob=$("$OERNODE" -q token create --role moderator --name bob)
start_serve "$work/port" "$work/serve.log"
pid=$serve_pid
trap 'kill $pid 2>/dev/null || true' EXIT
base=http://127.0.0.1:$(cat "$work/port")
fetch() { # fetch PATH: body to $work/body, headers to $work/head
    curl -s --path-as-is -D "$work/head" -o "$work/body" \
        -w '%{http_code}' "$base$1"
}
rate() { # rate ID BODY [TOKEN]: as ann unless another token ('' none)
    local auth=()
    [ -n "${3-$ann}" ] && auth=(-H "Authorization: Bearer ${3-$ann}")
    curl -s -o "$work/body" -w '%{http_code}' -X POST "${auth[@]}" \
        -H 'Content-Type: application/json' --data "$2" \
        "$base/api/resources/$1/rating"
}

enc='w%C3%B6rk%20%22sheet%22%3B1.txt'
check "download 200" test "$(fetch "/api/resources/$id/files/$enc")" = 200
cmp "$work/body" "$work/$name" || fail "the downloaded bytes differ"
contains "$work/head" "Content-Type: text/plain"
contains "$work/head" \
    "Content-Disposition: attachment; filename=\"w__rk _sheet__1.txt\"; filename*=UTF-8''$enc"

check "download with a parameter 400" \
    test "$(fetch "/api/resources/$id/files/$enc?y=1")" = 400
contains "$work/body" "\"message\":\"unknown parameter 'y': this path takes none\""
for p in /api/status /api/peers /metrics; do
    check "$p with a parameter 400" test "$(fetch "$p?x=1")" = 400
    contains "$work/body" '"code":"unknown_parameter"'
done
check "dot-dot 400" test "$(fetch "/api/resources/$id/files/..")" = 400
contains "$work/body" '"code":"bad_name"'
check "slash 400" test \
    "$(fetch "/api/resources/$id/files/..%2F..%2Fconfig")" = 400
check "backslash 400" test "$(fetch "/api/resources/$id/files/a%5Cb")" = 400
check "bad id 400" test "$(fetch "/api/resources/nl-test/A%2F/files/x")" = 400
check "unknown file 404" test "$(fetch "/api/resources/$id/files/no.txt")" = 404
contains "$work/body" '{"error":{"code":"not_found"'
check "unknown record 404" test \
    "$(fetch "/api/resources/nl-test/nosuch/files/a.pdf")" = 404
check "elsewhere 302" test "$(fetch "/api/resources/$away/files/a.pdf")" = 302
contains "$work/head" "Location: https://example.org/a.pdf"
check "not held 404" test "$(fetch "/api/resources/$lost/files/a.pdf")" = 404
contains "$work/body" '"code":"file_not_held"'

# ratings: one per account, replaced by its next; a token is needed
check "rate without a token 401" test "$(rate "$id" '{"rating": 5}' '')" = 401
contains "$work/body" '"code":"missing_token"'
check "rate with a bad token 401" \
    test "$(rate "$id" '{"rating": 5}' oer_nosuchtoken)" = 401
contains "$work/body" '"code":"invalid_token"'
check "rate 200" test "$(rate "$id" '{"rating": 4}')" = 200
contains "$work/body" '"rating":{"average":4.0,"count":1},"downloads":1'
check "re-rate 200" test "$(rate "$id" '{"rating": 2}')" = 200
contains "$work/body" '"rating":{"average":2.0,"count":1}'
check "another account 200" test "$(rate "$id" '{"rating": 5}' "$bob")" = 200
contains "$work/body" '"rating":{"average":3.5,"count":2}'
check "bob again 200" test "$(rate "$id" '{"rating": 4}' "$bob")" = 200
contains "$work/body" '"rating":{"average":3.0,"count":2}'
check "back to one rating" test "$(rate "$id" '{"rating": 2}' "$bob")" = 200
check "a rating read with GET 405" \
    test "$(http_get "$base/api/resources/$id/rating")" = 405
contains "$work/body" '"code":"method_not_allowed"'
contains "$work/body" 'a rating is POSTed'
check "rating 9" test "$(rate "$id" '{"rating": 9}')" = 400
contains "$work/body" '"code":"bad_rating"'
check "rating text" test "$(rate "$id" 'four')" = 400
check "rating with another key 400" \
    test "$(rate "$id" '{"rating": 3, "stars": 3}')" = 400
contains "$work/body" '"code":"bad_rating"'
check "rating with a parameter 400" test "$(curl -s -o "$work/body" \
    -w '%{http_code}' -H "Authorization: Bearer $ann" -d '{"rating": 3}' \
    "$base/api/resources/$id/rating?x=1")" = 400
contains "$work/body" '"code":"unknown_parameter"'
check "rate unknown" test "$(rate nl-test/nosuch '{"rating": 3}')" = 404
check "search 200" test "$(fetch "/api/search?q=sheet")" = 200
contains "$work/body" '"rating":{"average":2.0,"count":2},"downloads":1'
check "resource 200" test "$(fetch "/api/resources/$id")" = 200
contains "$work/body" '"rating":{"average":2.0,"count":2},"downloads":1'
