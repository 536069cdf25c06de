#!/usr/bin/env bash
# info on raw images and plain files: human and JSON output, sizes that are
# not multiples of 512, --backing-chain, --image-opts, json: names, errors.
. "$(dirname "$0")/common.rc"

_random_file odd.img 1000 5
: > empty.img
_random_file a.raw 1048576 6
truncate -s 3G big.raw

for f in a.raw odd.img empty.img big.raw; do
    img info "$f" | _filter_disk_size
    img info --output=json "$f" | _filter_disk_size
done
img info -f raw a.raw | _filter_disk_size
img info a.raw -f raw | _filter_disk_size
img info -fraw -U a.raw | _filter_disk_size
img info --force-share --format=raw a.raw | _filter_disk_size
img info /dev/null | _filter_disk_size

echo "== --backing-chain"
img info --backing-chain a.raw | _filter_disk_size
img info --backing-chain --output=json a.raw | _filter_disk_size
img info --backing-chain -U --output=human a.raw | _filter_disk_size

echo "== --image-opts and json:"
img info --image-opts driver=raw,file.filename=a.raw | _filter_disk_size
img info --image-opts file.filename=a.raw | _filter_disk_size
img info --image-opts -f raw driver=raw,file.filename=a.raw
img info --image-opts driver=raw,file.filename=a.raw,foo=bar
img info --image-opts 'driver=raw,file.filename=a.raw,read-only=on' | _filter_disk_size
img info -U --image-opts driver=raw,file.filename=a.raw,force-share=off
img info -U --image-opts driver=raw,file.filename=a.raw,force-share=on | _filter_disk_size
img info 'json:{"driver":"raw","file":{"driver":"file","filename":"a.raw"}}' | _filter_disk_size
img info 'json:{"driver":"raw","file":{"driver":"file","filename":"a.raw"}'

echo "== errors"
img info
img info a.raw odd.img
img info nonexist
img info -f nosuch a.raw
img info --output=foo a.raw
img info --output foo a.raw
img info --output=foo
img info --outp=json a.raw | _filter_disk_size
img info -q a.raw
