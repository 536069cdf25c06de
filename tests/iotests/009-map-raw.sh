#!/usr/bin/env bash
# map on raw files: holes and data, merging, --start-offset/--max-length
# (aligned or not, past the end, zero), JSON and human, errors.
. "$(dirname "$0")/common.rc"

# Data at 1M (4k), 1M+8k (8k) and the last 4k of a 4M sparse file.
truncate -s 4M sp.raw
_random_file d4k 4096 9
dd if=d4k of=sp.raw bs=4k seek=256 conv=notrunc status=none
dd if=d4k of=sp.raw bs=4k seek=258 conv=notrunc status=none
dd if=d4k of=sp.raw bs=4k seek=259 conv=notrunc status=none
dd if=d4k of=sp.raw bs=4k seek=1023 conv=notrunc status=none
truncate -s 1000 odd.raw
: > empty.raw

for f in sp.raw odd.raw empty.raw; do
    img map "$f"
    img map --output=json "$f"
    img map -f raw --output=human "$f"
done

echo "== ranges"
for r in "--start-offset=1M" "--start-offset=1000" "--max-length=1.5k" \
         "--start-offset=100 --max-length=1000" "--max-length=0" \
         "--start-offset=8M" "--start-offset=4M" "--start-offset=1M --max-length=12k" \
         "--start-offset=1052672 --max-length=1" "--max-length=9223372036854775807" \
         "--start-offset=9223372036854775807 --max-length=9223372036854775807"; do
    echo "-- $r"
    img map $r sp.raw
    img map --output=json $r sp.raw
done

echo "== options"
img map -U sp.raw
img map --image-opts driver=raw,file.filename=sp.raw
img map --output=json --image-opts driver=raw,file.filename=sp.raw
img map 'json:{"driver":"raw","file":{"driver":"file","filename":"sp.raw"}}'

echo "== errors"
img map
img map sp.raw odd.raw
img map nonexist
img map --output=x sp.raw
img map --output=x
img map --start-offset
img map --start-offset=x
img map --start-offset=-1 sp.raw
img map --start-offset=8E sp.raw
img map --max-length=1.5 sp.raw
img map --output=x --start-offset=x sp.raw
img map --start-offset=x --output=x sp.raw
img map -f nosuch sp.raw
img map --image-opts -f raw driver=raw,file.filename=sp.raw
echo "== -s and -l: short forms of --start-offset and --max-length"
img map -s 4k sp.raw
img map -l 8k --output=json sp.raw
img map -s 1 -l 1 sp.raw
img map -s x sp.raw
img map -l
