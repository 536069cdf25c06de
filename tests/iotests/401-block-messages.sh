#!/usr/bin/env bash
# Messages and behaviour of the block layer as the reference has them:
# what the file driver accepts, file names given twice, node names, backing
# options of formats without backing files, read-only nodes, snapshots of
# formats without them, the file driver's info, the first block a new file
# gets, and the size limit of resize/truncate.
. "$(dirname "$0")/common.rc"
. "$(dirname "$0")/common.qemu-io.rc"

truncate -s 1M r.raw
mkdir d

echo "== directories and devices"
img info d
img info -f raw d
img info -f file /dev/null
img info --output=json /dev/null
img info --output=json -f host_device /dev/null

echo "== file names and the file child"
img info --image-opts ''
img info --image-opts 'filename=r.raw'
img info --image-opts 'node-name=x'
img info --image-opts 'driver=raw,filename=r.raw'
img info --image-opts 'driver=raw,file=foo,file.filename=r.raw'
img info 'json:{"filename":"r.raw"}'
img info -f raw 'json:{"driver":"file","filename":"r.raw"}'
qio -c 'open -o file.filename=r.raw r.raw'
qio -c 'open -o driver=file,filename=r.raw r.raw'
qio -c 'open -o file=foo r.raw'
qio -c 'open -o driver=raw,filename=r.raw r.raw'

echo "== node names"
for n in 1a _a '#a' '' a-b_c.d aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa \
         aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa; do
    img info --image-opts "driver=raw,file.filename=r.raw,node-name=$n" |
        head -1
done
img info --image-opts 'driver=raw,file.filename=r.raw,file.node-name=1'
img info --image-opts 'driver=raw,file.filename=r.raw,node-name=x,file.node-name=x'

echo "== backing options on raw"
img map --image-opts 'driver=raw,file.filename=r.raw,backing=x'
img map --image-opts 'driver=raw,file.filename=r.raw,backing.driver=raw'
img map --image-opts 'driver=raw,file.filename=r.raw,size=513,backing=x'
img map --image-opts 'driver=raw,file.filename=r.raw,bogus=1,backing=x'
img info --image-opts 'driver=raw,file.filename=r.raw,backing=x'

echo "== read-only nodes and pr-manager"
img resize --image-opts 'driver=raw,file.filename=r.raw,read-only=on' 2M
img resize --image-opts 'driver=raw,file.filename=r.raw,file.read-only=on' 2M
qio -c 'write 0 1' --image-opts 'driver=raw,file.filename=r.raw,read-only=on'
qio -r -c 'write 0 1' --image-opts 'driver=raw,file.filename=r.raw,read-only=off'
img info --image-opts 'driver=raw,file.filename=r.raw,file.pr-manager=x'

echo "== snapshots on raw"
img snapshot -a x --image-opts driver=raw,file.filename=r.raw
img snapshot -c x --image-opts driver=raw,file.filename=r.raw
img snapshot -d x --image-opts driver=raw,file.filename=r.raw
img snapshot -l --image-opts driver=raw,file.filename=r.raw

echo "== the file driver's info"
img info --output=json -f file r.raw | _filter_disk_size
img info -f file r.raw | _filter_disk_size
qio -f file -c info r.raw

echo "== the first block of new files"
for args in "x.raw 1M" "x.raw 0" "x.raw 512" "x.raw 5000" \
            "-o preallocation=falloc x.raw 1M" "-o preallocation=full x.raw 64k"
do
    rm -f x.raw
    img create -q -f raw $args
    img map --output=json -f file x.raw
done
rm -f x.raw
img create -q -f file x.raw 1M
img map --output=json -f file x.raw
img info x.raw | grep '^disk size'
rm -f x.raw
img create -q -f raw -o preallocation=metadata x.raw 1M
ls x.raw
rm -f x.raw; touch x.raw
img resize -f raw x.raw 1M
img map --output=json -f file x.raw
rm -f x.raw; truncate -s 4k x.raw
img resize -f raw x.raw 1M
img map --output=json -f file x.raw
truncate -s 1M zero.raw
img convert -O raw zero.raw out.raw
img map --output=json -f file out.raw

echo "== size limits"
img resize -f raw r.raw 9223372036854775807
img resize -f raw r.raw 9223372035781033985
qio -f raw -c 'truncate 9223372036854775296' r.raw
