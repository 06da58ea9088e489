"""``innmf doctor``: what this installation runs on, and which path each compiled operation takes.

Prints the versions of innmf and the libraries it computes with, torch's and the
BLAS's threads, the CPU model and its vector extensions, where the embedded data
were found, and :func:`innmf.accel.checked.report` (each fast path compiled and
checked against its reference, or the reason it is refused). Attach its output to a
bug report about speed or numbers.
"""

from __future__ import annotations

import argparse
import importlib.metadata as metadata
import json
import platform
import sys


def _version(dist: str) -> str:
    try:
        return metadata.version(dist)
    except metadata.PackageNotFoundError:
        return "not installed"


def _cpu_details() -> str:
    """Family, model and the vector extensions the kernels care about, from /proc/cpuinfo."""
    fields: dict[str, str] = {}
    try:
        with open("/proc/cpuinfo") as fh:
            for line in fh:
                key, _, value = line.partition(":")
                if not line.strip():
                    break  # the first processor is enough
                fields.setdefault(key.strip(), value.strip())
    except OSError:
        return "unknown"
    flags = fields.get("flags", "").split()
    found = [f for f in ("avx2", "fma", "avx512f", "avx512_bf16", "amx_tile") if f in flags]
    return f"family {fields.get('cpu family', '?')} model {fields.get('model', '?')}; " + (
        " ".join(found) or "no avx2/avx512")


def diagnose() -> dict:
    """Everything ``innmf doctor`` prints, as one JSON-serialisable dictionary."""
    import torch

    import innmf
    from innmf.accel.checked import report
    from innmf.data.paths import data_dir
    from innmf.tools.bench.machine import blas_kernels as _blas_kernels, cpu_model as _cpu_model

    return {
        "innmf": innmf.__version__,
        "python": sys.version.split()[0],
        "platform": platform.platform(),
        "versions": {d: _version(d) for d in ("torch", "numpy", "scipy", "scikit-learn", "librosa", "numba", "llvmlite")},
        "torch_threads": torch.get_num_threads(),
        "torch_interop_threads": torch.get_num_interop_threads(),
        "blas": _blas_kernels(),
        "cpu_model": _cpu_model(),
        "cpu_details": _cpu_details(),
        "cuda": torch.cuda.get_device_name(0) if torch.cuda.is_available() else "not available",
        "data_dir": str(data_dir()),
        "fast_paths": [
            {"name": s.name, "fast": s.fast, "what": s.description, "reason": s.reason} for s in report()
        ],
    }


def format_report(info: dict) -> str:
    """The human-readable form of :func:`diagnose`."""
    lines = [f"innmf {info['innmf']} on Python {info['python']} ({info['platform']})"]
    lines.append("versions: " + ", ".join(f"{k} {v}" for k, v in info["versions"].items()))
    lines.append(f"torch threads: {info['torch_threads']} (inter-op {info['torch_interop_threads']})")
    lines.append(f"BLAS: {info['blas']}")
    lines.append(f"CPU: {info['cpu_model']} [{info['cpu_details']}]; CUDA: {info['cuda']}")
    lines.append(f"embedded data: {info['data_dir']}")
    lines.append("fast paths (compiled and checked against their references now):")
    for p in info["fast_paths"]:
        what, instead = (p["what"].split(";", 1) + [""])[:2]
        state = "fast" if p["fast"] else f"REFUSED ({p['reason']}):{instead}"
        lines.append(f"  {p['name']:<9} {state}  - {what.strip()}")
    return "\n".join(lines)


def _run(args: argparse.Namespace) -> int:
    info = diagnose()
    print(json.dumps(info, indent=1) if args.json else format_report(info))
    return 0


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add ``innmf doctor`` to the command line."""
    p = subparsers.add_parser(
        "doctor",
        help="versions, threads, CPU, BLAS and which fast path each operation takes",
        description=__doc__.split("\n\n")[1].replace("\n", " "),
    )
    p.add_argument("--json", action="store_true", help="print one JSON object")
    p.set_defaults(func=_run)
