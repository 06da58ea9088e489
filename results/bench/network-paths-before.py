"""One-off driver of innmf.tools.bench.network_paths.measure, run at the accel code of ad071a2 (see
network-paths-before-run1.json): the fused path with and without the private oneDNN op (fused_ops ->
_BmmOps) and the one-pass sin/cos, beside the plain contenders. It patches module globals that e5e8015
removed, so it runs only at 9c86144 (git worktree); network-paths.py is its successor."""
import json, sys, time, torch
import innmf.accel.grouped_mlp as g
from innmf.accel.simd.layout import host_has_avx512
from innmf.tools.bench import network_paths as npth
from innmf.tools.bench.units import SPEECH, _blas_kernels, _cpu_model, speech_matrix
from innmf.tf.stft import frequency_coordinate

def patched(step, name, value):
    def run():
        old = getattr(g, name); setattr(g, name, value)
        try: return step()
        finally: setattr(g, name, old)
    return run

f = frequency_coordinate(SPEECH["n_fft"])
def fused_bmm_ops(m, v, x):
    return patched(m.epoch_function(v.numpy(), f), "fused_ops", lambda d, t: g._BmmOps)
def fused_torch_sin(m, v, x):
    def sin_only(z, s):
        torch.sin(z, out=s); return False
    return patched(m.epoch_function(v.numpy(), f), "sincos_", sin_only)
def fused_bmm_ops_torch_sin(m, v, x):
    def sin_only(z, s):
        torch.sin(z, out=s); return False
    inner = patched(m.epoch_function(v.numpy(), f), "sincos_", sin_only)
    return patched(inner, "fused_ops", lambda d, t: g._BmmOps)
extra = {"fused_bmm_ops": fused_bmm_ops, "fused_torch_sincos": fused_torch_sin, "fused_bmm_ops_torch_sincos": fused_bmm_ops_torch_sin}
rounds = int(sys.argv[1]) if len(sys.argv) > 1 else 15
start = time.perf_counter()
V, source = speech_matrix(SPEECH["seconds"], SPEECH["n_fft"])
out = {"command": f"python results/bench/network-paths-before.py {rounds}",
       "commit": npth._commit(), "cpu_model": _cpu_model(), "blas": _blas_kernels(), "torch_version": torch.__version__,
       "input": source, "V_shape": list(V.shape), **{k: SPEECH[k] for k in ("rank", "hidden", "n_freqs", "n_fft")},
       "fused_ops_today": g.fused_ops(torch.device("cpu"), torch.float32).__name__,
       "weight_grad_kernel": "used" if g.simd_weight_grad() is not None else ("not used: this CPU has no AVX-512, so 'without it' is today's path" if not host_has_avx512() else "unavailable")}
out.update(npth.measure(V, SPEECH, [1, 2], rounds, extra))
out["bench_seconds"] = time.perf_counter() - start
print(json.dumps(out, indent=1))
