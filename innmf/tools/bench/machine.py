"""What machine a benchmark ran on, and the peak it is measured against (``innmf bench``).

Every record names the CPU by model *and* family/model/stepping (``/proc/cpuinfo``:
two machines sold under one name, e.g. "AMD EPYC", can be different cores), the BLAS
behind numpy and the kernels it chose, torch's thread count and the commit. The
roofline peak is measured in the same run: a kernel of independent fused
multiply-adds on vectors held in registers, on one core and on every core at once.
"""

from __future__ import annotations

import os
import platform
import subprocess
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path


def cpuinfo() -> dict[str, str]:
    """The first processor's fields of ``/proc/cpuinfo`` (empty where there is none)."""
    fields: dict[str, str] = {}
    try:
        with open("/proc/cpuinfo") as fh:
            for line in fh:
                if not line.strip():
                    break
                key, _, value = line.partition(":")
                fields[key.strip()] = value.strip()
    except OSError:
        pass
    return fields


def cpu_model() -> str:
    """The CPU's model name with its family, model and stepping, e.g. "AMD EPYC (family 25, model 1, stepping 1)".

    The name alone can hide the core: both a Zen 4 and a Zen 5 report "AMD EPYC" in
    some virtual machines; family/model tell them apart (AMD family 25 = Zen 3/4,
    26 = Zen 5).
    """
    info = cpuinfo()
    name = info.get("model name") or platform.processor() or platform.machine()
    ids = [f"{label} {info[key]}" for key, label in (("cpu family", "family"), ("model", "model"),
                                                      ("stepping", "stepping")) if key in info]
    return f"{name} ({', '.join(ids)})" if ids else name


def cpu_name() -> str:
    """The model name alone (older records carry only this, under ``cpu``)."""
    return cpuinfo().get("model name") or platform.processor() or platform.machine()


def blas_kernels() -> str:
    """The BLAS behind numpy (and scikit-learn) and the kernels it chose for this CPU.

    OpenBLAS picks its kernels by CPU model; one it does not know gets an older set
    (numpy's OpenBLAS runs AVX2 "Haswell" kernels on AMD Zen 5, which has AVX-512).
    """
    try:
        import numpy  # noqa: F401 - loads its BLAS, so that threadpoolctl sees it
        from threadpoolctl import threadpool_info

        infos = [i for i in threadpool_info() if i.get("user_api") == "blas"]
    except Exception:  # noqa: BLE001 - informative only
        return "unknown"
    return ", ".join(f"{i.get('internal_api')} {i.get('version')} ({i.get('architecture')})" for i in infos) or "none"


def commit() -> str:
    """The checkout's short commit, with ``+dirty`` when files differ from it ("unknown" outside git)."""
    root = Path(__file__).resolve().parents[3]
    try:
        head = subprocess.run(["git", "-C", str(root), "rev-parse", "--short", "HEAD"],
                              capture_output=True, text=True, timeout=10).stdout.strip()
        dirty = subprocess.run(["git", "-C", str(root), "status", "--porcelain", "--untracked-files=no", "innmf"],
                               capture_output=True, text=True, timeout=10).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        return "unknown"
    return (head + ("+dirty" if dirty else "")) if head else "unknown"


def usable_cores() -> int:
    """Cores this process may run on."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:
        return os.cpu_count() or 1


def _fma_kernel():
    """A numba function ``run(n, out)``: n rounds of independent vector FMAs, their sum in ``out[0]``."""
    import numba
    from llvmlite import ir
    from numba.core import types
    from numba.extending import intrinsic

    from innmf.accel.simd.ir import Emit
    from innmf.accel.simd.layout import host_has_avx512

    # enough independent chains to cover the FMA latency (4 cycles) on two pipes, and
    # few enough that x, y and the accumulators stay in registers (16 or 32 of them)
    chains = 12 if host_has_avx512() else 6

    @intrinsic
    def fma_rounds(typingctx, n):
        def codegen(context, b, sig, args):
            from numba.core import cgutils

            e = Emit(context, b, types.float32)
            x, y = e.splat(ir.Constant(e.scalar, 0.999999)), e.splat(ir.Constant(e.scalar, 1e-6))
            acc = e.accumulators(chains)
            for i, s in enumerate(acc):
                b.store(e.splat(ir.Constant(e.scalar, 1.0 + i)), s)
            with cgutils.for_range(b, args[0]):
                for s in acc:
                    b.store(e.fma(b.load(s), x, y), s)
            total = b.load(acc[0])
            for s in acc[1:]:
                total = b.fadd(total, b.load(s))
            return e.hsum(total)

        return types.float32(types.intp), codegen

    @numba.njit(nogil=True, cache=True)
    def run(n, out):  # pragma: no cover - compiled
        out[0] = fma_rounds(n)

    lanes = 16  # float32 lanes of a 64-byte vector (innmf.accel.simd.layout)
    return run, 2 * lanes * chains


def fma_peak_gflops(threads: int, seconds: float = 0.2) -> float:
    """float32 FMA throughput (GFLOP/s) of ``threads`` threads running at once, measured now.

    Args:
        threads: threads, each running the FMA kernel (1: one core; :func:`usable_cores`: the machine).
        seconds: about how long each timed run takes.

    Returns:
        The best of three runs, or NaN without numba.
    """
    import numpy as np

    try:
        run, flop_per_round = _fma_kernel()
    except ImportError:  # numba is optional (innmf[fast])
        return float("nan")
    outs = [np.zeros(1, np.float32) for _ in range(threads)]
    run(1000, outs[0])  # compile
    start = time.perf_counter()
    run(1_000_000, outs[0])
    n = max(1000, int(1_000_000 * seconds / max(time.perf_counter() - start, 1e-6)))
    best = 0.0
    with ThreadPoolExecutor(threads) as pool:
        for _ in range(3):
            start = time.perf_counter()
            list(pool.map(lambda o: run(n, o), outs))
            best = max(best, threads * n * flop_per_round / (time.perf_counter() - start) / 1e9)
    return best
