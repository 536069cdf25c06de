#!/usr/bin/env bash
# bitmap on qcow2: add (granularities), remove, clear, enable, disable,
# merge (same image and another one), several actions in order, and the
# errors of each; the result as info shows it.
. "$(dirname "$0")/common.rc"
_require_format qcow2

bitmaps() { img info "$1" | sed -n '/bitmaps:/,/refcount bits/p'; }

img create -q -f qcow2 b.qcow2 1M
img create -q -f qcow2 src.qcow2 1M
img bitmap --add b.qcow2 bm
img bitmap --add b.qcow2 bm
img bitmap --add -g 512 b.qcow2 g1
img bitmap --add -g 1k b.qcow2 g2
img bitmap --add -g 3k b.qcow2 g3
img bitmap --add -g 0 b.qcow2 g3
img bitmap --add -g 4G b.qcow2 g4
img bitmap --add -g 2G b.qcow2 g4
img bitmap --add -g 256 b.qcow2 g5
img bitmap --add -g 64k -g 128k b.qcow2 gg
img bitmap --add b.qcow2 ''
img bitmap --add b.qcow2 "$(printf 'x%.0s' $(seq 1024))" | cut -c 1-60
bitmaps b.qcow2
img bitmap --remove b.qcow2 g2
img bitmap --remove b.qcow2 g2
img bitmap --clear b.qcow2 bm
img bitmap --disable b.qcow2 bm
bitmaps b.qcow2
img bitmap --enable b.qcow2 bm
img bitmap --clear b.qcow2 nosuch
img bitmap --enable b.qcow2 nosuch
img bitmap --disable b.qcow2 nosuch

echo "== merge"
img bitmap --merge bm b.qcow2 g1
img bitmap --merge bm -b src.qcow2 b.qcow2 g1
img bitmap --add --disable -g 128k src.qcow2 s1
img bitmap --merge s1 -b src.qcow2 -F qcow2 b.qcow2 g1
img bitmap --merge s1 -b src.qcow2 b.qcow2 nosuch
img bitmap --merge nosuch b.qcow2 g1
img bitmap --merge s1 -b nonexist b.qcow2 g1
bitmaps src.qcow2

echo "== several actions"
img bitmap --add --disable b.qcow2 x
img bitmap --remove --add b.qcow2 y
img bitmap --add --remove b.qcow2 y
img bitmap --add --merge bm --disable b.qcow2 z
bitmaps b.qcow2
img bitmap --add --image-opts driver=qcow2,file.filename=b.qcow2 io
img bitmap --add --image-opts -f qcow2 b.qcow2 io
bitmaps b.qcow2
ref_img check b.qcow2 | head -n 1

echo "== backing files are not opened"
img create -q -f qcow2 -u -b nonexist.qcow2 -F qcow2 brk.qcow2 1M
img create -q -f qcow2 -u -b nonexist.qcow2 -F qcow2 brk2.qcow2 1M
img bitmap --add brk2.qcow2 s
img bitmap --add brk.qcow2 b
img bitmap --merge s -b brk2.qcow2 brk.qcow2 b
img bitmap --merge s -b brk2.qcow2 -F qcow2 brk.qcow2 b
bitmaps brk.qcow2
