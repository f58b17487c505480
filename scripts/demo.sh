#!/usr/bin/env bash
# The README's run command: a demo node in ./data (made on first use),
# holding the demo records that ship in demo/, checked with oernode fsck
# and with stock git, listed, then served on loopback until Ctrl-C.
set -euo pipefail

bin=${1:-build/oernode}
top=$(cd "$(dirname "$0")/.." && pwd)
data=${OERNODE_DATA:-$top/data}
export OERNODE_DATA=$data

if [ ! -f "$data/config" ]; then
    echo "== creating a demo node in $data"
    "$bin" init --id demo --data "$data"
fi

echo "== importing the demo records (a second run changes nothing)"
"$bin" import lom "$top/demo/records.xml"

if ! "$bin" list | grep -q 'Photosynthesis: worksheet'; then
    echo "== adding a resource with a file"
    "$bin" add --title "en:Photosynthesis: worksheet" --language en \
        --licence "CC BY 4.0" --type exercise --audience learner \
        --description "en:Four questions to go with the photosynthesis diagrams." \
        "$top/demo/worksheet.md"
fi

echo "== checking the store"
"$bin" fsck
signers=$(mktemp)
trap 'rm -f "$signers"' EXIT
"$bin" id --allowed-signers > "$signers"
git -C "$data/repo.git" -c gpg.format=ssh \
    -c gpg.ssh.allowedSignersFile="$signers" \
    verify-commit refs/catalog/demo
echo "git verify-commit: the catalogue head is signed by this node's key"

echo "== the node"
"$bin" id
echo
"$bin" list
echo
http=$("$bin" config |
    awk '/^\[listen\]/ { s = 1; next } /^\[/ { s = 0 } s && $1 == "http" { print $3 }')
http=${http:-127.0.0.1:8080}
echo "== serving: the search page is http://$http/ (Ctrl-C stops the node)"
echo "   http://$http/api/status and /api/search?q=... answer JSON; in"
echo "   another terminal: $bin show ID, $bin log, $bin --help (data in $data)"
exec "$bin" serve
