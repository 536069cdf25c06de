#!/usr/bin/env bash
# Images we write pass the reference's check with no errors or leaks,
# compare equal in the reference, and have the reference's layout (the same
# bytes for the same conversion). Writes are issued one at a time (-m 1):
# the layout follows the order of the writes, and the reference's default
# convert writes in order; ours may let writes of the next chunk overtake.
. "$(dirname "$0")/common.rc"
_require_ref

python3 - <<'PY'
import random
r = random.Random(203)
with open('src.raw', 'wb') as f:
    f.truncate(12 << 20)
    for off, n, kind in [(0, 300000, 'r'), (1 << 20, 65536, 'z'),
                         (2 << 20, 1 << 20, 't'), (5 << 20, 4096, 'r'),
                         ((8 << 20) + 777, 1 << 20, 'r'),
                         ((12 << 20) - 512, 512, 't')]:
        f.seek(off)
        if kind == 'r':
            f.write(r.randbytes(n))
        elif kind == 't':
            f.write(bytes((i // 300) % 5 for i in range(n)))
        else:
            f.write(bytes(n))
PY

for opts in "" "cluster_size=4k" "cluster_size=512" "cluster_size=2M" \
            "compat=0.10" "refcount_bits=1" "refcount_bits=64" \
            "extended_l2=on" "preallocation=metadata" \
            "preallocation=full" "lazy_refcounts=on"; do
    echo "== convert -o '$opts'"
    rm -f a.qcow2
    img convert -m 1 -f raw -O qcow2 ${opts:+-o "$opts"} src.raw a.qcow2
    _md5 a.qcow2
    ref_img check a.qcow2
    ref_img compare -f raw -F qcow2 src.raw a.qcow2
done

for ct in zlib zstd; do
    echo "== convert -c $ct"
    rm -f c.qcow2
    img convert -m 1 -c -f raw -O qcow2 -o compression_type=$ct src.raw \
        c.qcow2
    _md5 c.qcow2
    ref_img check c.qcow2
    ref_img compare -f raw -F qcow2 src.raw c.qcow2
done

echo "== qcow2 -> qcow2"
img convert -m 1 -f qcow2 -O qcow2 -o cluster_size=4k c.qcow2 d.qcow2
_md5 d.qcow2
ref_img check d.qcow2
ref_img compare src.raw d.qcow2

echo "== qcow2 -> raw"
img convert -f qcow2 -O raw c.qcow2 e.raw
_md5 e.raw

echo "== default convert: consistent and equal whatever the write order"
for opts in "cluster_size=512" "" "compression_type=zstd"; do
    rm -f f.qcow2
    img convert -f raw -O qcow2 ${opts:+-o "$opts"} src.raw f.qcow2
    ref_img check f.qcow2 | head -n 1
    ref_img compare -f raw -F qcow2 src.raw f.qcow2
done
