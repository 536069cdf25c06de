#!/usr/bin/env bash
# convert: every option's bad values and conflicts, in the reference's order.
. "$(dirname "$0")/common.rc"

_random_file a.raw 1048576 101
img create -q -f raw b.raw 2M

echo "== file names"
img convert
img convert a.raw
img convert -O raw a.raw
echo "== -m"
for m in 0 17 33 x 1k 08 -1; do img convert -m "$m" a.raw o.raw; done
img convert -m 0x10 a.raw o.raw
img convert -m +3 a.raw o.raw
echo "== -S"
for s in x -1 1 511 513 1G 2G 16777217; do
    img convert -S "$s" a.raw o.raw
done
img convert -S 16M a.raw o.raw
img convert -S 1k a.raw o.raw
echo "== -r"
img convert -r x a.raw o.raw
img convert -r -5 a.raw o.raw
img convert -r 0 a.raw o.raw
echo "== formats"
img convert -O nosuch a.raw o.raw
img convert -f nosuch a.raw o.raw
img convert -O nosuch nofile o.raw
img convert -O nosuch -o help
echo "== missing and unknown options"
img convert -O
img convert -x a.raw o.raw
img convert --bogus a.raw o.raw
img convert -s snap a.raw o.raw
echo "== cache modes"
img convert -t bogus a.raw o.raw
img convert -T bogus a.raw o.raw
img convert -t bogus -T bogus a.raw o.raw
echo "== sources"
img convert nofile.raw o.raw
img convert a.raw nofile.raw o.raw
img convert -O raw a.raw /nonexist/dir/o.raw
echo "== -n"
img convert -n a.raw nonexist.raw
img convert -n b.raw a.raw
img convert -n -o size=1M a.raw b.raw
img convert -n -o help a.raw b.raw
img convert -n -c a.raw b.raw
img convert -n --bitmaps a.raw b.raw
img convert --target-is-zero a.raw o.raw
img convert --target-image-opts a.raw driver=raw,file.filename=b.raw
img convert --target-is-zero --target-image-opts a.raw o.raw
img convert -n --target-image-opts -O raw a.raw driver=raw,file.filename=b.raw
img convert -n --target-image-opts a.raw driver=raw,file.filename=nosuch.raw
echo "== --image-opts"
img convert --image-opts -f raw driver=raw,file.filename=a.raw o.raw
img convert --image-opts driver=raw,file.filename=nosuch.raw o.raw
echo "== -c, -B, -F, --bitmaps, -l with raw"
img convert -c -O raw a.raw o.raw
img convert -B a.raw a.raw o.raw
img convert -F raw a.raw o.raw
img convert -B x -F raw a.raw o.raw
img convert -B x -c a.raw o.raw
img convert --bitmaps a.raw o.raw
img convert --bitmaps -c a.raw o.raw
img convert -o backing_file=x a.raw o.raw
img convert -l snap a.raw o.raw
img convert -l snapshot.name=x a.raw o.raw
img convert -l snap a.raw b.raw o.raw
img convert -l snapshot.bogus=1 a.raw o.raw
img convert -l snapshot.bogus=1 -m 0 a.raw o.raw
img convert -l snapshot.name=x,snapshot.bogus=1 x
img convert -l snapshot.id=1,snapshot.name=x a.raw o.raw
img convert -l snap nofile o.raw
img convert -l snap -B x a.raw o.raw
img convert -l snap --bitmaps a.raw o.raw
echo "== -C conflicts"
img convert -C -c a.raw o.raw
img convert -C -S 0 a.raw o.raw
img convert -C -S 4k a.raw o.raw
img convert -S 4k -C a.raw o.raw
img convert --salvage -C a.raw o.raw
img convert -C -c -S 0 --salvage --target-is-zero x y
img convert -C -S 0 --salvage --target-is-zero x y
img convert -C -S 0 --salvage -n -o x=y x y
img convert -C -S 0 x
echo "== check order"
img convert -o help -C -c
img convert -o help --target-is-zero
img convert -o help -n
img convert --target-image-opts -o x=y x y
img convert --target-is-zero -o x=y x y
img convert -S 1 -m 0 x
img convert -m 0 -S 1 x
img convert --image-opts -f raw x
img convert -l snap x
img convert -O raw --bitmaps -c a.raw o.raw
img convert -O raw -n -c --bitmaps a.raw nosuch.raw
echo "== -o"
img convert -o "" a.raw o.raw
img convert -o a -o b a.raw o.raw
img convert -o bogus=1 a.raw o.raw
img convert -o size=x a.raw o.raw
img convert -o preallocation=bogus a.raw o.raw
img convert -o nocow=maybe a.raw o.raw
img convert -o extent_size_hint=1x a.raw o.raw
img convert -o help
img convert -O raw -o '?'
img convert -O raw -o help x
img convert -O raw -o help a.raw o.raw
img convert -O raw -o preallocation=full,help a.raw o.raw
ls
echo "== --object"
img convert --object secret,id=s0,data=x a.raw o2.raw
img convert --object bogus a.raw o2.raw
img convert --object secret,id=s0 a.raw o2.raw
echo "== where each check falls: -T before the progress bar starts, -t once"
echo "== the target exists, -O with -n only when it opens"
rm -f o.raw
for a in "-T bogus" "-t bogus" "-O bogus" "-f bogus" "-l x" "--image-opts -f raw" \
         "-o bogus=1"; do
    # shellcheck disable=SC2086
    img convert -p $a a.raw o.raw | cat -A
    ls o.raw 2>/dev/null && rm -f o.raw
done
img convert -p nonexist o.raw | cat -A
img convert -p -q nonexist o.raw | cat -A
img convert -O bogus -n a.raw o.raw
img convert -O bogus -n --bitmaps a.raw o.raw
img convert -O bogus -n -t bogus a.raw o.raw
img convert --target-image-opts -O raw -n -l x a.raw o.raw
img convert --target-image-opts -O raw -n -t bogus a.raw o.raw
img convert --target-image-opts -O raw -n a.raw o.raw
