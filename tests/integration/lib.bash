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

# start_serve PORTFILE LOG: `oernode serve` of $OERNODE_DATA in the
# background, on free loopback ports (HTTP port written to PORTFILE, log
# to LOG); its pid goes to serve_pid.  Returns once it listens.
start_serve() {
    "$OERNODE" serve --http 127.0.0.1:0 --port-file "$1" \
        --peer 127.0.0.1:0 2>"$2" &
    serve_pid=$!
    for _ in $(seq 100); do
        [ -s "$1" ] && return 0
        sleep 0.1
    done
    cat "$2" >&2
    fail "serve did not start"
}

http_get() { # http_get URL: the body to $work/body, prints the status
    curl -s --path-as-is -o "$work/body" -w '%{http_code}' "$1"
}
