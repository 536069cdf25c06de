#!/usr/bin/env bash
# snapshot on qcow2: create (duplicate names too), list (table and long
# tags), apply (data comes back), delete by tag, errors; the snapshots as
# info shows them.
. "$(dirname "$0")/common.rc"
_require_format qcow2

list() { img snapshot -l "$@" | _filter_snapshot_dates; }
# The reference's verdict on an image we changed (layout-independent part).
refcheck() { ref_img check "$1" | head -n 1; }

img create -q -f qcow2 s.qcow2 1M
img snapshot s.qcow2
img snapshot -l s.qcow2
io -c 'write -P 1 0 64k' s.qcow2 >/dev/null
img snapshot -c s1 s.qcow2
io -c 'write -P 2 0 64k' s.qcow2 >/dev/null
img snapshot -c s1 s.qcow2
img snapshot -q -c averyveryverylongsnapshotnamethatexceedsthecolumn s.qcow2
img snapshot -c '' s.qcow2
list s.qcow2
list -U s.qcow2
img snapshot s.qcow2 | _filter_snapshot_dates
img info --output=json s.qcow2 | _filter_snapshot_dates | _filter_disk_size

echo "== apply"
io -c 'write -P 3 0 64k' s.qcow2 >/dev/null
img snapshot -a s1 s.qcow2
io -c 'read -P 1 0 64k' s.qcow2 | grep -c 'read 65536'
img snapshot -a 2 s.qcow2
io -c 'read -P 2 0 64k' s.qcow2 | grep -c 'read 65536'
img snapshot -a nosuch s.qcow2
refcheck s.qcow2

echo "== delete"
img snapshot -d nosuch s.qcow2
img snapshot -d 1 s.qcow2
img snapshot -d s1 s.qcow2
list s.qcow2
img snapshot -d s1 s.qcow2
img snapshot -d '' s.qcow2
list s.qcow2
img snapshot --image-opts -d averyveryverylongsnapshotnamethatexceedsthecolumn \
    driver=qcow2,file.filename=s.qcow2
list s.qcow2
refcheck s.qcow2

echo "== errors"
img snapshot -c x -U s.qcow2
img snapshot -a x -U s.qcow2
