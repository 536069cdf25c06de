#!/usr/bin/env bash
# What opening an image tells besides its result, in both front ends: the
# "backing": "" deprecation, then the probed-raw warning (read-write opens
# of a probed raw image only, quoting the protocol's file name), both
# printed before an open error, e.g. a lock another process holds.
. "$(dirname "$0")/common.rc"
. "$(dirname "$0")/common.qemu-io.rc"

img create -q -f raw r.raw 1M

echo "== probed raw: read-write opens warn, read-only and -f raw do not"
img resize r.raw 2M
img resize file:r.raw 2M
img resize --image-opts file.filename=r.raw 2M
img resize -f raw r.raw 2M
img info r.raw | _filter_disk_size
img snapshot r.raw
img snapshot -l r.raw
img snapshot -a x r.raw
qio -c 'write 0 1' r.raw
qio -r -c 'read 0 1' r.raw
qio -c 'open file:r.raw' -c 'read 0 1'
qio --image-opts -c 'read 0 1' file.filename=r.raw
qio -f raw -c 'read 0 1' r.raw

echo "== \"backing\": \"\" is deprecated"
img info --image-opts backing=,file.filename=r.raw | _filter_disk_size
img resize --image-opts backing=,file.filename=r.raw 2M
img resize 'json:{"backing":"","driver":"raw","file":{"filename":"r.raw"}}' 2M
img resize 'json:{"backing":"","file":{"filename":"nonexist"}}' 2M
img resize 'json:{"backing":"","bogus":1,"file":{"filename":"r.raw"}}' 2M
qio -c 'open -o backing= r.raw' -c 'read 0 1'
qio -c 'open -o driver=raw,backing= r.raw' -c 'read 0 1'
qio -c 'open -o backing=,bogus=1 r.raw'
qio -c 'open -o backing= nonexist'

echo "== notes come before a lock error"
# The reference's qemu-io holds d.raw as the data file of a qcow2 image,
# which takes the "resize" permission from everyone else.
_require_ref
$REF_QEMU_IMG create -q -f qcow2 -o data_file=d.raw dq.qcow2 1M
$REF_QEMU_IO -c 'sleep 5000' dq.qcow2 >/dev/null 2>&1 &
holder=$!
ino=$(stat -c %i d.raw)
for i in $(seq 50); do
    grep -q ":$ino " /proc/locks && break
    sleep 0.1
done
img resize d.raw 3M
img resize 'json:{"backing":"","file":{"filename":"d.raw"}}' 3M
qio -c 'open -o backing= d.raw'
img info d.raw | _filter_disk_size
kill "$holder" 2>/dev/null
wait
