#!/usr/bin/env bash
# Corruption found on the I/O path (an L2 entry with an unaligned host
# offset): a writable image is marked corrupt and then refuses all further
# requests ("No medium found"), as the reference, which detaches the
# driver; a read-only one only reports it (non-fatal) and goes on; an
# in-place write into such a cluster is caught before it writes anything.
# Also: extended L2 with preallocation=metadata maps clusters without
# marking their subclusters allocated (they still read the backing file).
. "$(dirname "$0")/common.rc"
_require_format qcow2
_require_ref

# mk ENTRY: a 1 MiB image with data in clusters 0 and 2, then the first L2
# entry replaced by ENTRY.
mk() {
    rm -f c.qcow2
    "$REF_QEMU_IMG" create -q -f qcow2 c.qcow2 1M
    "$REF_QEMU_IO" -c 'write -P 1 0 64k' -c 'write -P 2 128k 64k' \
        c.qcow2 > /dev/null
    python3 - "$1" <<'PY'
import struct, sys
with open('c.qcow2', 'r+b') as f:
    f.seek(40)
    l1 = struct.unpack('>Q', f.read(8))[0]
    f.seek(l1)
    l2 = struct.unpack('>Q', f.read(8))[0] & 0x00fffffffffffe00
    f.seek(l2)
    f.write(struct.pack('>Q', int(sys.argv[1], 0)))
PY
}

for e in 0x8000000000050200 0x0000000000050200 0x8000000000050201; do
    for op in "read 0 4k" "write 0 4k" "write -z 0 4k" "discard 0 64k" \
              "write 4k 4k" "map"; do
        echo "== L2 entry $e: $op, then a read and a write elsewhere"
        mk $e
        io -c "$op" -c "read -P 2 128k 4k" -c "write 128k 4k" c.qcow2 |
            grep -v 'ops;'
        _md5 c.qcow2
        "$REF_QEMU_IMG" info c.qcow2 | grep corrupt
    done
done

echo "== read-only: reported, not fatal"
mk 0x50200
io -r -c "read 0 4k" -c "read -P 2 128k 4k" c.qcow2 | grep -v 'ops;'
img convert -O raw c.qcow2 c.raw
img map c.qcow2
_md5 c.qcow2

echo "== extended_l2 and preallocation=metadata over a backing file"
"$REF_QEMU_IMG" create -q -f raw b.raw 1M
"$REF_QEMU_IO" -f raw -c 'write -P 7 0 1M' b.raw > /dev/null
img create -q -f qcow2 -b b.raw -F raw \
    -o extended_l2=on,preallocation=metadata e.qcow2 1M
_md5 e.qcow2
"$REF_QEMU_IO" -c 'read -P 7 0 1M' e.qcow2 | grep -v 'ops;'
img resize --preallocation=metadata e.qcow2 2M
_md5 e.qcow2
"$REF_QEMU_IMG" check e.qcow2
