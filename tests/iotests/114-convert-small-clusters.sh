#!/usr/bin/env bash
# convert into qcow2 with clusters so small that one 2 MiB chunk spans
# several L2 tables: the target must come out byte for byte as the
# reference's (same cluster at the same offset), from a source with data,
# zeroes, a hole and a compressed cluster.
. "$(dirname "$0")/common.rc"
_require_format qcow2

ref_img create -q -f qcow2 src.qcow2 64M
ref_io -c 'write -P 5 0 1M' -c 'write -z 2M 1M' -c 'write -c 4M 64k' \
    -c 'write -P 6 5M 3M' src.qcow2 > /dev/null
for cs in 512 1k 2k 4k; do
    img convert -O qcow2 -o cluster_size=$cs src.qcow2 t.qcow2
    echo "cluster_size=$cs: $(md5sum < t.qcow2)"
    ref_img check t.qcow2 | head -n 1
done
