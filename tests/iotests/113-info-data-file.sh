#!/usr/bin/env bash
# info of an image with an external data file: the disk size is the image
# file's alone, as the reference reports it. Disk sizes depend on the host
# filesystem, so both binaries' answers are held against each other here.
. "$(dirname "$0")/common.rc"
_require_format qcow2

ref_img create -q -f qcow2 -o data_file=d.raw x.qcow2 10M
ref_io -c 'write -P 7 0 1M' x.qcow2 > /dev/null
for fmt in human json; do
    if diff <("$REF_QEMU_IMG" info --output=$fmt x.qcow2 2>&1) \
            <("$QEMU_IMG" info --output=$fmt x.qcow2 2>&1); then
        echo "info --output=$fmt: as the reference"
    fi
done
img info x.qcow2 | _filter_disk_size
