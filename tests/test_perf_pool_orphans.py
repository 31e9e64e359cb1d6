"""The proving pool's workers leave when the process that owns the pool dies
without shutting it down (kill -9 of a prover service): no orphan remains."""
import subprocess
import sys
import time


def _alive(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().rsplit(")", 1)[1].split()[0] != "Z"
    except OSError:
        return False


def test_workers_exit_when_the_owner_dies_without_cleanup(tmp_path):
    code = (
        "import os, sys\n"
        "from prover.pool import ProverPool, _ping\n"
        "pool = ProverPool(2)\n"
        "pool.start()\n"
        "pids = sorted(set(pool._pool().map(_ping, range(16), chunksize=1)))\n"
        "print(' '.join(map(str, pids)), flush=True)\n"
        "os._exit(0)\n"
    )
    out = tmp_path / "pids.txt"
    with open(out, "w") as f:
        p = subprocess.Popen([sys.executable, "-c", code], stdout=f, stderr=subprocess.DEVNULL)
        assert p.wait(timeout=120) == 0
    p_stdout = out.read_text()
    workers = [int(x) for x in p_stdout.split()]
    assert workers, "the pool started no worker"
    deadline = time.monotonic() + 15
    while time.monotonic() < deadline and any(_alive(w) for w in workers):
        time.sleep(0.2)
    assert not [w for w in workers if _alive(w)], "pool workers outlived their owner"
