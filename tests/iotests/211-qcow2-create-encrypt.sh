#!/usr/bin/env bash
# qcow2 create's encryption options are checked as the reference checks
# them (alias conflicts, formats, missing or unknown secrets), before any
# file is made. Valid requests are not compared: encryption is not
# implemented here yet (our create refuses them).
. "$(dirname "$0")/common.rc"
_require_format qcow2

for o in encrypt.format=foo encryption=off encryption=on \
         encryption=on,encrypt.format=luks \
         encryption=off,encrypt.format=luks encrypt.key-secret=s0 \
         encrypt.cipher-alg=aes-256 \
         encrypt.format=luks,encrypt.key-secret=nosuch \
         encrypt.format=aes,encrypt.key-secret=nosuch \
         encrypt.format=luks,compat=0.10; do
    echo "== -o $o"
    rm -f e.qcow2
    img create -q -f qcow2 -o $o e.qcow2 1M
    ls e.qcow2 2>/dev/null || echo "e.qcow2 not created"
done
