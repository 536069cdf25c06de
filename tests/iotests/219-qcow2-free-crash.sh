#!/usr/bin/env bash
# Crash safety of freeing clusters: qemu-io overwriting compressed clusters
# and discarding (with the discards passed through to the file), and
# qemu-img snapshot -d, are killed (SIGKILL) at many points. The freed
# clusters may be discarded in the file only after the L2 entries and
# tables that stopped pointing at them are written: otherwise a kill in
# between leaves entries pointing at holes, which read as zeroes (or fail
# to decompress). After each kill the reference's check must find no
# corruption (leaks are allowed) and every sector must read either as
# before or as after the run (each sector is written at most once). Kill
# points are spread over the run time on this machine, so what is printed
# does not depend on where they fall.
. "$(dirname "$0")/common.rc"
_require_ref
_require_format qcow2
. "$(dirname "$0")/common.crash.rc"

POINTS=10

# crash_loop NAME CMD: a full run of CMD on a fresh copy of tpl/img.qcow2
# gives the new view and the duration; then POINTS runs killed from 5% to
# 100% of it, each checked against the template's view and the new one.
crash_loop() {
    local name=$1 cmd=$2 bad=0 i t start end dur
    cp tpl/img.qcow2 img.qcow2
    start=$(date +%s%N)
    eval "$cmd" >/dev/null 2>&1 || echo "$name: full run failed"
    end=$(date +%s%N)
    dur=$(( (end - start) / 1000 ))
    "$REF_QEMU_IMG" check img.qcow2 >/dev/null || echo "$name: full run bad"
    "$REF_QEMU_IMG" convert -O raw img.qcow2 new.raw
    for i in $(seq 1 $POINTS); do
        cp tpl/img.qcow2 img.qcow2
        t=$(( dur * (i * 95 / POINTS + 5) / 100 ))
        eval "$cmd" >/dev/null 2>&1 &
        sleep "$(printf '%d.%06d' $((t / 1000000)) $((t % 1000000)))"
        kill -9 $! 2>/dev/null
        wait $! 2>/dev/null
        verdict img.qcow2 || bad=$((bad + 1))
        old_or_new img.qcow2 tpl/old.raw new.raw 2>&1 ||
            { echo "$name: after kill point $i"; bad=$((bad + 1)); }
    done
    echo "$name: $POINTS kill points, $bad inconsistent"
}

# 32 MiB, 64 KiB clusters: the first half compressed (half random, half
# zero clusters, so that two share a host cluster), the second half plain.
mkdir -p tpl
python3 - tpl/data.raw <<'PY'
import random, sys
r = random.Random(7)
with open(sys.argv[1], 'wb') as f:
    for i in range(512):
        f.write(r.randbytes(32768) + bytes([i % 251 + 1]) * 32768)
PY
"$REF_QEMU_IMG" convert -c -O qcow2 tpl/data.raw tpl/img.qcow2
"$REF_QEMU_IO" -c 'write -P 2 16M 16M' tpl/img.qcow2 >/dev/null
"$REF_QEMU_IMG" convert -O raw tpl/img.qcow2 tpl/old.raw

# Writeback caching (qemu-io's default flushes after every request). Then
# overwrites of every compressed cluster (in 4 KiB steps over the first
# quarter, whole clusters after), discards of every other plain cluster.
python3 > tpl/io.args <<'PY'
cmds = []
for i in range(256):
    if i < 64:
        cmds += ["write -P %d %d 4096" % (i % 200 + 3, (i << 16) + k * 4096)
                 for k in range(16)]
    else:
        cmds.append("write -P %d %d 65536" % (i % 200 + 3, i << 16))
    if i % 2 == 0:
        cmds.append("discard %d 65536" % ((256 + i) << 16))
print("\0".join(a for c in cmds for a in ("-c", c)), end="")
PY
OPTS=driver=qcow2,pass-discard-other=on,pass-discard-request=on
crash_loop "overwrite and discard" 'xargs -0 -a tpl/io.args "$QEMU_IO" \
    -t writeback -d unmap --image-opts "$OPTS,file.filename=img.qcow2"'
# A snapshot whose clusters the active layer no longer uses: deleting it
# frees them. The active layer's view must not change.
"$REF_QEMU_IMG" snapshot -c s1 tpl/img.qcow2
"$REF_QEMU_IO" -c 'write -P 9 0 32M' tpl/img.qcow2 >/dev/null
"$REF_QEMU_IMG" convert -O raw tpl/img.qcow2 tpl/old.raw
crash_loop "snapshot -d" '"$QEMU_IMG" snapshot -d s1 img.qcow2'
