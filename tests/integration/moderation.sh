#!/usr/bin/env bash
# Contribution and moderation end to end over HTTP with curl: tokens made
# with oernode token; a submission edited and published (in oernode list,
# its commit verified by stock git); one rejected (nothing published, the
# contributor reads the reason); and every authentication and input
# error with its status and stable code, changing nothing.  Files: one
# uploaded to a submission is in the published record, in git and in
# the download; a rejected submission's files are deleted; hostile
# uploads change nothing.
set -euo pipefail

. "$(dirname "$0")/lib.bash"
command -v curl >/dev/null || { echo "skipped: no curl"; exit 77; }

export OERNODE_DATA=$work/data
"$OERNODE" -q init --id nl-test >/dev/null
"$OERNODE" -q id --allowed-signers >"$work/signers"
ann=$("$OERNODE" -q token create --role contributor --name ann)
mod=$("$OERNODE" -q token create --role moderator --name mo)
gone=$("$OERNODE" -q token create --role moderator --name gone)
expect_exit 0 "$OERNODE" token list
contains "$work/out" "ann	contributor	"
contains "$work/out" "mo	moderator	"
grep -qF "$ann" "$OERNODE_DATA/accounts.sqlite" && fail "token stored in clear"
expect_exit 0 "$OERNODE" token revoke gone
expect_exit 1 "$OERNODE" token revoke gone
expect_exit 2 "$OERNODE" token create --role root --name x

# accounts.expire-days: 1 to 36500, shown by oernode config
printf '[accounts]\n\texpire-days = 0\n' >>"$OERNODE_DATA/config"
expect_exit 3 "$OERNODE" config
contains "$work/err" "accounts.expire-days"
sed -i 's/expire-days = 0/expire-days = 30/' "$OERNODE_DATA/config"
expect_exit 0 "$OERNODE" config
contains "$work/out" "expire-days = 30"

start_serve "$work/port" "$work/serve.log"
pid=$serve_pid
trap 'kill $pid 2>/dev/null || true' EXIT
base=http://127.0.0.1:$(cat "$work/port")

# call TOKEN METHOD PATH [BODY]: body to $work/body, prints the status
call() {
    local auth=() data=()
    [ -n "$1" ] && auth=(-H "Authorization: Bearer $1")
    [ $# -ge 4 ] && data=(--data-binary "$4" -H "Content-Type: application/json")
    curl -s --path-as-is -o "$work/body" -w '%{http_code}' -X "$2" \
        "${auth[@]}" "${data[@]}" "$base$3"
}
want() { # want STATUS CODE-OR-TEXT TOKEN METHOD PATH [BODY]
    local status=$1 text=$2 got; shift 2
    got=$(call "$@")
    [ "$got" = "$status" ] || { cat "$work/body" >&2;
        fail "$2 $3: status $got, want $status"; }
    contains "$work/body" "$text"
}
doc='{"schema":1,"title":{"nl":"Breuken"},"languages":["nl"],"licence":"CC-BY-4.0"}'

# submit, list as moderator, edit, publish
want 201 '"state":"pending"' "$ann" POST /api/submissions "$doc"
contains "$work/body" '"account":"ann"'
want 200 '"title":{"nl":"Breuken"}' "$mod" GET /api/moderation/queue
edited='{"schema":1,"title":{"nl":"Breuken oefenen"},"languages":["nl"],"licence":"CC-BY-4.0"}'
want 200 '"Breuken oefenen"' "$mod" PUT /api/moderation/submissions/1 "$edited"
want 200 '"state":"published"' "$mod" POST /api/moderation/submissions/1/publish
contains "$work/body" '"resource":"nl-test/'
contains "$work/body" '"moderator":"mo"'
want 409 '"not_pending"' "$mod" POST /api/moderation/submissions/1/publish
expect_exit 0 "$OERNODE" list
contains "$work/out" "Breuken oefenen"
check "git verify-commit" git -C "$OERNODE_DATA/repo.git" \
    -c gpg.ssh.allowedSignersFile="$work/signers" \
    verify-commit refs/catalog/nl-test
git -C "$OERNODE_DATA/repo.git" log -1 --format=%s refs/catalog/nl-test \
    >"$work/msg"
contains "$work/msg" "publish submission 1 of ann, moderated by mo"
head=$(git -C "$OERNODE_DATA/repo.git" rev-parse refs/catalog/nl-test)

# submit, reject: nothing published, the contributor reads the reason
want 201 '"id":2' "$ann" POST /api/submissions "$doc"
want 200 '"state":"rejected"' "$mod" POST /api/moderation/submissions/2/reject \
    '{"reason":"already in the catalogue"}'
want 200 '"reason":"already in the catalogue"' "$ann" GET /api/submissions
contains "$work/body" '"resource":"nl-test/'
# one submission: its contributor reads it, a moderator too, another
# contributor may not
want 200 '"reason":"already in the catalogue"' "$ann" GET /api/submissions/2
contains "$work/body" '"id":2,'
contains "$work/body" '"state":"rejected"'
want 200 '"state":"rejected"' "$mod" GET /api/submissions/2
bea=$("$OERNODE" -q token create --role contributor --name bea)
want 403 '"forbidden"' "$bea" GET /api/submissions/2
want 404 '"not_found"' "$ann" GET /api/submissions/99
want 200 '"items":[]' "$mod" GET /api/moderation/queue
adm=$("$OERNODE" -q token create --role admin --name root)
want 200 '"items":[]' "$adm" GET /api/moderation/queue

# errors: status, stable code, and nothing changed
want 201 '"id":3' "$ann" POST /api/submissions "$doc"
before=$(curl -s -H "Authorization: Bearer $mod" "$base/api/moderation/queue")
want 401 '"missing_token"' "" GET /api/submissions
want 401 '"invalid_token"' "oer_nothing" GET /api/submissions
# a good token without its scheme: told what the header must be
check "no scheme 401" test "$(curl -s -o "$work/body" -w '%{http_code}' \
    -H "Authorization: $ann" "$base/api/submissions")" = 401
contains "$work/body" "the Authorization header is not 'Bearer TOKEN'"
want 401 '"invalid_token"' "$gone" GET /api/moderation/queue
want 403 '"forbidden"' "$ann" GET /api/moderation/queue
if command -v sqlite3 >/dev/null; then # an account idle past a year
    old=$("$OERNODE" -q token create --role contributor --name old)
    sqlite3 "$OERNODE_DATA/accounts.sqlite" \
        "UPDATE accounts SET last_active = 0 WHERE name = 'old'"
    want 401 '"expired_token"' "$old" GET /api/submissions
    want 401 '"invalid_token"' "$old" GET /api/submissions
fi
want 403 '"forbidden"' "$ann" POST /api/moderation/submissions/3/publish
want 400 '"unknown_parameter"' "$mod" GET '/api/moderation/queue?all=1'
want 400 '"unknown_parameter"' "$mod" POST /api/moderation/submissions/3/reject \
    '{"reason":"x","ban":true}'
want 400 '"bad_parameter"' "$mod" POST /api/moderation/submissions/3/reject '{}'
want 400 '"malformed_json"' "$ann" POST /api/submissions '{"schema":1,'
want 400 '"malformed_json"' "$ann" POST /api/submissions ''
contains "$work/body" "the body is empty"
want 400 '"malformed_json"' "$mod" PUT /api/moderation/submissions/3 '[1]'
want 422 '"field":"licence"' "$ann" POST /api/submissions \
    '{"schema":1,"title":{"nl":"x"},"languages":["nl"]}'
contains "$work/body" '"code":"invalid_metadata"'
# a licence as people write it: the id to write is named
want 422 '"field":"licence"' "$ann" POST /api/submissions \
    '{"schema":1,"title":{"nl":"x"},"languages":["nl"],"licence":"CC BY 4.0"}'
contains "$work/body" 'not a known licence id; write \"CC-BY-4.0\"'
want 422 '"field":"licence"' "$ann" POST /api/submissions \
    '{"schema":1,"title":{"nl":"x"},"languages":["nl"],"licence":"mine"}'
contains "$work/body" '"message":"not a known licence id","field"'
want 422 '"field":"colour"' "$mod" PUT /api/moderation/submissions/3 \
    '{"schema":1,"title":{"nl":"x"},"languages":["nl"],"licence":"CC0-1.0","colour":"red"}'
want 404 '"not_found"' "$mod" POST /api/moderation/submissions/99/publish
head -c 70000 /dev/zero | tr '\0' a >"$work/big"
want 413 '"body_too_large"' "$ann" POST /api/submissions "@$work/big"
after=$(curl -s -H "Authorization: Bearer $mod" "$base/api/moderation/queue")
[ "$before" = "$after" ] || fail "an error changed the queue"
check "nothing more published" test \
    "$(git -C "$OERNODE_DATA/repo.git" rev-parse refs/catalog/nl-test)" = "$head"

# files: submit, upload (one replaced), publish; the record lists them,
# git holds the blob, the download gives the same bytes
q=$OERNODE_DATA/queue
want 201 '"id":4' "$ann" POST /api/submissions "$doc"
head -c 300000 /dev/urandom >"$work/sheet.pdf"
sha=$(sha256sum <"$work/sheet.pdf" | cut -d' ' -f1)
want 201 "\"sha256\":\"$sha\"" "$ann" PUT /api/submissions/4/files/sheet.pdf \
    "@$work/sheet.pdf"
contains "$work/body" '"name":"sheet.pdf"'
contains "$work/body" '"media_type":"application/pdf"'
contains "$work/body" '"size":300000'
check "queued under its hash" test -f "$q/4/$sha"
printf 'first' >"$work/a.txt"
printf 'second' >"$work/b.txt"
want 201 '"size":5' "$ann" PUT /api/submissions/4/files/notes.txt "@$work/a.txt"
old=$(sha256sum <"$work/a.txt" | cut -d' ' -f1)
want 200 '"size":6' "$mod" PUT /api/submissions/4/files/notes.txt "@$work/b.txt"
check "replaced content removed" test ! -e "$q/4/$old"

# hostile uploads: status, stable code, and nothing changed
bob=$("$OERNODE" -q token create --role contributor --name bob)
before=$(ls -a "$q/4"; curl -s -H "Authorization: Bearer $ann" \
    "$base/api/submissions")
want 401 '"missing_token"' "" PUT /api/submissions/4/files/x.txt "@$work/a.txt"
want 401 '"invalid_token"' oer_no PUT /api/submissions/4/files/x.txt \
    "@$work/a.txt"
want 403 '"forbidden"' "$bob" PUT /api/submissions/4/files/x.txt "@$work/a.txt"
for name in ../../x ..%2F..%2Fconfig %2e%2e a%2Fb a%5Cb %01a . ''; do
    want 400 '"bad_name"' "$ann" PUT "/api/submissions/4/files/$name" \
        "@$work/a.txt"
done
want 404 '"not_found"' "$ann" PUT /api/submissions/99/files/x.txt "@$work/a.txt"
want 400 '"unknown_parameter"' "$ann" PUT '/api/submissions/4/files/x.txt?y=1' \
    "@$work/a.txt"
head -c $((100 * 1024 * 1024 + 1)) /dev/zero >"$work/huge"
want 413 '"body_too_large"' "$ann" PUT /api/submissions/4/files/huge.bin \
    "@$work/huge"
rm -f "$work/huge"
after=$(ls -a "$q/4"; curl -s -H "Authorization: Bearer $ann" \
    "$base/api/submissions")
[ "$before" = "$after" ] || fail "a refused upload changed something"
check "no stray file outside the queue" test ! -e "$OERNODE_DATA/x"
check "no stray file outside the queue" test ! -e "$q/x"

want 200 '"state":"published"' "$mod" POST /api/moderation/submissions/4/publish
id=$(jq -r .resource "$work/body")
# the submission still lists the files that went out
names() { jq -r '[.files[] | .name + " " + .sha256] | sort | join(",")' "$1"; }
curl -s -o "$work/record.json" "$base/api/resources/$id"
check "the published submission lists its two files" test \
    "$(jq '.files | length' "$work/body")" = 2
check "as the record holds them" test \
    "$(names "$work/body")" = "$(names "$work/record.json")"
check "queue folder removed on publish" test ! -e "$q/4"
want 409 '"not_pending"' "$ann" PUT /api/submissions/4/files/late.txt \
    "@$work/a.txt"
expect_exit 0 "$OERNODE" show "$id"
contains "$work/out" '"sheet.pdf"'
contains "$work/out" "$sha"
blob=$(jq -r '.files[] | select(.name == "sheet.pdf") | .blob' "$work/out")
git -C "$OERNODE_DATA/repo.git" cat-file blob "$blob" >"$work/from-git"
check "git holds the uploaded bytes" cmp "$work/from-git" "$work/sheet.pdf"
check "refs/content keeps it" git -C "$OERNODE_DATA/repo.git" \
    cat-file -e refs/content/nl-test
curl -s -o "$work/download" "$base/api/resources/$id/files/sheet.pdf"
check "download gives the uploaded bytes" cmp "$work/download" "$work/sheet.pdf"
curl -s -o "$work/res.json" "$base/api/resources/$id"
contains "$work/res.json" '"licence_url":"https://creativecommons.org/licenses/by/4.0/"'
curl -s -o "$work/hits.json" "$base/api/search?q=Breuken"
contains "$work/hits.json" '"licence_url":"https://creativecommons.org/licenses/by/4.0/"'
curl -s -o "$work/download" "$base/api/resources/$id/files/notes.txt"
check "the replacement is what was published" cmp "$work/download" "$work/b.txt"

# submit, upload, reject: the files are deleted, nothing published
head=$(git -C "$OERNODE_DATA/repo.git" rev-parse refs/catalog/nl-test)
want 201 '"id":5' "$ann" POST /api/submissions "$doc"
want 201 '"name":"x.txt"' "$ann" PUT /api/submissions/5/files/x.txt "@$work/a.txt"
check "queued" test -d "$q/5"
want 200 '"state":"rejected"' "$mod" POST /api/moderation/submissions/5/reject \
    '{"reason":"no licence for the pictures"}'
contains "$work/body" '"files":[]'
check "queue folder removed on reject" test ! -e "$q/5"
want 409 '"not_pending"' "$ann" PUT /api/submissions/5/files/x.txt "@$work/a.txt"
check "queue folder not made again" test ! -e "$q/5"
check "nothing published" test \
    "$(git -C "$OERNODE_DATA/repo.git" rev-parse refs/catalog/nl-test)" = "$head"

kill "$pid"
wait "$pid" || true
echo "moderation: ok"
