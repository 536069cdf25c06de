#!/usr/bin/env bash
# check and check -r on images with known damage, made by editing bytes of
# a clean image: the same messages, counts, exit codes and repaired bytes
# as the reference.
. "$(dirname "$0")/common.rc"
_require_ref

# clean.qcow2: 64 MiB, 64k clusters; L1 at 0x30000, L2 at 0x40000, data
# clusters 5, 6 (guest 0..128k) and 7 (guest 1M); refcount block at 0x20000.
"$REF_QEMU_IMG" create -q -f qcow2 clean.qcow2 64M
"$REF_QEMU_IO" -c 'write -P 1 0 128k' -c 'write -P 2 1M 64k' \
    -c 'write -P 3 2M 64k' -c 'discard 2M 64k' clean.qcow2 >/dev/null

# poke FILE OFFSET FORMAT VALUE: writes a packed value
poke() {
    python3 -c 'import sys, struct
f = open(sys.argv[1], "r+b"); f.seek(int(sys.argv[2], 0))
f.write(struct.pack(sys.argv[3], int(sys.argv[4], 0)))' "$@"
}

# run NAME [OFFSET FORMAT VALUE]...: check, check -r leaks, check -r all
run() {
    local name=$1 mode i
    shift
    local args=("$@")
    echo "== $name"
    for mode in "" "-r leaks" "-r all"; do
        cp clean.qcow2 t.qcow2
        for ((i = 0; i < ${#args[@]}; i += 3)); do
            poke t.qcow2 "${args[i]}" "${args[i + 1]}" "${args[i + 2]}"
        done
        echo "-- check $mode"
        img check $mode t.qcow2
        [ -n "$mode" ] && _md5 t.qcow2
    done
}

run "leaked cluster" 0x20010 '>H' 1
run "refcount too high" 0x2000a '>H' 2
run "refcount zero" 0x2000a '>H' 0
run "copied flag missing (data)" 0x40000 '>Q' 0x50000
run "copied flag missing (L2)" 0x30000 '>Q' 0x40000
run "two entries, one cluster" 0x40000 '>Q' 0x8000000000060000
run "entry past the end" 0x40000 '>Q' 0x8000000000900000
run "unaligned data cluster" 0x40000 '>Q' 0x8000000000050200
run "refcount block outside" 0x10008 '>Q' 0x200000
run "compressed entry" 0x40028 '>Q' 0x4000000000050200

echo "== corrupt bit"
cp clean.qcow2 t.qcow2
poke t.qcow2 72 '>Q' 2
img info t.qcow2 | grep corrupt
img check -r all t.qcow2
img info t.qcow2 | grep corrupt
