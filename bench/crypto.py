"""The ``crypto`` benchmark suite: Bulletproofs range proofs.

Cases (64-bit values, per backend):

``range_1x64``       prove_ms, verify_ms, size_bytes of one proof for 1 value
``range_16x64``      the same for one aggregated proof of 16 values
``batch_100x16x64``  verify_ms of :func:`verifier.rangeproof.batch_verify`
                     over 100 proofs of 16 values each (timed from the
                     transcripts' creation to the batch's verdict)

Statements and witnesses come from fixed seeds (reproducible; not secret),
so proof *encodings* are backend-neutral: every proof made in a run (the
timed ones included) joins a run-wide pool of encodings, and each backend
decodes the pool into its own points.  The batch case's missing proofs are
built once per run, untimed (in worker processes when there are many).  In
full mode the batch holds 100 distinct proofs; ``--quick`` builds only a
few distinct ones and repeats them to fill the 100 slots (the verifier's
work per slot is the same; the JSON row says how many were distinct).
Every measured verification must succeed -- a rejected proof aborts the
benchmark.
"""
from __future__ import annotations

import multiprocessing
import os
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from typing import TYPE_CHECKING

from . import BenchContext, BenchError, case, median_ms

if TYPE_CHECKING:  # imported where used, so `import bench.crypto` stays cheap
    from zkp.rangeproof import RangeProof

N_BITS = 64
LABEL = b"zkclear.bench/range"
BATCH_SIZE = 100
BATCH_M = 16
#: Distinct proofs in the batch case (full mode, --quick).
BATCH_DISTINCT = (BATCH_SIZE, 4)
#: Build the batch's proofs in worker processes from this many missing proofs on.
PARALLEL_FROM = 8


@dataclass(frozen=True)
class RangeInstance:
    """One range proof with its public statement."""

    m: int
    index: int
    commitments: tuple
    proof: RangeProof


def _witness(m: int, index: int):
    from zkp.field import SeededRng, random_scalar

    rng = SeededRng(f"bench/range/{m}/{index}")
    values = [rng.randbelow(1 << N_BITS) for _ in range(m)]
    blindings = [random_scalar(rng) for _ in range(m)]
    return values, blindings, rng


def _transcript(m: int, index: int):
    from zkp.transcript import Transcript

    t = Transcript(LABEL)
    t.append_u64(b"m", m)
    t.append_u64(b"index", index)
    return t


def _statement(gens, m: int, index: int):
    values, blindings, rng = _witness(m, index)
    return tuple(gens.commit(v, b) for v, b in zip(values, blindings)), values, blindings, rng


def _prove(gens, m: int, index: int) -> RangeInstance:
    from prover.rangeproof import prove_range

    commitments, values, blindings, rng = _statement(gens, m, index)
    proof = prove_range(_transcript(m, index), values, blindings, N_BITS, gens=gens, rng=rng)
    return RangeInstance(m, index, commitments, proof)


def _verify(gens, inst: RangeInstance) -> None:
    from verifier.rangeproof import verify_range
    from zkp.errors import VerificationError

    try:
        verify_range(_transcript(inst.m, inst.index), list(inst.commitments), inst.proof, N_BITS, gens=gens)
    except VerificationError:
        raise BenchError(f"range proof {inst.m}x{N_BITS} #{inst.index} did not verify") from None


def _warm(ctx: BenchContext, m: int) -> None:
    """Materialise the generator vectors (hash-to-curve) outside the timings."""
    from zkp.rangeproof import padded_m

    size = N_BITS * padded_m(m)
    ctx.gens.G_vec(size)
    ctx.gens.H_vec(size)


def _pool(ctx: BenchContext, m: int) -> dict:
    """index -> proof encoding: every proof of m values built in this run
    (on any backend)."""
    return ctx.shared_fixture(("range-proof-bytes", m), dict)


def _decoded(ctx: BenchContext, m: int, index: int) -> RangeInstance:
    """Proof ``index`` of the pool as an instance on ctx's backend (cached)."""
    from zkp.rangeproof import RangeProof

    cache = ctx.fixture(("range-instances", m), dict)
    inst = cache.get(index)
    if inst is None:
        data = _pool(ctx, m)[index]
        commitments = _statement(ctx.gens, m, index)[0]
        proof = RangeProof.from_bytes(data, N_BITS, m, backend=ctx.gens.backend)
        inst = cache[index] = RangeInstance(m, index, commitments, proof)
    return inst


def _add(ctx: BenchContext, inst: RangeInstance) -> None:
    _pool(ctx, inst.m)[inst.index] = inst.proof.to_bytes()
    ctx.fixture(("range-instances", inst.m), dict)[inst.index] = inst


def _range_case(ctx: BenchContext, m: int, prove_reps: int, verify_reps: int) -> dict:
    _warm(ctx, m)
    pool = _pool(ctx, m)
    next_index = max(pool, default=-1) + 1
    if not ctx.quick:  # untimed warm-up prove (lazy tables in the prover)
        _add(ctx, _prove(ctx.gens, m, next_index))
        next_index += 1
    indices = iter(range(next_index, next_index + prove_reps))
    prove_ms, made = median_ms(lambda: _prove(ctx.gens, m, next(indices)), prove_reps)
    for inst in made:
        _add(ctx, inst)
    target = made[0]
    _verify(ctx.gens, target)  # untimed warm-up and correctness check
    verify_ms, _ = median_ms(lambda: _verify(ctx.gens, target), verify_reps)
    return {
        "prove_ms": prove_ms,
        "verify_ms": verify_ms,
        "size_bytes": len(target.proof.to_bytes()),
        "n": N_BITS,
        "m": m,
        "prove_reps": prove_reps,
        "verify_reps": verify_reps,
    }


@case("range_1x64", order=10)
def range_1x64(ctx: BenchContext) -> dict:
    """One 64-bit range proof: prove, verify, size."""
    return _range_case(ctx, 1, ctx.reps(7, 3), ctx.reps(15, 5))


@case("range_16x64", order=20)
def range_16x64(ctx: BenchContext) -> dict:
    """One aggregated range proof of 16 values of 64 bits: prove, verify, size."""
    return _range_case(ctx, 16, ctx.reps(3, 1), ctx.reps(7, 3))


# -- batch ---------------------------------------------------------------------------

def _proof_bytes_worker(job: tuple) -> tuple[int, bytes]:
    """Worker-process entry: build proof ``index`` on ``backend``; return its encoding."""
    from zkp.generators import generators
    from zkp.group import set_backend

    backend, m, index = job
    inst = _prove(generators(set_backend(backend)), m, index)
    return index, inst.proof.to_bytes()


def _build_parallel(ctx: BenchContext, m: int, indices: list[int]) -> dict:
    """index -> encoding of proofs built in worker processes."""
    methods = multiprocessing.get_all_start_methods()
    mp = multiprocessing.get_context("fork" if "fork" in methods else None)
    try:
        cores = len(os.sched_getaffinity(0))
    except (AttributeError, OSError):
        cores = os.cpu_count() or 1
    with ProcessPoolExecutor(max_workers=max(1, min(len(indices), cores)), mp_context=mp) as ex:
        return dict(ex.map(_proof_bytes_worker, [(ctx.backend, m, i) for i in indices]))


def _batch_instances(ctx: BenchContext, m: int, distinct: int) -> list[RangeInstance]:
    _warm(ctx, m)
    pool = _pool(ctx, m)
    missing = distinct - len(pool)
    if missing > 0:
        start = max(pool, default=-1) + 1
        indices = list(range(start, start + missing))
        ctx.log(f"building {missing} proofs of {m}x{N_BITS} for the batch (untimed)")
        if missing >= PARALLEL_FROM and (os.cpu_count() or 1) > 1:
            pool.update(_build_parallel(ctx, m, indices))
        else:
            for i in indices:
                _add(ctx, _prove(ctx.gens, m, i))
    return [_decoded(ctx, m, i) for i in sorted(pool)[:distinct]]


@case("batch_100x16x64", order=40)
def batch_100x16x64(ctx: BenchContext) -> dict:
    """batch_verify of 100 aggregated proofs (16 values of 64 bits each)."""
    from verifier.rangeproof import BatchVerificationError, RangeCheck, batch_verify

    distinct = BATCH_DISTINCT[1] if ctx.quick else BATCH_DISTINCT[0]
    instances = _batch_instances(ctx, BATCH_M, distinct)
    slots = [instances[i % len(instances)] for i in range(BATCH_SIZE)]

    def once() -> None:
        checks = [RangeCheck(_transcript(inst.m, inst.index), list(inst.commitments), inst.proof, N_BITS)
                  for inst in slots]
        try:
            batch_verify(checks, gens=ctx.gens)
        except BatchVerificationError as exc:
            raise BenchError(f"batch verification rejected proofs {exc.failed}") from None

    once()  # untimed warm-up and correctness check
    reps = ctx.reps(3, 1)
    verify_ms, _ = median_ms(once, reps)
    row: dict[str, object] = {
        "verify_ms": verify_ms,
        "proofs": BATCH_SIZE,
        "distinct_proofs": len(instances),
        "n": N_BITS,
        "m": BATCH_M,
        "verify_reps": reps,
    }
    if len(instances) < BATCH_SIZE:
        row["note"] = f"{len(instances)} distinct proofs repeated to fill {BATCH_SIZE} slots (--quick)"
    return row


__all__ = ["range_1x64", "range_16x64", "batch_100x16x64", "RangeInstance", "N_BITS", "LABEL"]
