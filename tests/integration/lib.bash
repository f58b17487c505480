# Shared by the integration scripts: a private work folder and small
# assertions that fail loudly, naming what was expected.
# shellcheck shell=bash

: "${OERNODE:?OERNODE must name the oernode binary}"

work=$(mktemp -d "${TMPDIR:-/tmp}/oernode-${0##*/}-XXXXXX")

fail() { echo "FAIL: $*" >&2; exit 1; }
check() { # check DESCRIPTION COMMAND...: the command must succeed
    local what=$1; shift
    "$@" || fail "$what (command: $*)"
}
expect_exit() { # expect_exit CODE COMMAND...: run it, compare its exit code
    local want=$1 got=0; shift
    "$@" >"$work/out" 2>"$work/err" || got=$?
    [ "$got" = "$want" ] || {
        cat "$work/out" "$work/err" >&2
        fail "exit $got, want $want: $*"
    }
}
contains() { # contains FILE TEXT
    grep -qF -- "$2" "$1" || { cat "$1" >&2; fail "$1 lacks: $2"; }
}
