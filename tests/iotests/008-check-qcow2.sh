#!/usr/bin/env bash
# check on qcow2: clean images, leaks, corruptions, repairs (-r leaks,
# -r all) with the double check, JSON, -q, compressed and fragmented
# clusters, a repair that fails, exit codes 0/1/2/3. Images are made with
# the reference so that their layout (and so cluster numbers) is fixed.
. "$(dirname "$0")/common.rc"
_require_format qcow2

poke() { python3 "$(dirname "$0")/qcow2-poke.py" "$@"; }

ref_img create -q -f qcow2 c.qcow2 4M
ref_io -c 'write 0 1M' -c 'write 2M 64k' c.qcow2 >/dev/null
ref_img create -q -f qcow2 e.qcow2 1M
ref_img create -q -f qcow2 z.qcow2 0

echo "== clean"
for f in c.qcow2 e.qcow2 z.qcow2; do
    img check "$f"
    img check --output=json "$f"
done
img check -q c.qcow2
img check -q --output=json c.qcow2
img check -r leaks c.qcow2
img check -r all --output=json c.qcow2
img check -T none -U c.qcow2
img check --output=json --image-opts driver=qcow2,file.filename=e.qcow2
img check --output=json ./e.qcow2
img check -U -r all e.qcow2

echo "== compressed"
ref_img convert -c -O qcow2 c.qcow2 cc.qcow2
img check cc.qcow2
img check --output=json cc.qcow2

echo "== leaks"
cp c.qcow2 leak.qcow2
truncate -s $((32 * 65536)) leak.qcow2
poke leak.qcow2 setrc 30 1
poke leak.qcow2 setrc 31 1
img check leak.qcow2
img check --output=json leak.qcow2
img check -q leak.qcow2
cp leak.qcow2 l.qcow2
img check -r leaks l.qcow2
img check l.qcow2
cp leak.qcow2 l.qcow2
img check -r leaks --output=json l.qcow2
cp leak.qcow2 l.qcow2
img check -q -r all l.qcow2
img check l.qcow2

echo "== corruptions"
cp c.qcow2 cor.qcow2
poke cor.qcow2 setrc 5 0
img check cor.qcow2
img check --output=json cor.qcow2
cp cor.qcow2 x.qcow2
img check -r leaks x.qcow2
cp cor.qcow2 x.qcow2
img check -r all x.qcow2
cp cor.qcow2 x.qcow2
img check -r all --output=json x.qcow2
img check x.qcow2

echo "== corruptions and leaks"
cp cor.qcow2 both.qcow2
truncate -s $((32 * 65536)) both.qcow2
poke both.qcow2 setrc 30 1
img check both.qcow2
img check --output=json both.qcow2
img check -r leaks both.qcow2

echo "== L2 table past the end, shared cluster"
cp c.qcow2 bad.qcow2
poke bad.qcow2 setl1 0 0x80000000f0000000
img check bad.qcow2
cp c.qcow2 bad2.qcow2
poke bad2.qcow2 setl2 0 3 0x8000000000070001
img check bad2.qcow2
img check --output=json bad2.qcow2
