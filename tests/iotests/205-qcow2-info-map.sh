#!/usr/bin/env bash
# info (human and JSON) and map on qcow2 images: format-specific fields,
# backing chains, extensions, subclusters; hostile headers fail cleanly.
. "$(dirname "$0")/common.rc"
_require_ref

info() {
    img info "$@" | _filter_disk_size
}

"$REF_QEMU_IMG" create -q -f qcow2 base.qcow2 16M
"$REF_QEMU_IO" -c 'write -P 1 0 4M' base.qcow2 >/dev/null
"$REF_QEMU_IMG" create -q -f qcow2 -b base.qcow2 -F qcow2 mid.qcow2
"$REF_QEMU_IO" -c 'write -P 2 1M 1M' -c 'write -z 3M 64k' mid.qcow2 >/dev/null
"$REF_QEMU_IMG" create -q -f qcow2 -o extended_l2=on,lazy_refcounts=on \
    -b mid.qcow2 -F qcow2 top.qcow2
"$REF_QEMU_IO" -c 'write -P 3 10k 6k' -c 'write -z 2M 8k' top.qcow2 >/dev/null

info top.qcow2
info --backing-chain top.qcow2
info --output=json top.qcow2
info -f qcow2 --output=json base.qcow2
img map top.qcow2
img map --output=json top.qcow2
img map --output=json mid.qcow2

"$REF_QEMU_IMG" create -q -f qcow2 -o compat=0.10 v2.qcow2 1G
info --output=json v2.qcow2
"$REF_QEMU_IMG" create -q -f qcow2 -o data_file=d.raw,data_file_raw=on \
    df.qcow2 1M
info df.qcow2
img map --output=json df.qcow2

# Hostile headers.
poke() {
    python3 -c 'import sys, struct
f = open(sys.argv[1], "r+b"); f.seek(int(sys.argv[2], 0))
f.write(struct.pack(sys.argv[3], int(sys.argv[4], 0)))' "$@"
}
"$REF_QEMU_IMG" create -q -f qcow2 clean.qcow2 64M
while read -r off fmt val; do
    cp clean.qcow2 h.qcow2
    poke h.qcow2 "$off" "$fmt" "$val"
    echo "-- $off $val"
    img info h.qcow2 | _filter_disk_size | grep -v '^image'
done <<'LIST'
4 >I 4
20 >I 8
20 >I 22
72 >Q 0x8000000000000020
96 >I 7
100 >I 100
36 >I 0x10000000
40 >Q 0x30001
48 >Q 0x10001
56 >I 0x1000000
32 >I 3
24 >Q 0x8000000000000000
60 >I 70000
64 >Q 3
LIST
# An unknown incompatible bit named in the feature table.
cp clean.qcow2 h.qcow2
poke h.qcow2 72 '>Q' 0x60
poke h.qcow2 $((0x78 + 4 * 48 + 1)) '>B' 5
img info h.qcow2

# Persistent bitmaps the reference made: listed by info, kept by check.
"$REF_QEMU_IMG" create -q -f qcow2 bm.qcow2 1M
"$REF_QEMU_IMG" bitmap --add bm.qcow2 bm0
"$REF_QEMU_IMG" bitmap --add -g 128k --disable bm.qcow2 bm1
info bm.qcow2
info --output=json bm.qcow2
img check bm.qcow2
