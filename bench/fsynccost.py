#!/usr/bin/env python3
"""What the disk under the queue allows: messages/s for mtad's per-message
commit pattern done serially (one event loop), and the same files made
durable in groups (group commit).  Each "message" is a 1 KiB df and a 500
byte qf, as mtad writes them.

usage: fsynccost.py DIR [MESSAGES] [BATCH]
  serial:  per message: create df, write, fsync; create tf, write, fsync,
           rename to qf, fsync the directory (mtad today: 3 fsyncs, 2 creates)
  group:   per batch of BATCH messages: create and write all dfs and tfs,
           fsync each (the first forces the journal commit that carries the
           others), rename all, fsync the directory once
  threads: the same, the fsyncs issued in parallel from 16 threads (jbd2
           merges concurrent commit requests into one journal commit)
  syncfs:  per batch: create and write all, one syncfs(), rename all,
           fsync the directory once (mtad's QueueSync=syncfs)
  srf:     per batch: create and write all, start the writeback of all
           (sync_file_range WRITE), fsync each, rename all, fsync the
           directory once (mtad's QueueSync=fsync)
A second line gives the syncfs pattern's steps (microseconds a batch:
create and write, syncfs, renames, directory fsync) and what one cache
flush costs alone (fdatasync of a file with nothing to write) and with
4 KiB to write.
"""
import ctypes
from concurrent.futures import ThreadPoolExecutor
import os
import shutil
import sys
import time

libc = ctypes.CDLL(None, use_errno=True)
DF = b"x" * 1022 + b"\r\n"
QF = b"V8\nT1700000000\nK0\nN0\nP31155\n" + b"H?x?X-Filler: yes\n" * 25 + b".\n"


def fresh(d):
    shutil.rmtree(d, ignore_errors=True)
    os.makedirs(d)


def create(path, data):
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    os.write(fd, data)
    return fd


def serial(d, n):
    dfd = os.open(d, os.O_RDONLY | os.O_DIRECTORY)
    t0 = time.perf_counter()
    for i in range(n):
        fd = create("%s/df%06d" % (d, i), DF); os.fsync(fd)
        tf = create("%s/tf%06d" % (d, i), QF); os.fsync(tf)
        os.rename("%s/tf%06d" % (d, i), "%s/qf%06d" % (d, i))
        os.fsync(dfd)
        os.close(fd); os.close(tf)
    el = time.perf_counter() - t0
    os.close(dfd)
    return n / el


POOL = ThreadPoolExecutor(max_workers=16)


STEPS = [0.0, 0.0, 0.0, 0.0]


def group(d, n, batch, use_syncfs):
    dfd = os.open(d, os.O_RDONLY | os.O_DIRECTORY)
    t0 = time.perf_counter()
    STEPS[:] = [0.0, 0.0, 0.0, 0.0]
    for b in range(0, n, batch):
        ids = range(b, min(n, b + batch))
        fds = []
        ta = time.perf_counter()
        for i in ids:
            fds.append(create("%s/df%06d" % (d, i), DF))
            fds.append(create("%s/tf%06d" % (d, i), QF))
        tb = time.perf_counter()
        if use_syncfs == "syncfs":
            libc.syncfs(dfd)
        elif use_syncfs == "srf":
            for fd in fds:
                libc.sync_file_range(fd, ctypes.c_int64(0), ctypes.c_int64(0), 2)
            for fd in fds:
                os.fsync(fd)
        elif use_syncfs == "threads":
            list(POOL.map(os.fsync, fds))
        else:
            for fd in fds:
                os.fsync(fd)
        tc = time.perf_counter()
        for i in ids:
            os.rename("%s/tf%06d" % (d, i), "%s/qf%06d" % (d, i))
        td = time.perf_counter()
        os.fsync(dfd)
        te = time.perf_counter()
        for k, dt in enumerate((tb - ta, tc - tb, td - tc, te - td)):
            STEPS[k] += dt
        for fd in fds:
            os.close(fd)
    el = time.perf_counter() - t0
    os.close(dfd)
    return n / el


def flush_cost(d, n):
    """microseconds a cache flush alone, and with 4 KiB written first"""
    fd = create("%s/flush" % d, b"x" * 4096)
    os.fsync(fd)
    t0 = time.perf_counter()
    for _ in range(n):
        os.fdatasync(fd)
    t1 = time.perf_counter()
    for _ in range(n):
        os.pwrite(fd, b"y" * 4096, 0)
        os.fdatasync(fd)
    t2 = time.perf_counter()
    os.close(fd)
    return (t1 - t0) / n * 1e6, (t2 - t1) / n * 1e6


def main():
    d = sys.argv[1]
    n = int(sys.argv[2]) if len(sys.argv) > 2 else 2000
    batch = int(sys.argv[3]) if len(sys.argv) > 3 else 20
    res = {}
    steps = None
    for name, fn in (("serial", lambda: serial(d, n)),
                     ("group", lambda: group(d, n, batch, "each")),
                     ("threads", lambda: group(d, n, batch, "threads")),
                     ("syncfs", lambda: group(d, n, batch, "syncfs")),
                     ("srf", lambda: group(d, n, batch, "srf"))):
        fresh(d)
        res[name] = fn()
        if name == "syncfs":
            nb = (n + batch - 1) // batch
            steps = [x / nb * 1e6 for x in STEPS]
    fresh(d)
    alone, written = flush_cost(d, n)
    shutil.rmtree(d, ignore_errors=True)
    print("serial %.0f msg/s; batch %d: fsync each in turn %.0f msg/s, fsyncs in parallel (16 threads) %.0f msg/s, one syncfs %.0f msg/s, writeback started on all then fsync each in turn %.0f msg/s"
          % (res["serial"], batch, res["group"], res["threads"], res["syncfs"], res["srf"]))
    print("syncfs steps a batch of %d: create and write %.0f us, syncfs %.0f us, renames %.0f us, directory fsync %.0f us; "
          "a cache flush alone %.0f us, with 4 KiB written %.0f us" % ((batch,) + tuple(steps) + (alone, written)))


if __name__ == "__main__":
    main()
