#!/usr/bin/env bash
# measure with raw output: --size or a file, -o, JSON, -l on raw, and the
# argument rules (--size xor filename, -f/-l/--image-opts need a file).
. "$(dirname "$0")/common.rc"

_random_file a.raw 1048576 11
truncate -s 1000 odd.raw

img measure a.raw
img measure -O raw a.raw
img measure --output=json -O raw a.raw
img measure odd.raw
img measure -f raw --output=json odd.raw
img measure --size 1G
img measure --size=0
img measure --output=json --size 1G -O raw
img measure -O raw -o preallocation=full --size 1G
img measure -O raw -o size=2M a.raw
img measure -O raw -o size=2M --size 1G
img measure -O raw -o nocow=on --size 1G
img measure --image-opts driver=raw,file.filename=a.raw
img measure -U a.raw
img measure --size 1G --object secret,id=s,data=x
img measure --output=human --size 1k

echo "== errors"
img measure
img measure a.raw odd.raw
img measure nonexist
img measure -O raw --size 1G a.raw
img measure --size 1G -l x
img measure --size 1G --image-opts
img measure --size 1G -f raw
img measure --size=x
img measure --size=-1
img measure --size 8E
img measure --size=1.5
img measure --size=99999999999999999999
img measure --output=x a.raw
img measure --output=x
img measure -o '' --size 1G
img measure -O nosuch --size 1G
img measure -O raw -o foo=bar --size 1G
img measure -O raw -o preallocation=foo --size 1G
img measure -O file --size 1G
img measure -l snap a.raw
img measure -l snapshot.id=1 a.raw
img measure -l snapshot.foo=1 a.raw
img measure -l snapshot.foo=1
# getopt's own messages, then the help (not compared: its text is ours).
for o in -O -x --bogus --size; do
    $QEMU_IMG measure $o 2>&1 >/dev/null | _filter
    echo "rc=${PIPESTATUS[0]}"
done
