#!/usr/bin/env bash
# Opening backing chains: 3 and 10 deep over raw and qcow2 with mixed
# cluster sizes, read through every layer; relative names resolved against
# each overlay's directory wherever the command runs; the recorded backing
# format preferred to probing; a missing or moved backing file; loops (an
# image backing itself, a cycle of two) and how to repair them.
. "$(dirname "$0")/common.rc"
. "$(dirname "$0")/chain.rc"
_require_format qcow2

echo "== 3 deep"
mkchain3
img info --backing-chain top.qcow2 | _filter_disk_size
img compare top.qcow2 top.qcow2
for off in 0 8k 600k 512k 2M 3M 3100k 3200k 4092k; do
    "$REF_QEMU_IO" -c "read -v $off 16" top.qcow2 | head -n 1 | _filter
    io -c "read -v $off 16" top.qcow2 | head -n 1
done

echo "== 10 deep"
mkchain10
img info --backing-chain c9.qcow2 | grep -e '^image' -e '^backing' \
    -e '^cluster'
[ "$(view c9.qcow2)" = "$(img convert -O raw c9.qcow2 v.raw && md5sum < v.raw | cut -c1-32)" ] && echo "convert reads the chain as the reference"
img compare c9.qcow2 v.raw
img compare -f qcow2 -F raw c9.qcow2 v.raw
img check c9.qcow2

echo "== relative names from another directory"
mkdir -p a/b
mv base.raw mid.qcow2 a/
mv top.qcow2 a/b/
ref_img rebase -u -b ../mid.qcow2 -F qcow2 a/b/top.qcow2
img info --backing-chain a/b/top.qcow2 | grep -e '^image' -e '^backing'
(cd a && img info --backing-chain b/top.qcow2 | grep -e '^image' -e '^backing')
(cd a/b && img compare top.qcow2 ../mid.qcow2)

echo "== a moved backing file, fixed with rebase -u"
mv a/base.raw moved.raw
img info a/b/top.qcow2 | grep '^backing'
img compare a/b/top.qcow2 a/mid.qcow2
img info --backing-chain a/b/top.qcow2
img rebase -u -b ../moved.raw -F raw a/mid.qcow2
img info --backing-chain a/b/top.qcow2 | grep -e '^image' -e '^backing'
img compare a/b/top.qcow2 a/b/top.qcow2

echo "== recorded format preferred to probing"
ref_img create -q -f qcow2 inner.qcow2 1M
ref_io -c 'write -P 8 0 64k' inner.qcow2 >/dev/null
# A raw file that holds a qcow2 header: read as raw, as recorded.
cp inner.qcow2 looks-qcow2.raw
ref_img create -q -f qcow2 -b looks-qcow2.raw -F raw ov.qcow2
img info --backing-chain ov.qcow2 | grep -e '^image' -e '^file format' \
    -e '^virtual'
io -c 'read -P 0x51 0 1' ov.qcow2 | grep -c '^read'
img map ov.qcow2
# No format recorded: the backing file is probed.
ref_img create -q -f qcow2 -b inner.qcow2 -F qcow2 probed.qcow2
python3 - probed.qcow2 <<'PY'
import struct, sys
with open(sys.argv[1], 'r+b') as f:
    h = f.read(112)
    ver = struct.unpack('>I', h[4:8])[0]
    off = struct.unpack('>I', h[100:104])[0] if ver >= 3 else 72
    while True:
        f.seek(off)
        magic, length = struct.unpack('>II', f.read(8))
        if magic == 0:
            break
        if magic == 0xE2792ACA:
            f.seek(off)
            f.write(struct.pack('>I', 0x12345678))
        off += 8 + (length + 7) // 8 * 8
PY
img info probed.qcow2 | grep '^backing'
img info --backing-chain probed.qcow2 | grep -e '^image' -e '^file format'
io -c 'read -P 8 0 64k' probed.qcow2 | grep -c '^read'
img rebase -u -b inner.qcow2 -F qcow2 probed.qcow2
img info probed.qcow2 | grep '^backing'

echo "== loops"
ref_img create -q -f qcow2 self.qcow2 1M
ref_img rebase -u -b self.qcow2 -F qcow2 self.qcow2
img info self.qcow2 | grep '^backing'
img info --backing-chain self.qcow2
img commit self.qcow2
img rebase -b '' self.qcow2
img rebase -u -b '' self.qcow2
img info --backing-chain self.qcow2 | grep -c '^image'
ref_img create -q -f qcow2 x.qcow2 1M
ref_img create -q -f qcow2 y.qcow2 1M
ref_img rebase -u -b y.qcow2 -F qcow2 x.qcow2
ref_img rebase -u -b x.qcow2 -F qcow2 y.qcow2
img info --backing-chain x.qcow2
img info --backing-chain --output=json y.qcow2
img commit x.qcow2
img rebase -u -b '' y.qcow2
img info --backing-chain x.qcow2 | grep -e '^image' -e '^backing'
refcheck x.qcow2
refcheck y.qcow2
