#!/usr/bin/env bash
# qemu-io's command line: opening the image (-f, -r, -t, -n, -i, -d, -U,
# --image-opts, --object), -c ordering, exit codes, and open failures.
. "$(dirname "$0")/common.rc"
. "$(dirname "$0")/common.qemu-io.rc"

_make_raw t.raw 1M

echo "== commands run in order; the exit code is 1 if any failed"
qio -f raw -c "write -P 0x11 0 4k" -c "read -P 0x11 0 4k" -c length t.raw
qio -f raw -c "read -P 0x22 0 512" -c "read 0 512" t.raw
qio -f raw -c "read 2M 512" -c "write 0 512" t.raw
qio -f raw -c "foo" -c length t.raw
qio -f raw -c length t.raw -r
qio -f raw -c "read -q 0 1" -c "" -c " " -c "  length  " t.raw

echo "== quit stops; later commands do not run"
qio -f raw -c quit -c length t.raw
qio -f raw -c "read 2M 1" -c quit -c length t.raw

echo "== probing raw warns when writable"
qio -c "write -P 0x33 0 512" t.raw
qio -r -c "read -P 0x33 0 512" t.raw

echo "== open failures end the program before any command"
qio -f foo -c length t.raw
qio nonexist
qio -c length nonexist
qio -f raw -k -c length t.raw
qio -f raw -U -c length t.raw
qio -f raw -r -U -c "read 0 1" t.raw
qio -f raw -r -C -c length t.raw
qio_err -c length t.raw extra

echo "== no image: commands that need one fail"
qio -c length
qio -c length -c "read 0 1" -c "sleep 1"

echo "== option values"
qio -t bogus -c length t.raw
qio -i bogus -c length t.raw
qio -d bogus -c length t.raw
for t in none writeback writethrough directsync unsafe; do
    qio -f raw -t $t -c "write 0 512" -c "read 0 512" t.raw
done
for d in on unmap off ignore; do
    qio -f raw -d $d -c "discard 0 4k" t.raw
done
qio -f raw -n -c "write 512 512" -c "read -v 1020 8" t.raw
qio -f raw -n -i native -c "write 512 512" t.raw
qio -f raw -i threads -c "write 512 512" t.raw
qio -f raw -i io_uring -c "write 512 512" t.raw
qio -f raw -m -c "write -P 0x44 1 1" -c "readv -P 0x44 1 1" t.raw

echo "== bad options"
qio_err -x t.raw
qio_err --foo t.raw
qio_err -f
qio_err -o foo t.raw

echo "== --image-opts"
qio --image-opts -c length driver=raw,file.filename=t.raw
qio --image-opts -c "write 0 1" -c length file.filename=t.raw
qio --image-opts -f raw -c length driver=raw,file.filename=t.raw
qio --image-opts -c length
qio --image-opts -U -c length driver=raw,file.filename=t.raw
qio --image-opts -r -U -c length driver=raw,file.filename=t.raw
qio --image-opts -c "read 0 1" driver=raw,file.filename=t.raw,read-only=on
qio --image-opts -r -c "read 0 1" driver=raw,file.filename=t.raw,read-only=on
qio --image-opts -r -U -c length \
    driver=raw,file.filename=t.raw,force-share=off

echo "== --object"
qio --object secret,id=s0,data=abc -f raw -c length t.raw
qio --object foo,id=x -f raw -c length t.raw
qio --object secret,data=abc -f raw -c length t.raw
qio --object secret,id=s0 -f raw -c length t.raw
qio --object id=s0 -f raw -c length t.raw
qio --object secret,id=s0,data=a --object secret,id=s0,data=b \
    -f raw -c length t.raw
# The same store and checks as qemu-img's (util/secret.c).
printf 'YW\0Jj' > nul.b64
qio --object secret,id=s0,data=x,help -c quit
qio --object secret,? -c quit
qio --object secret,id=0bad,data=x -c quit
qio --object secret,id=s0,data=x,a.b=1 -c quit
qio --object secret,id=s0,data=x,loaded=on -c quit
qio --object secret,id=s0,data=x,help=1 -c quit
qio --object secret,id=s0,data=x,keyid=k -c quit
qio --object secret,id=s0,file=/ -c quit
qio --object secret,id=s0,file=nul.b64,format=base64 -c quit
qio --object secret,id=s0,data=!,format=base64 -c quit

echo "== the image itself"
_md5 t.raw

echo "== -T, as qemu-img's"
printf 'foo\n\n#x\n-bar\n' > ev.txt
for t in foo 'foo*' 'enable=' 'events=ev.txt' 'events=/nonexist' 'foo,bar' \
         'bogus=1' 'file=/nonexist/x' 'file=' 'file=log1'; do
    echo "-- -T '$t'"
    qio -T "$t" -c quit
done
ls log1
qio -T file=/nonexist/x -T foo -c quit
qio -T file=/nonexist/x --image-opts -f raw -c quit t.raw
qio -T file=/nonexist/x -t bogus -c quit t.raw

echo "== bare flags in option strings are deprecated"
qio --image-opts -c quit driver=raw,file.filename=t.raw,read-only
qio -c 'open -o driver=raw,read-only t.raw' -c quit

echo "== -C: copy-on-read of an image without a backing file"
qio -C -c 'write -P 7 0 512' -c 'read -P 7 0 512' t.raw
qio -C -r -c length t.raw
qio -c 'open -C -f raw t.raw' -c length
qio -c 'open -C -r -f raw t.raw'

echo "== reopen does not warn again"
qio -c 'reopen -w' -c 'write 0 1' -r t.raw
qio -c 'reopen -c none' -c 'reopen -r' -c 'reopen -w' -c length t.raw
