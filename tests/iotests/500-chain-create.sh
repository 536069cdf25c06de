#!/usr/bin/env bash
# create with backing files: -b/-F, -u, size from the backing file, -b
# without -F, relative names stored as given and resolved against the
# overlay's directory, raw never names a backing file, -F without -b, an
# image backing itself; info on what was made.
. "$(dirname "$0")/common.rc"
_require_format qcow2

info() { img info "$@" | _filter_disk_size; }
backing() { img info "$1" | grep '^backing'; }

ref_img create -q -f qcow2 base.qcow2 1M
ref_img create -q -f raw base.raw 3M

echo "== -b with -F, size from the backing file"
img create -f qcow2 -b base.qcow2 -F qcow2 o1.qcow2
img create -f qcow2 -b base.raw -F raw o2.qcow2
img create -f qcow2 -b o1.qcow2 -F qcow2 o3.qcow2 3M
img create -f qcow2 -b o3.qcow2 -F qcow2 o4.qcow2 512k
img create -f qcow2 -o cluster_size=16k,extended_l2=on -b o4.qcow2 -F qcow2 \
    o5.qcow2
img create -f qcow2 -o backing_file=base.qcow2,backing_fmt=qcow2 o6.qcow2
info o5.qcow2
ref_img check o5.qcow2

echo "== -b without -F"
img create -f qcow2 -b base.qcow2 n1.qcow2
img create -f qcow2 -b base.raw n2.qcow2 1M
img create -f qcow2 -o backing_file=base.qcow2 n3.qcow2
ls n1.qcow2 n2.qcow2 n3.qcow2 2>/dev/null | wc -l

echo "== wrong or missing backing files"
img create -f qcow2 -b base.qcow2 -F raw w1.qcow2
backing w1.qcow2
img create -f qcow2 -b base.raw -F qcow2 w2.qcow2
img create -f qcow2 -b nonexist -F qcow2 w3.qcow2
img create -f qcow2 -b nonexist -F qcow2 w4.qcow2 1M
img create -f qcow2 -b base.qcow2 -F foo w5.qcow2
img create -f qcow2 -b '' -F qcow2 w6.qcow2 1M
ls w2.qcow2 w3.qcow2 w4.qcow2 w5.qcow2 w6.qcow2 2>/dev/null | wc -l

echo "== -u"
img create -f qcow2 -u -b nonexist -F qcow2 u1.qcow2
img create -f qcow2 -u -b nonexist -F qcow2 u2.qcow2 2M
img create -f qcow2 -u -b base.qcow2 -F qcow2 u3.qcow2 5M
img create -f qcow2 -u -b nonexist u4.qcow2 2M
img info u2.qcow2 | grep -e '^backing' -e '^virtual'
img info u3.qcow2 | grep -e '^backing' -e '^virtual'
ref_img check u3.qcow2

echo "== relative names"
mkdir -p d1/d2
ref_img create -q -f qcow2 d1/b.qcow2 2M
img create -f qcow2 -b b.qcow2 -F qcow2 d1/o.qcow2
img create -f qcow2 -b ../o.qcow2 -F qcow2 d1/d2/o2.qcow2
img create -f qcow2 -b d1/b.qcow2 -F qcow2 d1/bad.qcow2
img create -f qcow2 -b "$TEST_DIR/d1/b.qcow2" -F qcow2 abs.qcow2
backing d1/d2/o2.qcow2
backing abs.qcow2
(cd d1/d2 && img info --backing-chain o2.qcow2 | grep -e '^image' -e '^backing')
img info --backing-chain d1/d2/o2.qcow2 | grep -e '^image' -e '^backing'
img info --output=json d1/d2/o2.qcow2 | grep backing

echo "== raw cannot name a backing file"
img create -f raw -b base.qcow2 -F qcow2 r1.raw
img create -f raw -b base.qcow2 -F qcow2 r2.raw 1M
img create -f raw -F qcow2 r3.raw 1M
img create -f raw -o backing_file=base.qcow2 r4.raw 1M
ls r1.raw r2.raw r3.raw r4.raw 2>/dev/null | wc -l

echo "== -F without -b, same name as the backing file"
img create -f qcow2 -F qcow2 f1.qcow2 1M
img create -f qcow2 -o backing_fmt=raw f2.qcow2 1M
ls f1.qcow2 f2.qcow2 2>/dev/null | wc -l
img create -f qcow2 -b self.qcow2 -F qcow2 self.qcow2 1M
img create -f qcow2 -u -b self.qcow2 -F qcow2 self.qcow2 1M
ls self.qcow2 2>/dev/null | wc -l

echo "== -q and a backing file with data"
ref_io -c 'write -P 7 0 64k' base.qcow2 >/dev/null
img create -q -f qcow2 -b base.qcow2 -F qcow2 q.qcow2
ref_io -c 'read -P 7 0 64k' q.qcow2 | grep -c '^read'
ref_io -c 'read -P 0 64k 960k' q.qcow2 | grep -c '^read'
