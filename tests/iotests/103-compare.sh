#!/usr/bin/env bash
# compare: identical, different, size mismatches, strict mode, progress,
# and the exit codes of every error.
. "$(dirname "$0")/common.rc"

_random_file a.raw 1048576 103
cp a.raw b.raw
printf 'X' | dd of=b.raw bs=1 seek=70000 conv=notrunc 2>/dev/null
cp a.raw c.raw; truncate -s 2M c.raw
cp a.raw d.raw; truncate -s 512k d.raw
cp a.raw e.raw; truncate -s 2M e.raw
printf 'Y' | dd of=e.raw bs=1 seek=1500000 conv=notrunc 2>/dev/null
truncate -s 1M h.raw
head -c 1048576 /dev/zero > z.raw
cp h.raw h2.raw
printf 'A' | dd of=h2.raw bs=1 seek=300000 conv=notrunc 2>/dev/null
cp z.raw z2.raw
printf 'A' | dd of=z2.raw bs=1 seek=300000 conv=notrunc 2>/dev/null
truncate -s 2M h3.raw
printf 'B' | dd of=h3.raw bs=1 seek=1800000 conv=notrunc 2>/dev/null
cp a.raw last.raw
printf 'Z' | dd of=last.raw bs=1 seek=1048575 conv=notrunc 2>/dev/null
cp a.raw first.raw
printf 'Z' | dd of=first.raw bs=1 seek=0 conv=notrunc 2>/dev/null

echo "== verdicts"
img compare a.raw a.raw
img compare a.raw b.raw
img compare b.raw a.raw
img compare a.raw last.raw
img compare first.raw a.raw
img compare -q a.raw b.raw
img compare -q a.raw a.raw
img compare -f raw -F raw a.raw b.raw
img compare -T none a.raw a.raw
img compare -T writeback -U a.raw b.raw
echo "== sizes"
img compare a.raw c.raw
img compare c.raw a.raw
img compare a.raw d.raw
img compare d.raw a.raw
img compare a.raw e.raw
img compare e.raw a.raw
img compare h.raw h3.raw
img compare h3.raw h.raw
img compare h2.raw h3.raw
img compare -q a.raw c.raw
echo "== holes and zeroes"
img compare h.raw z.raw
img compare h.raw h2.raw
img compare h2.raw h.raw
img compare z.raw h2.raw
img compare h2.raw z2.raw
echo "== strict"
img compare -s a.raw c.raw
img compare -s a.raw a.raw
img compare -s a.raw e.raw
img compare -s h.raw z.raw
img compare -s z.raw h.raw
img compare -s h.raw h2.raw
img compare -s h2.raw z2.raw
img compare -s h2.raw h3.raw
img compare -q -s a.raw c.raw
img compare -s a.raw b.raw
echo "== --image-opts"
img compare --image-opts driver=raw,file.filename=a.raw driver=raw,file.filename=b.raw
img compare --image-opts driver=raw,file.filename=a.raw driver=raw,file.filename=a.raw
echo "== progress"
_random_file r6.raw 6291456 1031
head -c 5242880 r6.raw > r5.raw
img compare -p r6.raw r6.raw | tr '\r' '\n'
img compare -p r5.raw r6.raw | tr '\r' '\n'
img compare -p h2.raw h3.raw | tr '\r' '\n'
img compare -p -q a.raw b.raw | tr '\r' '\n'
echo "== errors"
img compare
img compare a.raw
img compare a.raw b.raw c.raw
img compare -x a.raw b.raw
img compare -f
img compare a.raw nosuch.raw
img compare nosuch.raw a.raw
img compare -f bogus a.raw a.raw
img compare -T bogus a.raw a.raw
img compare --image-opts -f raw driver=raw,file.filename=a.raw a.raw
echo "== --object"
img compare --object secret,id=s0,data=x a.raw a.raw
# A bad --object is an open error here (exit 2), unlike in other commands.
img compare --object secret a.raw a.raw
img compare --object bogus,id=x a.raw a.raw
img compare --object secret,id=s0,data=!,format=base64 a.raw a.raw
img compare --object secret,help a.raw a.raw
echo "== -p: the bar's line ends even when -T is bad"
img compare -p -T bogus a.raw a.raw | cat -A
