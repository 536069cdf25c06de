#!/usr/bin/env bash
# convert raw -> raw: bytes and holes of the target for data, zero-filled
# blocks and holes in the source, across -S, -m, -W, -C and -o.
. "$(dirname "$0")/common.rc"

# src.raw (8 MiB): random data, zero-filled data blocks, holes, zero runs of
# odd lengths and alignments inside data, and a partial last sector.
python3 - <<'PY'
import random
r = random.Random(100)
def rnd(n):
    return r.randbytes(n)
with open('src.raw', 'wb') as f:
    f.truncate(8 << 20)
    def w(off, data):
        f.seek(off); f.write(data)
    w(0, rnd(65536))
    w(65536, b'\0' * 65536)                 # written zeroes
    d = bytearray(rnd(65536))               # zero runs inside data
    d[1024:1536] = bytes(512)
    d[4096:8192] = bytes(4096)
    d[10240:18432] = bytes(8192)
    d[20000:30000] = bytes(10000)
    d[32768:49152] = bytes(16384)
    w(262144, bytes(d))
    d = bytearray(rnd(16384))
    d[3072:8192] = bytes(5120)
    w(1 << 20, bytes(d))
    w((3 << 20) - 4096, rnd(3 * 1024 * 1024 // 2))   # crosses 2 MiB chunks
    w((6 << 20) + 512, bytes(4096 * 3))     # zeroes written into a hole
    w((8 << 20) - 1000, rnd(1000))
PY
_md5 src.raw

for s in "" 0 512 4k 8k 12k 64k; do
    echo "== -S ${s:-default}"
    rm -f t.raw
    if [ -n "$s" ]; then
        img convert -f raw -O raw -S "$s" src.raw t.raw
    else
        img convert -f raw -O raw src.raw t.raw
    fi
    _md5 t.raw
    ref_img map --output=json -f raw t.raw
done

for opt in "-m 1" "-m 16" "-W" "-W -m 3" "-C" "-C -W" "-r 1G" "-U" \
           "-t none" "-t writeback" "-T none" "-t writethrough -T directsync"
do
    echo "== $opt"
    rm -f t.raw
    img convert $opt -f raw -O raw src.raw t.raw
    _md5 t.raw
    ref_img map --output=json -f raw t.raw
done

echo "== no -O: raw"
img convert src.raw t2.raw
_md5 t2.raw
img info t2.raw | grep -v '^disk size'

echo "== -o size is the source's"
img convert -O raw -o size=1M src.raw t3.raw
stat -c %s t3.raw
img convert -O raw -o size=64M src.raw t3.raw
stat -c %s t3.raw

echo "== preallocation"
img convert -O raw -o preallocation=full src.raw t4.raw
_md5 t4.raw
ref_img map --output=json -f raw t4.raw
img convert -O raw -o preallocation=falloc src.raw t5.raw
_md5 t5.raw

echo "== odd-sized source"
_random_file odd.raw 100000 7
img convert -O raw odd.raw t6.raw
stat -c %s t6.raw
_md5 t6.raw
cmp -n 100000 odd.raw t6.raw && echo "same data"

echo "== empty source"
img create -q -f raw empty.raw 0
img convert -O raw empty.raw t7.raw
stat -c %s t7.raw

echo "== overwriting an existing target"
_random_file t8.raw 16777216 8
img convert -O raw src.raw t8.raw
stat -c %s t8.raw
_md5 t8.raw
ref_img map --output=json -f raw t8.raw

echo "== O_DIRECT both sides, odd-sized source"
img convert -t none -T none -O raw odd.raw t9.raw
_md5 t9.raw
img convert -t directsync -S 512 -O raw odd.raw t10.raw
_md5 t10.raw
ref_img map --output=json -f raw t10.raw
