"""Today's (ad071a2) fused network pass against the new one, side by side in one process.

The fused pass of ad071a2 (``innmf/accel/grouped_mlp.py`` with the private oneDNN
in-place convolution ``torch.ops.mkldnn._convolution_pointwise_`` and, on AVX-512 hosts
at one thread, the weight-gradient IR kernel) is loaded from git under another module
name and swapped into the same model class, so both run the same model, encoding,
loss and optimiser; only the network's forward/backward differs. The other contenders
are those of :func:`innmf.tools.bench.network_paths.measure` (new fused pass, autograd
"bmm" backend, plain batched PyTorch eager and compiled) and the new pass with torch's
sin and cos instead of the one-pass kernel. Run from the repository root:

    python results/bench/network-paths.py [ROUNDS] > results/bench/network-paths.json
"""
import importlib.util
import json
import subprocess
import sys
import tempfile
import time

import torch

import innmf.accel.grouped_mlp as new
import innmf.models.inr as inr
from innmf.accel.simd.layout import host_has_avx512
from innmf.tf.stft import frequency_coordinate
from innmf.tools.bench import network_paths
from innmf.tools.bench.units import SPEECH, _blas_kernels, _cpu_model, speech_matrix

TODAY = "ad071a2"
source = subprocess.run(["git", "show", f"{TODAY}:innmf/accel/grouped_mlp.py"], capture_output=True, text=True,
                        check=True).stdout
with tempfile.NamedTemporaryFile("w", suffix=".py", delete=False) as fh:
    fh.write(source)
spec = importlib.util.spec_from_file_location("grouped_mlp_today", fh.name)
today = importlib.util.module_from_spec(spec)
spec.loader.exec_module(today)
f = frequency_coordinate(SPEECH["n_fft"])


def swapped(step, module, name, value):
    def run():
        old = getattr(module, name)
        setattr(module, name, value)
        try:
            return step()
        finally:
            setattr(module, name, old)
    return run


def today_fused(m, v, x):
    m.net._workspace = today.Workspace()
    return swapped(m.epoch_function(v.numpy(), f), inr, "fused_mlp", today.fused_mlp)


def torch_sin_only(z, s):
    torch.sin(z, out=s)
    return False


def new_fused_torch_sincos(m, v, x):
    return swapped(m.epoch_function(v.numpy(), f), new, "sincos_", torch_sin_only)


rounds = int(sys.argv[1]) if len(sys.argv) > 1 else 15
start = time.perf_counter()
V, source_name = speech_matrix(SPEECH["seconds"], SPEECH["n_fft"])
out = {
    "command": f"python results/bench/network-paths.py {rounds}",
    "commit": network_paths._commit(),
    "today": TODAY,
    "cpu_model": _cpu_model(),
    "blas": _blas_kernels(),
    "torch_version": torch.__version__,
    "input": source_name,
    "V_shape": list(V.shape),
    **{k: SPEECH[k] for k in ("rank", "hidden", "n_freqs", "n_fft")},
    "today_fused_products": today.fused_ops(torch.device("cpu"), torch.float32).__name__,
    "weight_grad_kernel": ("used by today_fused at 1 thread" if today.simd_weight_grad() is not None else
                           "not used: this CPU has no AVX-512, so today_fused is also 'without the weight-gradient kernel'"
                           if not host_has_avx512() else "unavailable"),
    "load_average_before": __import__("os").getloadavg()[0],
}
out.update(network_paths.measure(V, SPEECH, [1, 2], rounds,
                                 {"today_fused": today_fused, "new_fused_torch_sincos": new_fused_torch_sincos}))
out["load_average_after"] = __import__("os").getloadavg()[0]
out["bench_seconds"] = time.perf_counter() - start
print(json.dumps(out, indent=1))
