#!/usr/bin/env bash
# host_device: a loop block device as image and as target. info, map and
# check on it; create (a device cannot grow); convert onto it (a device
# does not read as zeroes, so holes of the source must be written), -n,
# compare, resize and dd. Needs root and a free loop device.
. "$(dirname "$0")/common.rc"

[ "$(id -u)" = 0 ] || _skip "host_device test needs root (loop devices)"
command -v losetup >/dev/null || _skip "losetup not installed"
truncate -s 64M back.img
LOOP=$(losetup -f --show back.img 2>/dev/null) ||
    _skip "cannot attach a loop device here"
trap 'losetup -d "$LOOP"' EXIT

dev() { img "$@" | sed -e "s#$LOOP#/dev/loopN#g"; }
# Fills the device with 0xff bytes, so that holes written as zeroes show.
fill() { head -c 64M /dev/zero | tr '\0' '\377' > "$LOOP"; sync "$LOOP"; }
# Checksums of the device's first 32 MiB and of the rest.
sums() {
    head -c 32M "$LOOP" | md5sum | cut -d' ' -f1
    tail -c 32M "$LOOP" | md5sum | cut -d' ' -f1
}

img create -q -f raw src.raw 32M
_random_file data.bin 1048576 7
dd if=data.bin of=src.raw bs=1M seek=3 conv=notrunc status=none
dd if=data.bin of=src.raw bs=64k count=1 seek=320 conv=notrunc status=none

echo "== queries"
fill
dev info "$LOOP"
dev info --output=json "$LOOP"
dev info --image-opts "driver=raw,file.driver=host_device,file.filename=$LOOP"
dev map --output=json -f raw "$LOOP"
dev check -f raw "$LOOP"
dev info --image-opts "driver=host_device,filename=back.img"

echo "== create"
dev create -f raw "$LOOP" 1M
dev create -f raw "$LOOP" 64M
dev create -f raw "$LOOP" 65M
for p in full falloc metadata xyz off; do
    dev create -f raw -o preallocation=$p "$LOOP" 1M
done
dev create -f raw -o nocow=on "$LOOP" 1M
dev create -f raw -o help "$LOOP" 1M

echo "== convert"
fill
dev convert -O raw src.raw "$LOOP"
sums
md5sum < src.raw | cut -d' ' -f1
dev compare -f raw -F raw src.raw "$LOOP"
fill
dev convert -n -O raw src.raw "$LOOP"
sums
fill
dev convert -S 0 -O raw src.raw "$LOOP"
sums
dev convert -O raw "$LOOP" copy.raw
cmp copy.raw "$LOOP" && echo "copy matches"

echo "== resize"
dev resize -f raw "$LOOP" 64M
dev resize -f raw "$LOOP" 65M
dev resize -f raw "$LOOP" +1M
dev resize -f raw --shrink "$LOOP" 32M
dev resize -f raw --preallocation=falloc "$LOOP" 128M

echo "== dd"
fill
dev dd -f raw -O raw if=src.raw of="$LOOP" bs=1M count=4
sums
