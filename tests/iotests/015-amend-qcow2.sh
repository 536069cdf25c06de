#!/usr/bin/env bash
# amend on qcow2: compat up and down, lazy refcounts, size, options that
# only create takes (with the hint), conflicts, progress, -o help.
. "$(dirname "$0")/common.rc"
_require_format qcow2

ref_img create -q -f qcow2 am.qcow2 1M
ref_io -c 'write -P 7 0 64k' am.qcow2 >/dev/null
specific() { img info am.qcow2 | sed -n '/^Format specific/,$p'; }

img amend -o help am.qcow2
img amend -f qcow2 -o help
img amend -f qcow2 -o help,compat=1.1
img amend -o compat=0.10 am.qcow2; specific
img amend -o compat=1.1 am.qcow2; specific
img amend -o lazy_refcounts=on am.qcow2; specific
img amend -q -o lazy_refcounts=off am.qcow2; specific
img amend -p -o lazy_refcounts=on am.qcow2
img amend -o size=2M am.qcow2
img info am.qcow2 | grep 'virtual size'
img amend --force -o compat=1.1 am.qcow2
img amend --image-opts -o lazy_refcounts=off driver=qcow2,file.filename=am.qcow2
img amend -t none -o lazy_refcounts=off am.qcow2
img check am.qcow2
ref_io -c 'read -P 7 0 64k' am.qcow2 | grep -c 'read 65536'

echo "== errors"
img amend -o foo=bar am.qcow2
img amend -o cluster_size=4k am.qcow2
img amend -o preallocation=full am.qcow2
img amend -o compat=0.10 -o lazy_refcounts=on am.qcow2
img amend -o compat=2 am.qcow2
img amend -o lazy_refcounts=maybe am.qcow2
img amend -o size=1x am.qcow2
img amend -U -o compat=1.1 am.qcow2
