#!/usr/bin/env bash
# convert -n into existing targets (with and without --target-is-zero),
# several sources into one target, --image-opts, -p and -q.
. "$(dirname "$0")/common.rc"

python3 - <<'PY'
import random
r = random.Random(102)
with open('m.raw', 'wb') as f:
    f.truncate(8 << 20)
    f.seek(0); f.write(r.randbytes(65536))
    f.seek(1 << 20); f.write(bytes(65536))
    d = bytearray(r.randbytes(65536)); d[8192:16384] = bytes(8192)
    f.seek(3 << 20); f.write(bytes(d))
with open('small.raw', 'wb') as f:
    f.truncate(1 << 20)
    f.seek(4096); f.write(r.randbytes(8192))
PY
_random_file full.raw 16777216 1021
_md5 m.raw

for args in "" "-S 0" "--target-is-zero" "--target-is-zero -S 0" "-W" \
            "-C" "-m 1"; do
    echo "== -n $args"
    cp full.raw t.raw
    img convert -n $args m.raw t.raw
    stat -c %s t.raw
    _md5 t.raw
    cmp -n 8388608 m.raw t.raw && echo "first 8 MiB match"
    cmp -i 8388608 full.raw t.raw && echo "rest untouched"
    ref_img map --output=json -f raw t.raw
done

echo "== -n with a target of the same size"
truncate -s 8M same.raw
img convert -n -f raw m.raw same.raw
_md5 same.raw
ref_img map --output=json -f raw same.raw

echo "== -n with a format-probed target"
cp full.raw t9.raw
img convert -n -O raw m.raw t9.raw
_md5 t9.raw

echo "== several sources"
img convert -O raw m.raw small.raw m.raw cat.raw
stat -c %s cat.raw
_md5 cat.raw
cat m.raw small.raw m.raw | md5sum | sed 's/-$/expected/'
ref_img map --output=json -f raw cat.raw
img convert -W -m 16 m.raw small.raw m.raw cat2.raw
_md5 cat2.raw
img convert -n small.raw small.raw m.raw cat.raw
_md5 cat.raw

echo "== --image-opts"
img convert --image-opts driver=raw,file.filename=m.raw io.raw
_md5 io.raw
img convert --image-opts driver=file,filename=small.raw io2.raw
_md5 io2.raw
cp full.raw io3.raw
img convert -n --target-image-opts m.raw driver=raw,file.filename=io3.raw
_md5 io3.raw

echo "== -p"
img convert -p -O raw m.raw p.raw | tr '\r' '\n'
img convert -p -O raw -S 0 m.raw p.raw | tr '\r' '\n'
img convert -p -O raw small.raw p.raw | tr '\r' '\n'
img convert -p -O raw m.raw small.raw p.raw | tr '\r' '\n'
img create -q -f raw z0.raw 0
img convert -p -O raw z0.raw p.raw | tr '\r' '\n'
cp full.raw p2.raw
img convert -p -n m.raw p2.raw | tr '\r' '\n'
img convert -p -q -O raw m.raw p.raw | tr '\r' '\n'
img convert -q -O raw m.raw p.raw
_md5 p.raw
