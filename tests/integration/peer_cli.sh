#!/usr/bin/env bash
# oernode peer add|list|remove: peers written to DIR/config as stock git
# reads them; duplicates and bad values refused with the file unchanged
# byte for byte; the configuration still valid after every change.
set -euo pipefail

. "$(dirname "$0")/lib.bash"
command -v git >/dev/null || { echo "skipped: no git"; exit 77; }

data=$work/data
export OERNODE_DATA=$data
cd "$work"

fp_nl=SHA256:uNiVztksCsDhcc0u9e8BujQXVUpKZIDTMczCvj3tD2s
fp_fr=SHA256:jRvkIFgqgFbw0CbTxKuDoJGO6aRoBtyrHB4w1FpFcbg

same_config() { # same_config WHY: DIR/config is still config.before
    cmp -s config.before "$data/config" || {
        diff config.before "$data/config" >&2 || true
        fail "$1: the configuration changed"
    }
}

expect_exit 0 "$OERNODE" -q init --id be-vl
expect_exit 0 "$OERNODE" peer list
check "no peers at first" test ! -s "$work/out"

# two peers
expect_exit 0 "$OERNODE" peer add nl-edurep edurep.example.org:7440 "$fp_nl"
contains "$work/out" "added peer nl-edurep"
contains "$work/out" "next start"
expect_exit 0 "$OERNODE" peer add fr-edu '[::1]:7441' "$fp_fr"
expect_exit 0 "$OERNODE" peer list
printf 'nl-edurep\tedurep.example.org:7440\t%s\nfr-edu\t[::1]:7441\t%s\n' \
    "$fp_nl" "$fp_fr" >list.want
check "peer list" diff list.want "$work/out"
check "no lock left" test ! -e "$data/config.lock"
check "mode kept" test "$(stat -c %a "$data/config")" = 644

# refusals leave the file as it was, byte for byte
cp "$data/config" config.before
expect_exit 1 "$OERNODE" peer add nl-edurep other.example.org:7440 \
    SHA256:AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA
contains "$work/err" "peer 'nl-edurep' exists already"
same_config "duplicate id"
expect_exit 1 "$OERNODE" peer add de-dbs dbs.example.org:7440 "$fp_nl"
contains "$work/err" "is peer 'nl-edurep' already"
same_config "duplicate fingerprint"
expect_exit 3 "$OERNODE" peer add de-dbs dbs.example.org:7440 SHA256:nope
contains "$work/err" "bad fingerprint"
same_config "bad fingerprint"
expect_exit 3 "$OERNODE" peer add de-dbs dbs.example.org:0 \
    SHA256:AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA
contains "$work/err" "bad address"
expect_exit 3 "$OERNODE" peer add De_Dbs dbs.example.org:7440 \
    SHA256:AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA
contains "$work/err" "bad peer id"
expect_exit 3 "$OERNODE" peer add be-vl self.example.org:7440 \
    SHA256:AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA
contains "$work/err" "own id"
same_config "bad values"
expect_exit 2 "$OERNODE" peer add de-dbs dbs.example.org:7440
expect_exit 2 "$OERNODE" peer
expect_exit 2 "$OERNODE" peer rename nl-edurep

# a file that someone else holds locked is left alone
touch "$data/config.lock"
expect_exit 1 "$OERNODE" peer remove fr-edu
contains "$work/err" "config.lock exists"
check "their lock is kept" test -e "$data/config.lock"
rm "$data/config.lock"
same_config "locked"

# remove, and an unknown peer
expect_exit 0 "$OERNODE" peer remove fr-edu
contains "$work/out" "removed peer fr-edu"
expect_exit 1 "$OERNODE" peer remove fr-edu
contains "$work/err" "no peer 'fr-edu'"
expect_exit 0 "$OERNODE" peer list
printf 'nl-edurep\tedurep.example.org:7440\t%s\n' "$fp_nl" >list.want
check "list after remove" diff list.want "$work/out"

# the configuration is valid, and stock git reads what was written
expect_exit 0 "$OERNODE" config
contains "$work/out" "fingerprint = $fp_nl"
check "git reads the fingerprint" test \
    "$(git config -f "$data/config" --get peer.nl-edurep.fingerprint)" = "$fp_nl"
check "git reads the address" test \
    "$(git config -f "$data/config" --get peer.nl-edurep.address)" = \
    edurep.example.org:7440
check "fr-edu is gone for git" test -z \
    "$(git config -f "$data/config" --get-regexp '^peer\.fr-edu\.' || true)"

# options around the subcommand, and help
expect_exit 0 "$OERNODE" peer --data "$data" add fr-edu fr.example.org:7440 "$fp_fr"
expect_exit 0 "$OERNODE" peer remove fr-edu --data "$data"
for sub in add list remove; do
    expect_exit 0 "$OERNODE" peer "$sub" --help
    contains "$work/out" "usage: oernode peer $sub"
done
expect_exit 0 "$OERNODE" peer --help
contains "$work/out" "peer add ID ADDRESS FINGERPRINT"
expect_exit 0 "$OERNODE" help peer
expect_exit 0 "$OERNODE" --help
contains "$work/out" "  peer "

# no node here
expect_exit 1 "$OERNODE" peer list --data "$work/none"
contains "$work/err" "no node in"
echo "peer_cli: ok"
