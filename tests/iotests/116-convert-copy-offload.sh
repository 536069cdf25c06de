#!/usr/bin/env bash
# convert -C (copy offloading): data ranges go through copy_file_range
# (checked with strace) for raw and qcow2 on either side, with holes, zero
# clusters, a backing file, -n onto an existing target and raw's offset=;
# the targets' bytes, map and the reference's check are the reference's.
# Compressed clusters cannot be offloaded: the copy falls back to reads and
# writes, silently. -C with -c, -S and --salvage fails.
. "$(dirname "$0")/common.rc"
_require_ref
_require_format qcow2
command -v strace >/dev/null 2>&1 || _skip "strace not installed"

# Runs "$QEMU_IMG convert -C ARGS..." under strace, to say whether any data
# was copied by copy_file_range, then again without (LeakSanitizer cannot
# work under ptrace, so only the second run checks for leaks, in sanitizer
# builds), which leaves the target and prints the output.
conv() {
    local rc
    ASAN_OPTIONS=${ASAN_OPTIONS:+$ASAN_OPTIONS:}detect_leaks=0 \
        strace -f -qq -e trace=copy_file_range -o trace.txt \
        "$QEMU_IMG" convert -C "$@" >/dev/null 2>&1
    "$QEMU_IMG" convert -C "$@" >conv.out 2>&1
    rc=$?
    _filter <conv.out
    [ "$rc" -eq 0 ] || echo "(exit $rc)"
    # A call that another thread interrupted ends on a "resumed>" line
    if grep -Eq 'copy_file_range(\(| resumed>).*= [1-9]' trace.txt; then
        echo "offloaded: yes"
    else
        echo "offloaded: no"
    fi
}

# src.raw (6 MiB): data, a zero-filled data block, holes, data across the
# 2 MiB chunk boundary, and a short last sector (the file ends 1000 bytes
# into it: the copy stops early there and the rest reads as zeroes).
python3 - <<'PY'
import random
r = random.Random(116)
with open('src.raw', 'wb') as f:
    def w(off, data):
        f.seek(off); f.write(data)
    w(0, r.randbytes(192 * 1024))
    w(256 * 1024, bytes(64 * 1024))
    w(1024 * 1024, r.randbytes(64 * 1024))
    w(2 * 1024 * 1024 - 8192, r.randbytes(16384))
    w(6 * 1024 * 1024 - 4096, r.randbytes(3096))
PY

echo "== raw -> raw"
conv -f raw -O raw src.raw t.raw
_md5 t.raw
ref_img map --output=json -f raw t.raw
ref_img compare -f raw -F raw src.raw t.raw

echo "== raw -> qcow2"
conv -f raw -O qcow2 src.raw t.qcow2
_md5 t.qcow2
ref_img map --output=json -f qcow2 t.qcow2
ref_img check t.qcow2
ref_img compare -f raw -F qcow2 src.raw t.qcow2

echo "== raw -> qcow2, 512-byte clusters (many L2 tables)"
conv -f raw -O qcow2 -o cluster_size=512 src.raw t512.qcow2
_md5 t512.qcow2
ref_img check t512.qcow2
ref_img compare -f raw -F qcow2 src.raw t512.qcow2

# Out of order, where clusters land depends on timing (on both sides)
echo "== raw -> qcow2, 512-byte clusters, -W"
conv -W -f raw -O qcow2 -o cluster_size=512 src.raw w512.qcow2
ref_img check w512.qcow2 | grep -v '^Image end offset'
ref_img compare -f raw -F qcow2 src.raw w512.qcow2

# s.qcow2: data clusters, a zero cluster over data, a discarded range, a
# range only its backing file (b.qcow2, shorter) has, and the area past
# the backing file's end.
ref_img create -f qcow2 b.qcow2 4M >/dev/null
ref_io -f qcow2 -c 'write -P 0xb1 0 1M' -c 'write -P 0xb2 3M 1M' b.qcow2 \
    >/dev/null
ref_img create -f qcow2 -b b.qcow2 -F qcow2 s.qcow2 6M >/dev/null
ref_io -f qcow2 -c 'write -P 0x51 64k 128k' -c 'write -P 0x52 2M 1M' \
    -c 'write -z 2560k 64k' -c 'write -z -u 3M 64k' \
    -c 'write -P 0x53 5M 512k' s.qcow2 >/dev/null

echo "== qcow2 (with backing) -> raw"
conv -f qcow2 -O raw s.qcow2 t2.raw
_md5 t2.raw
ref_img map --output=json -f raw t2.raw
ref_img compare -f qcow2 -F raw s.qcow2 t2.raw

echo "== qcow2 (with backing) -> qcow2"
conv -f qcow2 -O qcow2 s.qcow2 t2.qcow2
_md5 t2.qcow2
ref_img map --output=json -f qcow2 t2.qcow2
ref_img check t2.qcow2
ref_img compare -f qcow2 -F qcow2 s.qcow2 t2.qcow2

echo "== qcow2 -> qcow2 over the same backing file (-B)"
conv -f qcow2 -O qcow2 -B b.qcow2 -F qcow2 s.qcow2 t3.qcow2
ref_img map --output=json -f qcow2 t3.qcow2
ref_img check t3.qcow2
ref_img compare -f qcow2 -F qcow2 s.qcow2 t3.qcow2

echo "== -n onto an existing qcow2 target with old data"
ref_img create -f qcow2 n.qcow2 6M >/dev/null
ref_io -f qcow2 -c 'write -P 0xee 0 6M' n.qcow2 >/dev/null
conv -n -f qcow2 -O qcow2 s.qcow2 n.qcow2
_md5 n.qcow2
ref_img check n.qcow2
ref_img compare -f qcow2 -F qcow2 s.qcow2 n.qcow2

echo "== -n onto a raw target window (offset=, size=)"
ref_img create -f raw w.raw 8M >/dev/null
ref_io -f raw -c 'write -P 0xee 0 8M' w.raw >/dev/null
conv -n -f raw --target-image-opts src.raw \
    driver=raw,offset=1M,size=6M,file.filename=w.raw
_md5 w.raw

echo "== from a raw window (--image-opts offset=)"
conv -O raw --image-opts driver=raw,offset=512k,size=2M,file.filename=src.raw \
    win.raw
_md5 win.raw

# c.qcow2: compressed clusters (with a zero block inside one) and plain ones
ref_img create -f raw cs.raw 1M >/dev/null
ref_io -f raw -c 'write -P 0x11 0 64k' -c 'write -P 0 8k 8k' \
    -c 'write -P 0x22 512k 64k' cs.raw >/dev/null
ref_img convert -c -f raw -O qcow2 cs.raw c.qcow2
echo "== compressed clusters: falls back to read and write"
conv -f qcow2 -O raw c.qcow2 c.raw
_md5 c.raw
ref_img map --output=json -f raw c.raw
conv -f qcow2 -O qcow2 c.qcow2 c2.qcow2
ref_img check c2.qcow2
ref_img compare -f qcow2 -F qcow2 c.qcow2 c2.qcow2

echo "== errors"
img convert -C -c -f raw -O qcow2 src.raw e.qcow2
img convert -C -S 0 -f raw -O raw src.raw e.raw
img convert -C --salvage -f raw -O raw src.raw e.raw
img convert -C -f raw -O raw nonexistent.raw e.raw
