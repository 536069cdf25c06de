#!/usr/bin/env bash
# qemu-io length, info, map, alloc, flush, truncate on raw images: the
# human sizes ("1.500 KiB", "1023.999 KiB", "8 EiB"), clamping at the end
# of the image, and the argument errors.
. "$(dirname "$0")/common.rc"
. "$(dirname "$0")/common.qemu-io.rc"

_make_raw t.raw 1M
io1() { qio -f raw "$@" t.raw; }

echo "== length and info"
io1 -c length -c info -c flush
_make_raw odd.raw 1000
qio -f raw -c length -c info -c map -c "alloc 0 1k" odd.raw
: > empty.raw
qio -f raw -c length -c map -c "alloc 0" -c "alloc 0 0" empty.raw
io1 -c "length x" -c "info x" -c "flush x" -c "map x"

echo "== alloc: sizes as the reference prints them"
for o in 0 1 512 1000 1023 1024 1025 1536 2047 2048 10000 102400 1048575 \
         1048576 1048577 1572864 1073741824 1099511627776 \
         1125899906842624 1152921504606846976 9223372036854775807 \
         1.999k 0x7fffffffffffffff; do
    io1 -c "alloc $o"
done
io1 -c "alloc 0 1M" -c "alloc 0 2M" -c "alloc 1 1" -c "alloc 0 0" \
    -c "alloc 4k 4k" -c "alloc 1048575 2"
io1 -c "alloc -1" -c "alloc 0 -1" -c "alloc x" -c "alloc 0 x" -c "alloc 8E" \
    -c "alloc" -c "alloc 0 1 2" -c "alloc 0x8000000000000000"

echo "== map"
io1 -c "write 64k 64k" -c map -c "discard 0 1M" -c map

echo "== truncate"
io1 -c "truncate 2M" -c length -c map -c "alloc 1M 1M"
io1 -c "truncate 1" -c length -c "truncate 3G" -c length -c "truncate 1M" \
    -c length
io1 -c "truncate -m off 2M" -c length -c "truncate -m falloc 3M" -c length \
    -c "truncate -m full 4M" -c length -c "truncate 1M 2M" -c length
io1 -c "truncate -m foo 1" -c "truncate -m full 1" -c "truncate -m metadata 5M" \
    -c "truncate 0x" -c "truncate -x 1" -c "truncate -m" -c "truncate -1" \
    -c "truncate 8E" -c "truncate" -c length
qio -f raw -r -c "truncate 2M" -c "truncate -m foo 1" -c length t.raw
stat -c %s t.raw

echo "== the image itself"
_md5 t.raw
