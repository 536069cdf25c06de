#!/usr/bin/env bash
# dd: output sizes and bytes for bs/count/skip, and every operand error.
. "$(dirname "$0")/common.rc"

_random_file a.raw 100000 105
truncate -s 1M h.raw
printf 'A' | dd of=h.raw bs=1 seek=300000 conv=notrunc 2>/dev/null
echo hello > txt

# _dd OUT ARGS...: runs dd and shows the output's size and checksum
_dd() {
    local out=$1; shift
    img dd "$@" of="$out"
    [ -e "$out" ] && { stat -c '%n %s' "$out"; _md5 "$out"; }
    return 0
}

_dd b.raw if=a.raw
cmp -n 100000 a.raw b.raw && echo "same data"
_dd b2.raw -O raw if=a.raw bs=4k count=3
_dd b3.raw if=a.raw bs=4k count=3 skip=2
cmp -n 4096 -i 8192:0 a.raw b3.raw && echo "same data"
_dd b4.raw if=a.raw bs=1000 skip=99
_dd b5.raw if=a.raw bs=1000 skip=100
_dd b6.raw if=a.raw bs=1000 skip=101
_dd b7.raw if=a.raw count=0
_dd b8.raw if=a.raw count=1k
_dd b9.raw if=a.raw bs=1G
_dd b10.raw if=a.raw bs=1.5k
_dd b11.raw bs=1000 count=3 skip=1 if=a.raw
_dd b12.raw if=a.raw bs=4k count=3 skip=4
_dd b13.raw if=a.raw bs=4k count=3 skip=3
_dd b14.raw bs=512 count=3000000000000 if=a.raw
_dd b15.raw bs=1G count=3000000000000 if=a.raw
_dd b16.raw bs=1G skip=3000000000000 if=a.raw
_dd b17.raw bs=1M count=0x10 if=h.raw
_dd b18.raw bs=1M count=2k if=h.raw
_dd b19.raw bs=0x200 skip=0x1 if=h.raw
_dd b20.raw bs=512b if=h.raw
_dd b21.raw if=h.raw bs=256k skip=1
ref_img map --output=json -f raw b21.raw
_dd b22.raw if=txt
od -c b22.raw | head -3
_dd b23.raw if=b.raw if=a.raw bs=1 bs=2k
_dd b24.raw if=a.raw -f raw
_dd b25.raw -U if=a.raw
_dd b26.raw --image-opts if=driver=raw,file.filename=a.raw
_dd b27.raw if=a.raw --
cp a.raw b28.raw; truncate -s 4M b28.raw
_dd b28.raw if=h.raw bs=64k count=2

echo "== errors"
img dd
img dd if=a.raw
img dd of=o.raw
for v in 0 x -1 3G 2G ""; do img dd if=a.raw of=o.raw bs="$v"; done
for v in x -1 1.5; do img dd if=a.raw of=o.raw count="$v"; done
for v in x -1; do img dd if=a.raw of=o.raw skip="$v"; done
img dd if=a.raw of=o.raw foo=1
img dd if=a.raw of=o.raw foo
img dd if=a.raw of=o.raw a.raw
img dd =5 if=a.raw of=o.raw
img dd foo=1 bs=0 if=a.raw of=o.raw
img dd bs=0 foo=1 if=a.raw of=o.raw
img dd if=nosuch.raw of=o.raw
img dd -f bogus if=a.raw of=o.raw
img dd -O bogus if=a.raw of=o.raw
img dd -O bogus if=nosuch of=o.raw
img dd if=a.raw of=/nonexist/o.raw
img dd if=a.raw of=
img dd -x if=a.raw of=o.raw
img dd -o x if=a.raw of=o.raw
img dd -O
img dd --image-opts -f raw if=driver=raw,file.filename=a.raw of=o.raw
ls o.raw 2>&1 | _filter
echo "== --object"
img dd --object secret,id=s0,data=x if=a.raw of=o4.raw
stat -c '%s' o4.raw
img dd --object bogus if=a.raw of=o5.raw
