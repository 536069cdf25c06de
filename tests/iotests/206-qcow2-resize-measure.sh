#!/usr/bin/env bash
# resize (grow, shrink with --shrink, preallocation on grow) with the
# reference's layout, and measure for sizes and existing images.
. "$(dirname "$0")/common.rc"
_require_ref

rs() {
    img resize "$@"
    img check a.qcow2 | grep -v '^No errors'
    _md5 a.qcow2
}

for cs in 64k 4k; do
    echo "== cluster_size=$cs"
    rm -f a.qcow2
    "$REF_QEMU_IMG" create -q -f qcow2 -o cluster_size=$cs a.qcow2 16M
    "$REF_QEMU_IO" -c 'write -P 1 0 1M' -c 'write -P 2 15M 1M' \
        a.qcow2 >/dev/null
    rs a.qcow2 +16M
    rs a.qcow2 1G
    rs a.qcow2 4G
    rs a.qcow2 2G
    rs --shrink a.qcow2 2G
    rs --shrink a.qcow2 15M
    rs --shrink a.qcow2 1536K
    rs --preallocation=metadata a.qcow2 20M
    rs --preallocation=falloc a.qcow2 30M
    rs --preallocation=full a.qcow2 40M
    img convert -O raw a.qcow2 a.raw
    _md5 a.raw
    rm -f a.raw
done
img resize --shrink a.qcow2 1000
img resize a.qcow2 -- -1G

echo "== measure"
for opts in "" cluster_size=4k cluster_size=512,refcount_bits=64 \
            extended_l2=on preallocation=metadata preallocation=full \
            compat=0.10 cluster_size=2M refcount_bits=1; do
    echo "-- '$opts'"
    img measure -O qcow2 ${opts:+-o $opts} --size 1G
    img measure -O qcow2 ${opts:+-o $opts} --size 1T
    img measure -O qcow2 ${opts:+-o $opts} -f qcow2 a.qcow2
    img measure -O qcow2 ${opts:+-o $opts} --output=json -f qcow2 a.qcow2
done
img measure -O qcow2 -o cluster_size=4k --size 16T
img measure -O qcow2 -o cluster_size=1000 --size 1G
img measure -O qcow2 -o refcount_bits=3 --size 1G
