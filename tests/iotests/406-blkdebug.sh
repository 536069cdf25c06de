#!/usr/bin/env bash
# Error injection with blkdebug, as the reference: the config file syntax
# and its errors, json: and --image-opts rules, the names of blkdebug
# nodes, the errors that convert, compare, dd, map, bench and qemu-io
# report for failed reads, writes, zero writes, discards, flushes and block
# status queries (messages and exit codes), once/sector/state rules, and
# when flush events fire (writethrough, and nothing to flush).
. "$(dirname "$0")/common.rc"
. "$(dirname "$0")/common.qemu-io.rc"

_random_file a.raw 1048576 406
cp a.raw b.raw

# rule FILE EVENT [KEY VALUE]...: writes a one-rule config file.
rule() {
    local f=$1 ev=$2
    shift 2
    {
        echo '[inject-error]'
        echo "event = \"$ev\""
        while [ $# -gt 0 ]; do
            echo "$1 = \"$2\""
            shift 2
        done
    } > "$f"
}

rule r.cfg read_aio errno 5
rule w.cfg write_aio errno 28 once on
rule bs.cfg none iotype block-status
rule s8.cfg read_aio sector 8
cat > state.cfg <<'EOF'
# reads at byte 4096 fail once, after the first write
[set-state]
event = "write_aio"
state = "1"
new_state = "2"

[inject-error]
event = "read_aio"
state = "2"
sector = "8"
once = "on"
EOF

echo "== config files"
printf '[inject-error]\nevent = "bogus"\n' > bad1.cfg
printf '[foo]\nevent = "read_aio"\n' > bad2.cfg
printf 'event = "read_aio"\n' > bad3.cfg
printf '[inject-error]\nevent = "read_aio"\niotype = "xx"\n' > bad4.cfg
printf '[inject-error]\nevent read_aio\n' > bad5.cfg
printf '[inject-error]\nfoo = "1"\n' > bad6.cfg
printf '[inject-error]\nerrno = "5"\n' > bad7.cfg
printf '[inject-error "1x"]\nevent = "none"\n' > bad8.cfg
for c in bad1 bad2 bad3 bad4 bad5 bad6 bad7 bad8 missing; do
    img info -f raw "blkdebug:$c.cfg:a.raw"
done
img info -f raw blkdebug:a.raw
img info -f raw blkdebug:
img create -f raw blkdebug:r.cfg:c.raw 1M

echo "== names"
img info -f raw blkdebug:r.cfg:a.raw
img info --output=json -f raw blkdebug::a.raw
img info --image-opts \
    driver=raw,file.driver=blkdebug,file.config=r.cfg,file.image.filename=a.raw
img info --image-opts \
    driver=raw,file.driver=blkdebug,file.align=4096,file.image.filename=a.raw
img info --output=json 'json:{"driver": "raw", "file": {"driver": "blkdebug",
    "inject-error": [{"event": "read_aio", "sector": "8"}],
    "image": {"driver": "file", "filename": "a.raw"}}}'

echo "== option errors"
bd=driver=raw,file.driver=blkdebug
img info --image-opts $bd
img info --image-opts $bd,file.image=a.raw
img info --image-opts $bd,file.bogus=1,file.image.filename=a.raw
img info --image-opts $bd,file.align=3000,file.image.filename=a.raw
img info --image-opts \
    $bd,file.inject-error.1.event=read_aio,file.image.filename=a.raw
img info --image-opts \
    $bd,file.inject-error.0.foo=read_aio,file.image.filename=a.raw
img info --image-opts \
    $bd,file.inject-error.0=read_aio,file.image.filename=a.raw

echo "== convert, compare, dd"
img convert -f raw -O raw blkdebug:r.cfg:a.raw o.raw
img convert -f raw -O raw -n a.raw blkdebug:w.cfg:b.raw
img convert -f raw -O raw -n -W -m 4 a.raw blkdebug:w.cfg:b.raw
img convert -f raw -O raw blkdebug:bs.cfg:a.raw o.raw
img compare -f raw -F raw blkdebug:r.cfg:a.raw b.raw
img compare -f raw -F raw a.raw blkdebug:r.cfg:b.raw
img compare -f raw -F raw blkdebug:bs.cfg:a.raw b.raw
img compare -f raw -F raw blkdebug:s8.cfg:a.raw b.raw
img dd -f raw -O raw if=blkdebug:r.cfg:a.raw of=o2.raw
img check -f raw blkdebug:r.cfg:a.raw
# Errors deep in the image: the messages name the chunk's first byte.
rule r1000.cfg read_aio sector 1000
rule r1000i.cfg read_aio sector 1000 immediately on once on
rule w1500.cfg write_aio sector 1500 errno 28
cp a.raw b.raw
img convert -f raw -O raw -m 1 blkdebug:r1000.cfg:a.raw o.raw
img convert -f raw -O raw -n -S 0 a.raw blkdebug:w1500.cfg:b.raw
img compare -f raw -F raw blkdebug:r1000i.cfg:a.raw a.raw
img dd -f raw -O raw bs=64k if=blkdebug:r1000.cfg:a.raw of=o3.raw
img bench -f raw -c 1000 -s 512 blkdebug:r1000.cfg:a.raw |
    grep -v '^Run completed'
cp a.raw b.raw

echo "== map and bench"
img map -f raw blkdebug:bs.cfg:a.raw
img map --output=json -f raw blkdebug:bs.cfg:a.raw
img bench -f raw -c 4 blkdebug:r.cfg:a.raw | grep -v '^Run completed'
img bench -w -f raw -c 4 blkdebug:w.cfg:b.raw | grep -v '^Run completed'

echo "== once, sector, state"
qio -f raw -c 'read 0 4096' -c 'read 4096 512' -c 'read 3584 1024' \
    -c 'read 4608 512' blkdebug:s8.cfg:a.raw
qio -f raw -c 'read 4096 512' -c 'write 0 512' -c 'read 0 512' \
    -c 'read 4096 512' -c 'read 4096 512' blkdebug:state.cfg:b.raw
qio -c 'read 0 4096' --image-opts \
    $bd,file.inject-error.0.event=read_aio,file.inject-error.0.errno=28,file.image.filename=a.raw
qio -c 'read 0 4096' --image-opts \
    $bd,file.inject-error.0.event=read_aio,file.inject-error.0.errno=0,file.image.filename=a.raw

echo "== write, zero write, discard events over an aligned node"
for ev in pwritev pwritev_zero pwritev_done pwritev_rmw_head \
          pwritev_rmw_after_tail write_aio none; do
    for it in write write-zeroes discard flush; do
        echo "-- $ev $it"
        cp a.raw b.raw
        qio -c 'write 0 512' -c 'write -z 4096 4096' -c 'write 513 100' \
            -c 'write 8000 3000' -c 'discard 0 4096' -c 'write -z 0 1000' \
            -c 'read 0 512' -c flush --image-opts \
            $bd,file.align=4096,file.inject-error.0.event=$ev,file.inject-error.0.iotype=$it,file.image.filename=b.raw |
            grep -v ' ops; '
    done
done

echo "== flush events"
for spec in 'flush_to_disk flush' 'flush_to_os flush' 'write_aio flush' \
            'flush_to_disk write'; do
    set -- $spec
    rule f.cfg $1 iotype $2
    for t in writethrough writeback; do
        echo "-- $spec $t"
        qio -f raw -t $t -c 'write 0 512' -c 'write 0 512' -c flush \
            -c 'write 0 512' -c flush -c flush blkdebug:f.cfg:b.raw |
            grep -v ' ops; '
    done
done
# Nothing written: a flush has nothing to make durable.
rule f.cfg flush_to_disk iotype flush
qio -f raw -c flush -c 'write 0 512' blkdebug:f.cfg:b.raw | grep -v ' ops; '
