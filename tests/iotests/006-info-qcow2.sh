#!/usr/bin/env bash
# info on qcow2: the nested "Format specific information" (bitmaps, data
# file), snapshots, backing files and their actual paths, missing and
# looping backing chains, the dirty flag, compat 0.10.
. "$(dirname "$0")/common.rc"
_require_format qcow2

# Records NAME as IMG's backing file without a format (and no header
# extension), as images made by old tools do.
set_backing_nofmt() {
    python3 -c 'import struct, sys
name = sys.argv[2].encode()
with open(sys.argv[1], "r+b") as f:
    f.seek(512); f.write(name)
    f.seek(8); f.write(struct.pack(">QI", 512, len(name)))' "$1" "$2"
}

info() { img info "$@" | _filter_disk_size | _filter_snapshot_dates; }

echo "== plain, compat 0.10, bitmaps, snapshots"
img create -q -f qcow2 plain.qcow2 1M
info plain.qcow2
info --output=json plain.qcow2
img create -q -f qcow2 -o compat=0.10 v2.qcow2 1M
info v2.qcow2
info --output=json v2.qcow2
img create -q -f qcow2 bm.qcow2 1M
img bitmap --add bm.qcow2 bm0
img bitmap --add -g 128k bm.qcow2 bm1
img bitmap --disable bm.qcow2 bm1
img snapshot -c snap1 bm.qcow2
img snapshot -c averyveryverylongsnapshotnamethatexceedsthecolumn bm.qcow2
img snapshot -c 'with space' bm.qcow2
info bm.qcow2
info --output=json bm.qcow2

echo "== data file"
img create -q -f qcow2 -o data_file=d.raw,data_file_raw=on dd.qcow2 1M
info dd.qcow2
info --output=json dd.qcow2

echo "== dirty flag"
img create -q -f qcow2 -o lazy_refcounts=on dirty.qcow2 1M
python3 -c 'import struct
with open("dirty.qcow2", "r+b") as f:
    f.seek(72); v = struct.unpack(">Q", f.read(8))[0]
    f.seek(72); f.write(struct.pack(">Q", v | 1))'
info -U dirty.qcow2
info -U --output=json dirty.qcow2

echo "== backing chains"
mkdir sub
img create -q -f raw sub/base.raw 1M
img create -q -f qcow2 -b base.raw -F raw sub/mid.qcow2
img create -q -f qcow2 -b sub/mid.qcow2 -F qcow2 top.qcow2
info top.qcow2
info sub/mid.qcow2
info --output=json sub/mid.qcow2
info --backing-chain top.qcow2
info --backing-chain --output=json top.qcow2
info --backing-chain --image-opts driver=qcow2,file.filename=top.qcow2

echo "== backing file without format"
img create -q -f qcow2 nofmt.qcow2 1M
set_backing_nofmt nofmt.qcow2 sub/base.raw
info nofmt.qcow2
info --backing-chain nofmt.qcow2
info --backing-chain --output=json nofmt.qcow2

echo "== broken and looping chains"
img create -q -f qcow2 -u -b nonexist.qcow2 -F qcow2 broken.qcow2 1M
info broken.qcow2
info --backing-chain broken.qcow2
img create -q -f qcow2 -u -b l2.qcow2 -F qcow2 l1.qcow2 1M
img create -q -f qcow2 -u -b l1.qcow2 -F qcow2 l2.qcow2 1M
info --backing-chain l1.qcow2
info --backing-chain --output=json l2.qcow2

echo "== forcing the format"
info -f raw plain.qcow2
info -f qcow2 sub/base.raw
