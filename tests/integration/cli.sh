#!/usr/bin/env bash
# The command line end to end: init, id, config, add, show, list,
# withdraw, log, fsck, import lom; the repository checked with stock git
# (fsck --strict, verify-commit); invalid metadata refused with nothing
# committed; --help of every command.
set -euo pipefail

. "$(dirname "$0")/lib.bash"
for tool in git ssh-keygen; do
    command -v "$tool" >/dev/null || { echo "skipped: no $tool"; exit 77; }
done

data=$work/data
export OERNODE_DATA=$data
cd "$work"

node() { "$OERNODE" -q "$@"; }
head_of() { git -C "$data/repo.git" rev-parse refs/catalog/be-vl; }

# init, and a second init refused
expect_exit 0 "$OERNODE" init --id be-vl
contains "$work/out" "fingerprint: SHA256:"
check "key is 0600" test "$(stat -c %a "$data/node.key")" = 600
check "bare repository" test -f "$data/repo.git/HEAD"
expect_exit 1 "$OERNODE" init --id be-vl
contains "$work/err" "exists"
expect_exit 2 "$OERNODE" init
contains "$work/err" "the node id is missing"
expect_exit 0 "$OERNODE" init --id quiet-node --data "$work/quiet" -q
check "-q after the command silences init's log" \
    test "$(grep -c 'level=info' "$work/err")" = 0
expect_exit 3 "$OERNODE" --data "$data/repo.git" id
contains "$work/err" "is a git repository's config, not a node's"
expect_exit 3 "$OERNODE" init --id Bad_Id --data "$work/other"
check "a refused init leaves nothing" test ! -e "$work/other"

# id: the fingerprint is ssh-keygen's of the printed key
node id >id.txt
sed -n 's/^public key: //p' id.txt >node.pub
fp=$(sed -n 's/^fingerprint: //p' id.txt)
check "ssh-keygen reads the key" ssh-keygen -l -f node.pub >keygen.txt
check "fingerprint matches ssh-keygen" test "$(awk '{print $2}' keygen.txt)" = "$fp"
contains id.txt "allowed signers: be-vl@oernode ssh-ed25519 AAAA"
node id --allowed-signers >signers
check "allowed-signers line" grep -q '^be-vl@oernode ssh-ed25519 AAAA' signers

# config: defaults, and errors naming file and key
expect_exit 0 "$OERNODE" config
contains "$work/out" "peer = 127.0.0.1:7440"
contains "$work/out" "http = 127.0.0.1:8080"
cp "$data/config" config.good
printf '[policy]\n\tcommercial = perhaps\n' >>"$data/config"
expect_exit 3 "$OERNODE" config
contains "$work/err" "$data/config: policy.commercial: bad value"
cp config.good "$data/config"
printf '[peer "nl-edurep"]\n\taddress = x.org:7440\n\tfingerprint = nope\n' >>"$data/config"
expect_exit 3 "$OERNODE" list
contains "$work/err" "peer.nl-edurep.fingerprint: bad fingerprint"
cp config.good "$data/config"

# add with flags, files and a URL
echo "worksheet" >sheet.txt
expect_exit 0 "$OERNODE" -q add --title "en:Fractions" --title "nl:Breuken" \
    --description "Adding fractions" --keyword en:fractions --language en \
    --licence "https://creativecommons.org/licenses/by/4.0/" \
    --level "primary school" --type exercise --audience learner \
    sheet.txt https://example.org/fractions
id1=$(cat "$work/out")
check "add prints the id" grep -Eq '^be-vl/[a-z2-7]{12}$' "$work/out"
node show "$id1" >show.json
contains show.json '"licence": "CC-BY-4.0"'
contains show.json '"name": "sheet.txt"'
contains show.json '"media_type": "text/plain"'
contains show.json "\"sha256\": \"$(sha256sum sheet.txt | cut -d' ' -f1)\""
contains show.json "\"blob\": \"$(git hash-object sheet.txt)\""
node show --raw "$id1" >raw.json
check "raw is canonical, no newline" test "$(tail -c1 raw.json | od -An -c | tr -d ' ')" = "}"

# an unknown licence is kept, with a warning
expect_exit 0 "$OERNODE" -q add --title "Kept" --licence "ask the author"
contains "$work/err" "warning"
id2=$(cat "$work/out")
node show "$id2" >show2.json
contains show2.json '"licence": "LicenseRef-unknown"'
contains show2.json '"rights": "ask the author"'

# add with --json
cat >good.json <<'JSON'
{"schema": 1, "title": {"de": "Brüche"}, "languages": ["de"],
 "licence": "CC0-1.0", "source_url": "https://example.org/b"}
JSON
expect_exit 0 "$OERNODE" -q add --json good.json
id3=$(cat "$work/out")

# every kind of bad metadata refused with exit 3, nothing committed
bad() { # bad NAME JSON REASON: refused, saying REASON
    local before
    before=$(head_of)
    printf '%s' "$2" >"bad-$1.json"
    expect_exit 3 "$OERNODE" -q add --json "bad-$1.json"
    contains "$work/err" "$3"
    check "nothing committed for $1" test "$(head_of)" = "$before"
}
base='"schema": 1, "licence": "CC0-1.0"'
en='"languages": ["en"], "title": {"en": "t"}'
zeros() { printf "0%.0s" $(seq "$1"); }
long=$(printf 'x%.0s' $(seq 1 1001))
bad missing "{$base, \"languages\": [\"en\"]}" "title: required field (missing)"
bad type "{$base, \"languages\": [\"en\"], \"title\": \"plain\"}" "(type)"
bad too-long "{$base, \"languages\": [\"en\"], \"title\": {\"en\": \"$long\"}}" "(too-long)"
bad bad-utf8 "{$base, $en, \"description\": {\"en\": \"caf$(printf '\xe9')\"}}" "unable to decode byte"
bad xml-char "{$base, $en, \"description\": {\"en\": \"a\\u0001b\"}}" "(xml-char)"
bad filename "{$base, $en, \"files\": [{\"name\": \"../x\", \"media_type\": \"text/plain\", \"size\": 1, \"blob\": \"$(zeros 40)\", \"sha256\": \"$(zeros 64)\"}]}" "(bad-filename)"
bad unknown-field "{$base, $en, \"colour\": \"red\"}" "colour: unknown field (unknown-field)"
bad bad-value "{$base, \"title\": {\"en\": \"t\"}, \"languages\": [\"not a tag\"]}" "(bad-value)"
bad not-json "{$base," "bad-not-json.json:1:"
bad other-origin "{$base, $en, \"id\": \"nl-x/abc\"}" "is not of this node"
expect_exit 2 "$OERNODE" add --json good.json --title x

# list, withdraw, list --all
node list >list.txt
contains list.txt "$id1	CC-BY-4.0	Fractions"
contains list.txt "$id3	CC0-1.0	Brüche"
expect_exit 0 "$OERNODE" -q withdraw "$id2" --reason "duplicate"
expect_exit 1 "$OERNODE" -q withdraw "$id2" --reason "again"
contains "$work/err" "withdrawn already"
expect_exit 2 "$OERNODE" withdraw "$id1"
node list >list.txt
check "tombstone hidden" test "$(grep -c "$id2" list.txt || true)" = 0
node list --all >list.txt
contains list.txt "$id2	withdrawn	duplicate"
node show "$id2" >stone.json
contains stone.json '"deleted": true'
expect_exit 1 "$OERNODE" show be-vl/nosuchid

# log, fsck, and stock git
node log >log.txt
check "one commit per change" test "$(wc -l <log.txt)" = 4
contains log.txt "withdraw $id2: duplicate"
expect_exit 0 "$OERNODE" fsck
contains "$work/out" "all is well"
check "git fsck --strict" git -C "$data/repo.git" fsck --strict
check "git verify-commit" git -C "$data/repo.git" \
    -c gpg.ssh.allowedSignersFile="$work/signers" \
    verify-commit refs/catalog/be-vl

# import lom of the shared samples, twice
shared=${OERNODE_SHARED:-}
if [ -n "$shared" ] && [ -d "$shared/data/lom" ] && [ -d "$shared/data/oai" ]; then
    before=$(head_of)
    got=0
    node import lom "$shared"/data/lom/*.xml "$shared"/data/oai/*.xml \
        >import1.txt 2>import1.err || got=$?
    cat import1.txt
    check "first import: exit 0 or 3 (skipped records)" test "$got" = 0 -o "$got" = 3
    check "first import commits" test "$(head_of)" != "$before"
    check "records imported" grep -Eq '^[1-9][0-9]* new' import1.txt
    if [ "$got" = 3 ]; then
        check "skips are explained" grep -q "oernode import: skipped" import1.err
    fi
    before=$(head_of)
    got=0
    node import lom "$shared/data/lom" "$shared/data/oai" \
        >import2.txt 2>/dev/null || got=$?
    contains import2.txt "0 new, 0 updated,"
    contains import2.txt "0 commits"
    check "second import makes no commit" test "$(head_of)" = "$before"
    expect_exit 0 "$OERNODE" fsck
    check "git verify-commit after import" git -C "$data/repo.git" \
        -c gpg.ssh.allowedSignersFile="$work/signers" \
        verify-commit refs/catalog/be-vl
else
    echo "import lom: skipped, the shared sample folder is absent"
fi

# add --json: a source id names the resource (adding again updates it);
# a licence written as a name gets the id to use; a missing file fails
cat >"$work/src.json" <<'JSON'
{"schema": 1, "title": {"en": "Cells"}, "languages": ["en"],
 "licence": "CC-BY-4.0", "source_id": "mine:42"}
JSON
first=$(node add --json "$work/src.json")
sed -i 's/"Cells"/"Cells and tissues"/' "$work/src.json"
check "same source id, same resource" \
    test "$(node add --json "$work/src.json")" = "$first"
node show "$first" >"$work/show"
contains "$work/show" "Cells and tissues"
sed -i 's/"CC-BY-4.0"/"CC BY 4.0"/' "$work/src.json"
expect_exit 3 "$OERNODE" add --json "$work/src.json"
contains "$work/err" "write \"CC-BY-4.0\""
expect_exit 1 "$OERNODE" add --json "$work/nosuch.json"
contains "$work/err" "cannot read"
expect_exit 3 "$OERNODE" add --title x --language en --licence ""
contains "$work/err" "--licence is empty"
# a language that is no tag is named, not the title keyed with it
expect_exit 3 "$OERNODE" add --title x --language english --licence "CC0 1.0"
contains "$work/err" "--language 'english': not a language tag"
expect_exit 3 "$OERNODE" add --title x --language nl --language nederlands \
    --licence "CC0 1.0"
contains "$work/err" "--language 'nederlands'"

# import: a folder with nothing to import and a path that does not exist
# are reported, not passed over as a success
mkdir -p "$work/noxml" && touch "$work/noxml/notes.txt"
expect_exit 3 "$OERNODE" import lom "$work/noxml" "$work/nosuch"
contains "$work/err" "no file to import in this folder: *.xml"
contains "$work/err" "nosuch: cannot read it: No such file or directory"

# --help of every command, and help COMMAND
expect_exit 0 "$OERNODE" --help
contains "$work/out" "Exit codes:"
for cmd in init id config add show list withdraw log import fsck help; do
    expect_exit 0 "$OERNODE" "$cmd" --help
    contains "$work/out" "usage: oernode $cmd"
    expect_exit 0 "$OERNODE" help "$cmd"
    contains "$work/out" "usage: oernode $cmd"
done
expect_exit 2 "$OERNODE" nosuchcommand
# a missing operand or option: the command's whole usage line
expect_exit 2 "$OERNODE" withdraw
contains "$work/err" "usage: oernode withdraw ID --reason TEXT; see oernode withdraw --help"
expect_exit 2 "$OERNODE" show
contains "$work/err" "usage: oernode show [--raw] ID"
expect_exit 2 "$OERNODE" list --bogus
# getopt's own message names the command as it was typed
contains "$work/err" "oernode list: unrecognized option '--bogus'"
contains "$work/err" "see: oernode list --help"
expect_exit 2 "$OERNODE" search --limit
contains "$work/err" "oernode search: option '--limit' requires an argument"
expect_exit 2 "$OERNODE" peer remove --x
contains "$work/err" "oernode peer remove: unrecognized option '--x'"
expect_exit 2 "$OERNODE"

rm -rf "$work"
echo "ok"
