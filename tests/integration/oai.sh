#!/usr/bin/env bash
# OAI-PMH end to end: a node with 24 records (3 withdrawn) and a page
# size of 4 is harvested completely by a real OAI-PMH client (Debian's
# HTTP::OAI, tests/integration/oai_harvest.pl) across several pages, in
# oai_dc and lom, whole and by set; the harvest is compared record by
# record with the store, and every response is checked with xmllint; a
# level set by ISCED pivot holds a Flemish and a Dutch record, and another
# node harvesting it finds them by level.
set -euo pipefail

. "$(dirname "$0")/lib.bash"
here=$(cd "$(dirname "$0")" && pwd)
command -v curl >/dev/null || { echo "skipped: no curl"; exit 77; }
command -v xmllint >/dev/null || { echo "skipped: no xmllint"; exit 77; }
perl -MHTTP::OAI -e 1 2>/dev/null ||
    { echo "skipped: no HTTP::OAI (libhttp-oai-perl)"; exit 77; }

export OERNODE_DATA=$work/data
"$OERNODE" -q init --id nl-test >/dev/null
printf '[oai]\n\tpage-size = 4\n[node]\n\tadmin-email = oai@example.org\n' \
    >>"$OERNODE_DATA/config"

# 24 records; every third in subject math, every fourth in math:algebra
: >"$work/math"
for i in $(seq 1 24); do
    extra=()
    if [ $((i % 3)) = 0 ]; then extra+=(--subject math); fi
    if [ $((i % 4)) = 0 ]; then extra+=(--subject "math:Algebra"); fi
    if [ $((i % 5)) = 0 ]; then extra+=(--level "isced-2"); fi
    id=$("$OERNODE" -q add --title "nl:Les $i <&> é" --language nl \
        --licence "CC BY 4.0" "${extra[@]}")
    echo "$id" >>"$work/ids"
    if [ $((i % 3)) = 0 ] || [ $((i % 4)) = 0 ]; then
        echo "oai:nl-test:$id" >>"$work/math"
    fi
done
for n in 2 12 16; do
    "$OERNODE" -q withdraw "$(sed -n "${n}p" "$work/ids")" \
        --reason "test withdrawal" >/dev/null
done

start_serve "$work/port" "$work/serve.log"
pid=$serve_pid
trap 'kill $pid 2>/dev/null || true' EXIT
base=http://127.0.0.1:$(cat "$work/port")/oai

# ---- every response well-formed, tokens followed by hand -------------
n=0
wellformed() { # wellformed FILE
    xmllint --noout "$1" || fail "not well-formed: $1"
}
walk() { # walk QUERY: follow the list with curl, checking each page
    local q=$1 verb token
    verb=$(sed 's/^verb=\([^&]*\).*/\1/' <<<"$q")
    while :; do
        n=$((n + 1))
        curl -s -o "$work/page$n.xml" "$base?$q"
        wellformed "$work/page$n.xml"
        token=$(sed -n 's/.*<resumptionToken[^>/]*>\([^<]*\)<.*/\1/p' \
            "$work/page$n.xml")
        [ -n "$token" ] || break
        q="verb=$verb&resumptionToken=$token"
    done
}
walk "verb=ListRecords&metadataPrefix=oai_dc"
walk "verb=ListRecords&metadataPrefix=lom"
walk "verb=ListIdentifiers&metadataPrefix=oai_dc&set=subject:math"
for q in "verb=Identify" "verb=ListSets" "verb=ListMetadataFormats" \
    "verb=GetRecord&metadataPrefix=lom&identifier=oai:nl-test:$(head -1 "$work/ids")" \
    "verb=GetRecord&metadataPrefix=oai_dc&identifier=oai:nl-test:$(sed -n 2p "$work/ids")" \
    "verb=Nope" "verb=ListRecords&metadataPrefix=oai_dc&set=" \
    "verb=ListRecords&resumptionToken=bad"; do
    n=$((n + 1))
    curl -s -o "$work/page$n.xml" "$base?$q"
    wellformed "$work/page$n.xml"
done
contains "$work/page$n.xml" 'code="badResumptionToken"'
curl -s -D "$work/headers" -o "$work/post.xml" \
    --data 'verb=Identify' "$base"
wellformed "$work/post.xml"
contains "$work/headers" 'Content-Type: text/xml; charset=utf-8'
contains "$work/post.xml" '<deletedRecord>persistent</deletedRecord>'
contains "$work/post.xml" '<adminEmail>oai@example.org</adminEmail>'
contains "$work/post.xml" "<baseURL>$base</baseURL>"

# ---- a real client harvests everything --------------------------------
perl "$here/oai_harvest.pl" "$base" ListRecords oai_dc \
    >"$work/harvest" 2>"$work/harvest.err" ||
    { cat "$work/harvest.err" >&2; fail "harvest failed"; }
contains "$work/harvest.err" "pages 6"
check "24 records harvested" test "$(wc -l <"$work/harvest")" = 24
check "3 deleted" test "$(grep -c "	deleted	" "$work/harvest")" = 3
check "each record once" test \
    "$(cut -f1 "$work/harvest" | sort -u | wc -l)" = 24

# the store's view, record by record: id, status and title
curl -s -o "$work/api.json" \
    "http://127.0.0.1:$(cat "$work/port")/api/resources?deleted=1&limit=1000"
perl -MJSON::PP -e '
    local $/; my $d = decode_json(<STDIN>);
    for my $r (@{$d->{items}}) {
        print join("\t", "oai:nl-test:$r->{id}",
                   $r->{deleted} ? "deleted" : "record",
                   $r->{deleted} ? "" : $r->{title}{nl}), "\n";
    }' <"$work/api.json" | LC_ALL=C sort >"$work/want"
cut -f1,3,5 "$work/harvest" | LC_ALL=C sort >"$work/got"
diff -u "$work/want" "$work/got" || fail "harvest differs from the store"

# each datestamp: the committer time of the commit that last changed it
while IFS=$'\t' read -r oaiid stamp _; do
    local_id=${oaiid##*/}
    want=$(TZ=UTC git -C "$OERNODE_DATA/repo.git" log -1 \
        --date=format-local:%Y-%m-%dT%H:%M:%SZ --format=%cd \
        refs/catalog/nl-test -- "${local_id:0:2}/$local_id.json")
    [ "$stamp" = "$want" ] || fail "datestamp of $oaiid: $stamp, want $want"
done <"$work/harvest"

# lom, and a set: records of subject:math and subject:math:algebra,
# withdrawn ones included through their former sets
perl "$here/oai_harvest.pl" "$base" ListRecords lom \
    >"$work/harvest.lom" 2>"$work/harvest.err" ||
    { cat "$work/harvest.err" >&2; fail "lom harvest failed"; }
check "24 lom records" test "$(wc -l <"$work/harvest.lom")" = 24
perl "$here/oai_harvest.pl" "$base" ListIdentifiers oai_dc subject:math \
    >"$work/harvest.set" 2>"$work/harvest.err" ||
    { cat "$work/harvest.err" >&2; fail "set harvest failed"; }
cut -f1 "$work/harvest.set" | LC_ALL=C sort >"$work/got"
LC_ALL=C sort "$work/math" >"$work/want"
diff -u "$work/want" "$work/got" || fail "set harvest differs"
grep -q "	deleted	" "$work/harvest.set" ||
    fail "a withdrawn record of the set is missing"

# an incremental harvest from tomorrow has nothing, and is no error
perl "$here/oai_harvest.pl" "$base" ListIdentifiers oai_dc - \
    "$(date -u -d tomorrow +%Y-%m-%d)" >"$work/harvest.none" \
    2>"$work/harvest.err" || fail "empty harvest failed"
check "nothing from tomorrow" test ! -s "$work/harvest.none"

# ---- level sets by ISCED 2011 pivot ----------------------------------
# a Flemish and a Dutch term of ISCED 1 (lager-5, groep 7) and a Dutch
# one of ISCED 3 (havo 4), imported as LOM while the node serves
lomrec() { # lomrec ID TITLE SOURCE TAXON
    cat <<EOF
<lom xmlns="http://ltsc.ieee.org/xsd/LOM">
 <general><identifier><catalog>test</catalog><entry>$1</entry></identifier>
  <title><string language="nl">$2</string></title><language>nl</language>
 </general>
 <rights><description><string>https://creativecommons.org/licenses/by/4.0/</string></description></rights>
 <classification><purpose><source>LOMv1.0</source><value>educational level</value></purpose>
  <taxonPath><source><string>$3</string></source><taxon><id>$4</id></taxon></taxonPath>
 </classification>
</lom>
EOF
}
vdex=http://purl.edustandaard.nl/vdex_classification_educationallevel_czp_20071115.xml
mkdir "$work/lom"
lomrec vl-a "Breuken Vlaanderen" http://purl.org/oernode/vocab/be-vl lager-5 \
    >"$work/lom/a.xml"
lomrec nl-a "Breuken Nederland" "$vdex" po_groep7 >"$work/lom/b.xml"
lomrec nl-b "Havo vier" "$vdex" havo4 >"$work/lom/c.xml"
"$OERNODE" -q import lom "$work/lom" >/dev/null
"$OERNODE" list >"$work/list"
idof() { echo "oai:nl-test:$(grep -F "$1" "$work/list" | cut -f1)"; }
perl "$here/oai_harvest.pl" "$base" ListIdentifiers oai_dc level:isced:1 \
    >"$work/harvest.isced1" 2>"$work/harvest.err" ||
    { cat "$work/harvest.err" >&2; fail "level set harvest failed"; }
cut -f1 "$work/harvest.isced1" | LC_ALL=C sort >"$work/got"
# what the store's records map to, as the node's own search reads them
"$OERNODE" -q search --level isced:1 --json | perl -MJSON::PP -e '
    local $/; my $d = decode_json(<STDIN>);
    print "oai:nl-test:$_->{id}\n" for @{$d->{hits}}' |
    LC_ALL=C sort >"$work/want"
diff -u "$work/want" "$work/got" || fail "level:isced:1 differs from the store"
check "two records of ISCED 1" test "$(wc -l <"$work/got")" = 2
contains "$work/got" "$(idof "Breuken Vlaanderen")"
contains "$work/got" "$(idof "Breuken Nederland")"
contains "$work/harvest.isced1" "level:isced:1"
curl -s -o "$work/sets.xml" "$base?verb=ListSets"
wellformed "$work/sets.xml"
contains "$work/sets.xml" \
    '<setSpec>level:isced:3</setSpec><setName>Level: ISCED 3, Upper secondary education</setName>'
contains "$work/sets.xml" '<setSpec>level:isced-2</setSpec>'

# another node harvests the set over OAI-PMH (lom): the harvested levels
# keep their terms and map at search time through the vocabularies
OERNODE_DATA=$work/data2 "$OERNODE" -q init --id be-test >/dev/null
OERNODE_DATA=$work/data2 "$OERNODE" -q import oai "$base" \
    --set level:isced:1 >/dev/null
OERNODE_DATA=$work/data2 "$OERNODE" -q search --system be-vl \
    --level lager-5 --json >"$work/search2.json"
contains "$work/search2.json" '"total":2'
contains "$work/search2.json" '"value":"po_groep7"'
contains "$work/search2.json" '"value":"lager-5"'

kill -TERM $pid
wait $pid || fail "serve exited $? after SIGTERM"
trap - EXIT

# oai.base-url: shown by oernode config; a bad one refused, naming the key
printf '[oai]\n\tbase-url = https://oer.example.org/oai\n' \
    >>"$OERNODE_DATA/config"
expect_exit 0 "$OERNODE" config
contains "$work/out" "base-url = https://oer.example.org/oai"
# ...and the running node names it as its baseURL (behind a TLS proxy)
start_serve "$work/port4" "$work/serve4.log"
trap 'kill $serve_pid 2>/dev/null || true' EXIT
curl -s -o "$work/identify4.xml" \
    "http://127.0.0.1:$(cat "$work/port4")/oai?verb=Identify"
xmllint --noout "$work/identify4.xml" || fail "Identify not well-formed"
contains "$work/identify4.xml" "<baseURL>https://oer.example.org/oai</baseURL>"
contains "$work/identify4.xml" '<request verb="Identify">https://oer.example.org/oai</request>'
kill -TERM $serve_pid
wait $serve_pid || fail "serve exited $? after SIGTERM"
trap - EXIT
OERNODE_DATA=$work/data3 "$OERNODE" -q init --id nl-bad >/dev/null
printf '[oai]\n\tbase-url = oer.example.org/oai\n' >>"$work/data3/config"
OERNODE_DATA=$work/data3 expect_exit 3 "$OERNODE" config
contains "$work/err" "oai.base-url: bad URL 'oer.example.org/oai'"
echo "oai: all checks passed"
