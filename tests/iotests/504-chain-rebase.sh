#!/usr/bin/env bash
# rebase on chains: safe mode onto another image, onto an image further
# down the chain (only what lies above it is compared), onto nothing
# (-b ''), unsafe -u (also to repair a moved backing file or a missing
# backing format), -F, -p, -q, -t/-T, images with subclusters, and the
# manual's "diff of two images" recipe. Guest views must not change, and
# the reference must call every result clean.
. "$(dirname "$0")/common.rc"
. "$(dirname "$0")/chain.rc"
_require_format qcow2

backing() { img info "$1" | grep '^backing'; }

echo "== onto another image"
mkchain3
top=$(view top.qcow2)
ref_img create -q -f qcow2 other.qcow2 4M
ref_io -c 'write -P 1 0 512k' -c 'write -P 7 700k 4k' -c 'write -P 5 3M 32k' \
    other.qcow2 >/dev/null
img rebase -b other.qcow2 -F qcow2 top.qcow2
backing top.qcow2
[ "$(view top.qcow2)" = "$top" ] && echo "top reads the same"
flagmap top.qcow2
refcheck top.qcow2

echo "== onto the base further down"
mkchain3
img rebase -b base.raw -F raw top.qcow2
backing top.qcow2
[ "$(view top.qcow2)" = "$top" ] && echo "top reads the same"
flagmap top.qcow2
refcheck top.qcow2
mkchain10
c9=$(view c9.qcow2)
img rebase -b c2.qcow2 -F qcow2 c9.qcow2
[ "$(view c9.qcow2)" = "$c9" ] && echo "c9 reads the same"
flagmap c9.qcow2
refcheck c9.qcow2
img rebase -b c0.raw -F raw c5.qcow2
refcheck c5.qcow2
[ "$(view c9.qcow2)" = "$c9" ] && echo "c9 reads the same"

echo "== onto nothing"
mkchain3
img rebase -b '' top.qcow2
backing top.qcow2
[ "$(view top.qcow2)" = "$top" ] && echo "top reads the same"
flagmap top.qcow2
refcheck top.qcow2
mkchain10
img rebase -q -b '' c9.qcow2
[ "$(view c9.qcow2)" = "$c9" ] && echo "c9 reads the same"
refcheck c9.qcow2

echo "== -p, -t, -T"
mkchain3
img rebase -p -b other.qcow2 -F qcow2 top.qcow2
[ "$(view top.qcow2)" = "$top" ] && echo "top reads the same"
mkchain3
img rebase -p -t none -T directsync -b base.raw -F raw top.qcow2
[ "$(view top.qcow2)" = "$top" ] && echo "top reads the same"
mkchain3
img rebase -q -p -t writethrough -T unsafe -b '' top.qcow2
img rebase -t foo -b '' top.qcow2
img rebase -T foo -b '' top.qcow2
mkchain10
img rebase -b c1.qcow2 -F qcow2 c9.qcow2
[ "$(view c9.qcow2)" = "$c9" ] && echo "c9 reads the same"

echo "== unsafe"
mkchain3
img rebase -u -b other.qcow2 -F qcow2 top.qcow2
backing top.qcow2
[ "$(view top.qcow2)" = "$top" ] || echo "top reads differently, as unsafe may"
img rebase -u -b mid.qcow2 -F qcow2 top.qcow2
[ "$(view top.qcow2)" = "$top" ] && echo "top reads the same"
img rebase -u -b mid.qcow2 top.qcow2
img rebase -u top.qcow2
backing top.qcow2
img rebase -u -b '' top.qcow2
backing top.qcow2
refcheck top.qcow2

echo "== a moved chain repaired with -u"
mkchain3
mkdir -p new/place
mv base.raw new/place/base.raw
mv mid.qcow2 new/mid.qcow2
img info --backing-chain top.qcow2
img rebase -u -b new/mid.qcow2 -F qcow2 top.qcow2
img info --backing-chain top.qcow2
img rebase -u -b place/base.raw -F raw new/mid.qcow2
img info --backing-chain top.qcow2 | grep -e '^image' -e '^backing'
[ "$(view top.qcow2)" = "$top" ] && echo "top reads the same"
img rebase -u -b "$TEST_DIR/new/place/base.raw" -F raw new/mid.qcow2
backing new/mid.qcow2

echo "== subclusters: only the subclusters that differ are copied"
ref_img create -q -f qcow2 sb1.qcow2 1M
ref_io -c 'write -P 1 0 1M' sb1.qcow2 >/dev/null
ref_img create -q -f qcow2 sb2.qcow2 1M
ref_io -c 'write -P 1 0 1M' -c 'write -P 2 4k 1k' -c 'write -P 2 200k 64k' \
    sb2.qcow2 >/dev/null
ref_img create -q -f qcow2 -o extended_l2=on -b sb1.qcow2 -F qcow2 sbt.qcow2
ref_io -c 'write -P 3 512k 2k' sbt.qcow2 >/dev/null
want=$(view sbt.qcow2)
img rebase -b sb2.qcow2 -F qcow2 sbt.qcow2
[ "$(view sbt.qcow2)" = "$want" ] && echo "sbt reads the same"
flagmap sbt.qcow2
refcheck sbt.qcow2

echo "== diff of two images (create -b modified, rebase -b base)"
ref_img create -q -f qcow2 orig.qcow2 2M
ref_io -c 'write -P 1 0 2M' orig.qcow2 >/dev/null
cp orig.qcow2 modified.qcow2
ref_io -c 'write -P 2 64k 64k' -c 'write -z 1M 128k' -c 'write -P 3 1900k 1k' \
    modified.qcow2 >/dev/null
img create -f qcow2 -b modified.qcow2 -F qcow2 diff.qcow2
img rebase -b orig.qcow2 -F qcow2 diff.qcow2
flagmap diff.qcow2
[ "$(view diff.qcow2)" = "$(view modified.qcow2)" ] && echo "diff over orig reads as modified"
refcheck diff.qcow2

echo "== errors"
mkchain3
img rebase top.qcow2
img rebase -b nonexist -F qcow2 top.qcow2
img rebase -b other.qcow2 -F foo top.qcow2
# In the chain already: read through its node there, -F not checked.
img rebase -b base.raw -F qcow2 top.qcow2
backing top.qcow2
img rebase -b other.qcow2 -F qcow2 -f raw base.raw
mv mid.qcow2 gone.qcow2
img rebase -b other.qcow2 -F qcow2 top.qcow2
img rebase -u -b gone.qcow2 -F qcow2 top.qcow2
[ "$(view top.qcow2)" = "$top" ] && echo "top reads the same"
