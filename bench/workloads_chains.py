"""Backing chain rows of bench/run (issue: backing chains end to end).

bench/run imports this module and calls workloads(lib), lib being bench/run
itself (Workload, remove()).

Every input is made once by the reference binaries (qemu-img, qemu-io), so
that both binaries work on the same bytes, and reused while its stamp
matches. Sizes are those of the full run; --quick divides them by 8.

- chain-base.qcow2: 2 GiB, 512 MiB of data written in 1 MiB pieces at
  shuffled offsets. Never modified: the old base of the rebase row, the
  bottom of the convert row, and copied to cmt-base.qcow2 for each commit.
- chain-mid.qcow2 <- chain-top.qcow2: two overlays above it with 100 MiB of
  scattered writes each (4 to 64 KiB, 4 KiB aligned): the 3-deep chain.
- cmt-top.pristine: an overlay of cmt-base.qcow2 with 200 MiB of scattered
  writes. Commit changes both images, so before() copies them back (and
  syncs them, so that no write-back of the copy lands in the timed run).
- rb-top.pristine: an overlay of chain-base.qcow2 with 100 MiB of scattered
  writes; rb-new.qcow2: chain-base.qcow2 with 64 MiB of scattered writes of
  its own, the new base. before() restores the overlay.
"""

import os
import random
import shutil
import subprocess

REF = os.environ.get('REF_QEMU_IMG_PROG', '/usr/bin/qemu-img')
REF_IO = os.environ.get('REF_QEMU_IO_PROG',
                        os.path.join(os.path.dirname(REF), 'qemu-io'))

MiB = 1 << 20
BASE_SIZE = 2048 * MiB
BASE_DATA = 512 * MiB
QUICK_DIV = 8

CLEANUP = ['chain-base.qcow2', 'chain-mid.qcow2', 'chain-top.qcow2',
           'cmt-base.qcow2', 'cmt-top.qcow2', 'cmt-top.pristine',
           'rb-top.qcow2', 'rb-top.pristine', 'rb-new.qcow2',
           'chain-out.qcow2', 'chains.stamp']


def _path(d, name):
    return os.path.join(d, name)


def _run(argv, stdin=None):
    p = subprocess.run(argv, input=stdin, stdout=subprocess.DEVNULL,
                       stderr=subprocess.PIPE)
    if p.returncode != 0:
        raise RuntimeError('%s failed (exit %d): %s' % (
            ' '.join(argv), p.returncode,
            p.stderr.decode(errors='replace').strip()))


def _write(path, script):
    _run([REF_IO, '-f', 'qcow2', path], stdin=script.encode())


def _scattered(seed, size, total):
    """qemu-io writes of 4 to 64 KiB at random 4 KiB aligned offsets,
    adding up to total bytes, each with its own pattern."""
    r = random.Random(seed)
    lines = []
    done = 0
    while done < total:
        n = r.choice((4, 8, 16, 32, 64)) << 10
        off = r.randrange(0, (size - n) >> 12) << 12
        lines.append('write -q -P %d %d %d\n' % (r.randrange(1, 255), off, n))
        done += n
    return ''.join(lines)


def _create(path, size=None, backing=None):
    argv = [REF, 'create', '-q', '-f', 'qcow2']
    if backing:
        argv += ['-b', backing, '-F', 'qcow2']
    argv.append(path)
    if size:
        argv.append(str(size))
    _run(argv)


def _copy(d, src, dst):
    """Copies src over dst (sparse, a reflink where the file system has
    them) and syncs dst."""
    _run(['cp', '--reflink=auto', '--sparse=always', _path(d, src),
          _path(d, dst)])
    fd = os.open(_path(d, dst), os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def prepare(d, quick):
    div = QUICK_DIV if quick else 1
    size, data = BASE_SIZE // div, BASE_DATA // div
    want = 'chains v1 %d %d\n' % (size, data)
    stamp = _path(d, 'chains.stamp')
    if os.path.exists(stamp):
        with open(stamp) as f:
            if f.read() == want:
                return
        os.unlink(stamp)
    cwd = os.getcwd()
    # Backing file names are stored relative, as operators write them.
    os.chdir(d)
    try:
        _create('chain-base.qcow2', size)
        offsets = list(range(0, size, MiB))
        random.Random(4001).shuffle(offsets)
        _write('chain-base.qcow2', ''.join(
            'write -q -P %d %d %d\n' % (i % 250 + 1, off, MiB)
            for i, off in enumerate(offsets[:data // MiB])))

        _create('chain-mid.qcow2', backing='chain-base.qcow2')
        _write('chain-mid.qcow2', _scattered(4002, size, 100 * MiB // div))
        _create('chain-top.qcow2', backing='chain-mid.qcow2')
        _write('chain-top.qcow2', _scattered(4003, size, 100 * MiB // div))

        shutil.copyfile('chain-base.qcow2', 'cmt-base.qcow2')
        _create('cmt-top.qcow2', backing='cmt-base.qcow2')
        _write('cmt-top.qcow2', _scattered(4004, size, 200 * MiB // div))
        os.replace('cmt-top.qcow2', 'cmt-top.pristine')

        _create('rb-top.qcow2', backing='chain-base.qcow2')
        _write('rb-top.qcow2', _scattered(4005, size, 100 * MiB // div))
        os.replace('rb-top.qcow2', 'rb-top.pristine')
        shutil.copyfile('chain-base.qcow2', 'rb-new.qcow2')
        _write('rb-new.qcow2', _scattered(4006, size, 64 * MiB // div))
    finally:
        os.chdir(cwd)
    with open(stamp, 'w') as f:
        f.write(want)


def before_commit(d):
    _copy(d, 'chain-base.qcow2', 'cmt-base.qcow2')
    _copy(d, 'cmt-top.pristine', 'cmt-top.qcow2')


def before_rebase(d):
    _copy(d, 'rb-top.pristine', 'rb-top.qcow2')


def commit_cmd(prog, d, quick=False):
    return [prog, 'commit', '-f', 'qcow2', _path(d, 'cmt-top.qcow2')]


def rebase_cmd(prog, d, quick=False):
    return [prog, 'rebase', '-f', 'qcow2', '-b', 'rb-new.qcow2', '-F',
            'qcow2', _path(d, 'rb-top.qcow2')]


def convert_cmd(prog, d, quick=False):
    return [prog, 'convert', '-f', 'qcow2', '-O', 'qcow2',
            _path(d, 'chain-top.qcow2'), _path(d, 'chain-out.qcow2')]


def workloads(lib):
    out = lib.remove('chain-out.qcow2')
    return [
        lib.Workload('chain: commit 200M scattered into 2G qcow2',
                     commit_cmd, prepare=prepare, before=before_commit,
                     target=1.25),
        lib.Workload('chain: safe rebase onto another 2G base', rebase_cmd,
                     prepare=prepare, before=before_rebase, target=1.25),
        lib.Workload('chain: convert 3-deep 2G chain to qcow2', convert_cmd,
                     prepare=prepare, before=out, after=out, target=1.25),
    ]
