#!/usr/bin/env bash
# Images the reference writes (patterns at scattered offsets, zero clusters
# with and without unmap, discards, compressed clusters of both kinds,
# subclusters, backing chains) read back identically here: convert to raw,
# map, check, compare.
. "$(dirname "$0")/common.rc"
_require_ref

w() { "$REF_QEMU_IO" "$@" >/dev/null; }

show() {
    local f=$1
    img check "$f"
    img map --output=json "$f"
    img convert -O raw "$f" out.raw
    _md5 out.raw
    img compare "$f" out.raw
    rm -f out.raw
}

for opts in "cluster_size=64k" "cluster_size=4k" "cluster_size=512" \
            "cluster_size=2M" "compat=0.10" "refcount_bits=1" \
            "extended_l2=on" "lazy_refcounts=on"; do
    echo "== $opts"
    rm -f a.qcow2
    "$REF_QEMU_IMG" create -q -f qcow2 -o "$opts" a.qcow2 64M
    w -c 'write -P 0x11 0 1M' -c 'write -P 0x22 3000 5000' \
      -c 'write -P 0x33 10M 192k' -c 'write -P 0x44 33M 4k' \
      -c 'write -P 0x55 63M 1M' -c 'write -z 10M 64k' \
      -c 'write -z -u 10240k 64k' -c 'discard 512k 256k' \
      -c 'write -P 0x66 20M 1' -c 'write -P 0x77 40000000 100000' a.qcow2
    show a.qcow2
done

for ct in zlib zstd; do
    echo "== compressed $ct"
    rm -f c.qcow2
    "$REF_QEMU_IMG" create -q -f qcow2 -o compression_type=$ct c.qcow2 8M
    w -c 'write -c -P 0x12 0 64k' -c 'write -c -P 0x34 64k 64k' \
      -c 'write -c -P 0x56 1M 64k' -c 'write -P 0x78 70000 100' c.qcow2
    show c.qcow2
    # A cluster the reference wrote compressed with real data.
    _random_file r.bin 65536 7
    "$REF_QEMU_IMG" convert -q -c -f raw -O qcow2 -o compression_type=$ct \
        r.bin rc.qcow2
    show rc.qcow2
    rm -f r.bin rc.qcow2
done

echo "== subclusters over a backing file"
"$REF_QEMU_IMG" create -q -f qcow2 base.qcow2 4M
w -c 'write -P 0xaa 0 4M' base.qcow2
"$REF_QEMU_IMG" create -q -f qcow2 -o extended_l2=on -b base.qcow2 \
    -F qcow2 top.qcow2
w -c 'write -P 0xbb 2k 3k' -c 'write -z 64k 4k' -c 'write -P 0xcc 130k 1' \
  -c 'discard 1M 64k' top.qcow2
show top.qcow2
img map top.qcow2
