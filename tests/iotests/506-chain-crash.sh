#!/usr/bin/env bash
# Crash safety of the chain operations: commit, safe rebase and convert -B
# are killed (SIGKILL) at many points; then the reference's check must find
# no corruption in any image of the chain (leaks are allowed), and every
# sector of every image must read either as before or as after the
# operation. Kill points are spread over the run time of each operation
# on this machine, so what is printed does not depend on where they fall.
#
# Commit runs on both sides with the image under test. Safe rebase and
# convert -B run our qemu-img on both sides: the reference changes the
# backing file name before its copies are written (rebase) and creates the
# target before it names its backing file (convert -B), so it fails this.
#
# Commit without -d also empties the top (qcow2 rewrites it as a fresh
# image): the top's view is the same before and after.
. "$(dirname "$0")/common.rc"
_require_ref
_require_format qcow2
. "$(dirname "$0")/common.crash.rc"

OURS=${QEMU_IMG_PROG:-$QEMU_IMG}
POINTS=8

# made IMG: IMG exists and starts with the qcow2 magic; before that, a
# killed convert has not made its target yet and there is nothing to check.
made() {
    [ "$(head -c 4 "$1" 2>/dev/null | od -An -tx1 | tr -d ' ')" = 514649fb ]
}

# crash_loop NAME CMD IMG...: a full run of CMD on fresh copies gives the
# NEW views (new.IMG.raw) and its duration; then POINTS runs killed from 5%
# to 100% of that duration, each checked against tpl/old.IMG.raw and the
# new view.
crash_loop() {
    local name=$1 cmd=$2 bad=0 i t start end dur img
    shift 2
    fresh
    start=$(date +%s%N)
    eval "$cmd" >/dev/null 2>&1 || echo "$name: full run failed"
    end=$(date +%s%N)
    dur=$(( (end - start) / 1000 ))
    for img in "$@"; do
        "$REF_QEMU_IMG" convert -O raw "$img" "new.$img.raw"
    done
    for i in $(seq 1 $POINTS); do
        fresh
        t=$(( dur * (i * 95 / POINTS + 5) / 100 ))
        eval "$cmd" >/dev/null 2>&1 &
        sleep "$(printf '%d.%06d' $((t / 1000000)) $((t % 1000000)))"
        kill -9 $! 2>/dev/null
        wait $! 2>/dev/null
        for img in "$@"; do
            made "$img" || continue
            verdict "$img" || bad=$((bad + 1))
            old_or_new "$img" "tpl/old.$img.raw" "new.$img.raw" 2>&1 ||
                { echo "$name: $img after kill point $i"; bad=$((bad + 1)); }
        done
    done
    echo "$name: $POINTS kill points, $bad inconsistent"
}

# A 16 MiB base with data, a middle layer and a top with scattered writes
# (16 KiB clusters), plus another base; made once in tpl/ with the
# reference, with the old views, and copied for every run.
make_templates() {
    mkdir -p tpl
    (
        cd tpl || exit 1
        "$REF_QEMU_IMG" create -q -f qcow2 base.qcow2 16M
        "$REF_QEMU_IO" -c 'write -P 1 0 10M' base.qcow2 >/dev/null
        "$REF_QEMU_IMG" create -q -f qcow2 -b base.qcow2 -F qcow2 mid.qcow2
        "$REF_QEMU_IO" -c 'write -P 2 4M 2M' mid.qcow2 >/dev/null
        "$REF_QEMU_IMG" create -q -f qcow2 -o cluster_size=16k \
            -b mid.qcow2 -F qcow2 top.qcow2
        python3 -c '
import random
r = random.Random(5)
for i in range(150):
    print("write -P %d %d %d" % (r.randrange(3, 250),
          r.randrange(0, 15 << 20) & ~511, r.choice([4096, 20480, 65536])))
' > top.cmds
        "$REF_QEMU_IO" top.qcow2 < top.cmds >/dev/null
        "$REF_QEMU_IMG" create -q -f qcow2 other.qcow2 16M
        "$REF_QEMU_IO" -c 'write -P 1 0 10M' -c 'write -P 7 11M 4M' \
            other.qcow2 >/dev/null
        for img in top.qcow2 mid.qcow2 base.qcow2; do
            "$REF_QEMU_IMG" convert -O raw "$img" "old.$img.raw"
        done
        # Before the target names its backing file, it has no view:
        # once it does, it reads as that backing file.
        cp old.mid.qcow2.raw old.out.qcow2.raw
    )
}

fresh() {
    rm -f base.qcow2 mid.qcow2 top.qcow2 other.qcow2 out.qcow2
    cp tpl/base.qcow2 tpl/mid.qcow2 tpl/top.qcow2 tpl/other.qcow2 .
}

make_templates
# The images a commit writes, and the top, whose view must not change.
crash_loop "commit -d" '"$QEMU_IMG" commit -r 25M -d top.qcow2' \
    top.qcow2 mid.qcow2
crash_loop "commit" '"$QEMU_IMG" commit -r 25M top.qcow2' \
    top.qcow2 mid.qcow2
crash_loop "commit -b" '"$QEMU_IMG" commit -r 25M -b base.qcow2 top.qcow2' \
    top.qcow2 base.qcow2
crash_loop "rebase onto other" \
    '"$OURS" rebase -b other.qcow2 -F qcow2 top.qcow2' top.qcow2
crash_loop "rebase onto base" \
    '"$OURS" rebase -b base.qcow2 -F qcow2 top.qcow2' top.qcow2
crash_loop "rebase flatten" '"$OURS" rebase -b "" top.qcow2' top.qcow2
crash_loop "convert -B" \
    '"$OURS" convert -O qcow2 -B mid.qcow2 -F qcow2 top.qcow2 out.qcow2' \
    out.qcow2
