"""qcow2 rows of bench/run (issue: qcow2 driver).

bench/run imports this module and calls workloads(lib), lib being bench/run
itself (Workload, remove(), prepare_mixed() and the other shared inputs).

Every input is made once by the reference binary, so that both binaries
work on the same bytes, and reused while its stamp matches:

- mixed.qcow2: lib's mixed raw image converted to qcow2 (64 KiB clusters),
  the source of the qcow2->raw and qcow2->qcow2 converts.
- alloc64k.qcow2, alloc4k.qcow2: 2 GiB (quick: 256 MiB) of guest data
  written as 64 KiB requests in a seeded random order, in 64 KiB and 4 KiB
  clusters: every cluster allocated, host order unlike guest order, as an
  image a guest has been writing to for a while looks. check reads all of
  their metadata; map of the 4 KiB one prints one extent per request.
- bench.qcow2: lib's fully written raw bench file converted to qcow2, for
  the 4 KiB request benchmarks (every cluster allocated, so reads and
  writes hit data, not allocation).
"""

import os
import random
import subprocess

REF = os.environ.get('REF_QEMU_IMG_PROG', '/usr/bin/qemu-img')
REF_IO = os.environ.get('REF_QEMU_IO_PROG',
                        os.path.join(os.path.dirname(REF), 'qemu-io'))

ALLOC_SIZE = 2 << 30
ALLOC_SIZE_QUICK = 256 << 20
ALLOC_CHUNK = 64 << 10

BENCH_COUNT = {'read': 200000, 'write': 200000}

CLEANUP = ['mixed.qcow2', 'mixed.qcow2.stamp',
           'alloc64k.qcow2', 'alloc64k.qcow2.stamp',
           'alloc4k.qcow2', 'alloc4k.qcow2.stamp',
           'bench.qcow2', 'bench.qcow2.stamp', 'out.qcow2', 'out.raw']


def _path(d, name):
    return os.path.join(d, name)


def _fresh(path, want):
    """True if path exists and its stamp says it was made as want."""
    stamp = path + '.stamp'
    if not (os.path.exists(path) and os.path.exists(stamp)):
        return False
    with open(stamp) as f:
        return f.read() == want


def _stamp(path, want):
    with open(path + '.stamp', 'w') as f:
        f.write(want)


def _run(argv, stdin=None):
    p = subprocess.run(argv, input=stdin, stdout=subprocess.DEVNULL,
                       stderr=subprocess.PIPE)
    if p.returncode != 0:
        raise RuntimeError('%s failed (exit %d): %s' % (
            ' '.join(argv), p.returncode,
            p.stderr.decode(errors='replace').strip()))


def _convert_input(lib, src_path, prepare_src, name, tag):
    """prepare(d, quick) converting one of lib's raw inputs to qcow2."""
    def prepare(d, quick):
        prepare_src(d, quick)
        src = src_path(d)
        path = _path(d, name)
        st = os.stat(src)
        want = '%s %d %d\n' % (tag, st.st_size, st.st_mtime_ns)
        if _fresh(path, want):
            return
        _run([REF, 'convert', '-f', 'raw', '-O', 'qcow2', src, path])
        _stamp(path, want)
    return prepare


def _alloc_input(name, cluster_size):
    """prepare(d, quick) for an image whose every cluster is allocated, in
    the random order of 64 KiB writes (made by the reference's qemu-io)."""
    def prepare(d, quick):
        size = ALLOC_SIZE_QUICK if quick else ALLOC_SIZE
        path = _path(d, name)
        want = 'alloc v1 %d %d\n' % (size, cluster_size)
        if _fresh(path, want):
            return
        _run([REF, 'create', '-f', 'qcow2', '-o',
              'cluster_size=%d' % cluster_size, path, str(size)])
        offsets = list(range(0, size, ALLOC_CHUNK))
        random.Random(20241122).shuffle(offsets)
        script = ''.join('write -q -P %d %d %d\n' % (i % 251 + 1, off,
                                                     ALLOC_CHUNK)
                         for i, off in enumerate(offsets))
        _run([REF_IO, '-f', 'qcow2', path], stdin=script.encode())
        _stamp(path, want)
    return prepare


def workloads(lib):
    mixed = lib._mixed_path
    prep_mixed_qcow2 = _convert_input(lib, mixed, lib.prepare_mixed,
                                      'mixed.qcow2', 'mixed.qcow2 v1')
    prep_bench_qcow2 = _convert_input(lib, lib._bench_path,
                                      lib.prepare_bench_file,
                                      'bench.qcow2', 'bench.qcow2 v1')
    out_qcow2 = lib.remove('out.qcow2')
    out_raw = lib.remove('out.raw')

    def convert(src_fmt, src, dst_fmt, dst, extra=()):
        def cmd(prog, d, quick=False):
            return ([prog, 'convert', '-f', src_fmt, '-O', dst_fmt] +
                    list(extra) + [src(d), _path(d, dst)])
        return cmd

    def mixed_qcow2(d):
        return _path(d, 'mixed.qcow2')

    rows = [
        lib.Workload('convert raw->qcow2 2G mixed',
                     convert('raw', mixed, 'qcow2', 'out.qcow2'),
                     prepare=lib.prepare_mixed, before=out_qcow2,
                     after=out_qcow2, target=1.0),
        lib.Workload('convert qcow2->raw 2G mixed',
                     convert('qcow2', mixed_qcow2, 'raw', 'out.raw'),
                     prepare=prep_mixed_qcow2, before=out_raw,
                     after=out_raw, target=1.0),
        lib.Workload('convert raw->qcow2 -c zlib 2G mixed',
                     convert('raw', mixed, 'qcow2', 'out.qcow2', ['-c']),
                     prepare=lib.prepare_mixed, before=out_qcow2,
                     after=out_qcow2, target=1.5),
        lib.Workload('convert raw->qcow2 -c zstd 2G mixed',
                     convert('raw', mixed, 'qcow2', 'out.qcow2',
                             ['-c', '-o', 'compression_type=zstd']),
                     prepare=lib.prepare_mixed, before=out_qcow2,
                     after=out_qcow2, target=1.5),
        lib.Workload('convert qcow2->qcow2 2G mixed',
                     convert('qcow2', mixed_qcow2, 'qcow2', 'out.qcow2'),
                     prepare=prep_mixed_qcow2, before=out_qcow2,
                     after=out_qcow2, target=1.0),
    ]

    for cs, name in ((64 << 10, 'alloc64k.qcow2'), (4 << 10,
                                                    'alloc4k.qcow2')):
        def check_cmd(prog, d, quick=False, name=name):
            return [prog, 'check', '-f', 'qcow2', _path(d, name)]
        rows.append(lib.Workload(
            'check qcow2 %s allocated %d KiB clusters' % (
                '2G', cs >> 10), check_cmd,
            prepare=_alloc_input(name, cs), target=1.5))

    def map_cmd(prog, d, quick=False):
        return [prog, 'map', '-f', 'qcow2', '--output=json',
                _path(d, 'alloc4k.qcow2')]
    rows.append(lib.Workload('map --output=json qcow2 2G 4 KiB clusters',
                             map_cmd,
                             prepare=_alloc_input('alloc4k.qcow2', 4 << 10),
                             target=1.0))

    for rw in ('read', 'write'):
        def bench_cmd(prog, d, quick=False, rw=rw):
            count = BENCH_COUNT[rw] // (10 if quick else 1)
            argv = [prog, 'bench', '-f', 'qcow2', '-d', '64', '-s', '4k',
                    '-c', str(count)]
            if rw == 'write':
                argv += ['-w']
            return argv + [_path(d, 'bench.qcow2')]
        rows.append(lib.Workload('bench %s 4k d64 qcow2' % rw, bench_cmd,
                                 prepare=prep_bench_qcow2, timing='bench',
                                 target=1.0))
    return rows
