#!/usr/bin/env python3
"""Pokes at qcow2 metadata to make damaged images for the CLI tests.
usage: qcow2-poke.py IMG cmd args
  header                       print header fields
  setrc CLUSTER VALUE          set refcount of host cluster index
  getrc CLUSTER
  l1 IDX / setl1 IDX VAL
  l2 L1IDX L2IDX / setl2 L1IDX L2IDX VAL
"""
import struct, sys

def hdr(f):
    f.seek(0)
    d = f.read(104)
    (magic, ver, bfo, bfs, cb, size, cm, l1sz, l1o, rto, rtc, nsn, sno) = struct.unpack('>IIQIIQIIQQIIQ', d[:72])
    rorder = struct.unpack('>I', d[96:100])[0] if ver >= 3 else 4
    return dict(version=ver, cluster_bits=cb, size=size, l1_size=l1sz, l1_offset=l1o,
                rt_offset=rto, rt_clusters=rtc, nb_snapshots=nsn, refcount_order=rorder)

def rc_loc(f, h, cl):
    cs = 1 << h['cluster_bits']
    bits = 1 << h['refcount_order']
    per_block = cs * 8 // bits
    rti = cl // per_block
    f.seek(h['rt_offset'] + rti * 8)
    rb = struct.unpack('>Q', f.read(8))[0] & ~0x1ff
    return rb + (cl % per_block) * bits // 8, bits

def main():
    img, cmd, args = sys.argv[1], sys.argv[2], [int(a, 0) for a in sys.argv[3:]]
    with open(img, 'r+b') as f:
        h = hdr(f)
        if cmd == 'header':
            for k, v in h.items(): print(k, v)
        elif cmd in ('setrc', 'getrc'):
            off, bits = rc_loc(f, h, args[0])
            assert bits == 16
            if cmd == 'setrc':
                f.seek(off); f.write(struct.pack('>H', args[1]))
            else:
                f.seek(off); print(struct.unpack('>H', f.read(2))[0])
        elif cmd in ('l1', 'setl1'):
            f.seek(h['l1_offset'] + args[0] * 8)
            if cmd == 'l1': print(hex(struct.unpack('>Q', f.read(8))[0]))
            else: f.write(struct.pack('>Q', args[1]))
        elif cmd in ('l2', 'setl2'):
            f.seek(h['l1_offset'] + args[0] * 8)
            l2 = struct.unpack('>Q', f.read(8))[0] & 0x00fffffffffffe00
            f.seek(l2 + args[1] * 8)
            if cmd == 'l2': print(hex(struct.unpack('>Q', f.read(8))[0]))
            else: f.write(struct.pack('>Q', args[2]))
main()
