"""The ``backend=`` of the models: the plain math of :mod:`innmf.paper`, or the fast path.

* ``"reference"``: :mod:`innmf.paper` alone: the MU steps of :mod:`innmf.paper.mu` in a
  numpy loop for NMF; the K networks of :mod:`innmf.paper.inr` one after another, the
  KL of :mod:`innmf.paper.divergences` through autograd and ``torch.optim.Rprop`` for
  the implicit models. No numba, no llvmlite, no private torch op.
* ``"fast"``: :mod:`innmf.accel` (fused KL updates, grouped networks, closed-form
  gradients, flat Rprop); an error where a compiled kernel it needs is missing.
* ``"auto"`` (default): the fast path where it is available, its plain pieces elsewhere.

Both compute the same numbers up to rounding (``tests/test_backends.py``). This module
also converts networks between the two layouts, so a model trained on one backend
can be evaluated on the other. Used by :mod:`innmf.models.nmf` and :mod:`innmf.models.implicit`.
"""

from __future__ import annotations

import torch

from innmf.models.inr import ComponentNetworks
from innmf.paper.encoding import FourierEncoding
from innmf.paper.inr import ReferenceNetworks, load_stacked, stacked_parameters

BACKENDS = ("auto", "reference", "fast")


def check_backend(backend: str) -> str:
    """Validate a model backend name (``"auto"``, ``"reference"`` or ``"fast"``)."""
    if backend not in BACKENDS:
        raise ValueError(f"Unknown backend {backend!r}; use one of {BACKENDS} ('reference' is the plain math of innmf.paper).")
    return backend


def make_networks(
    backend: str,
    n_components: int,
    hidden: int = 64,
    n_layers: int = 4,
    activation: str = "sin",
    init: str = "default",
    n_freqs: int = 10,
    encoding: str = "paper",
    encoding_scale: float = 10.0,
    trainable_encoding: bool = False,
    shared_encoding: bool = False,
    seed: int = 0,
    device: str | torch.device = "cpu",
    dtype: torch.dtype = torch.float32,
) -> torch.nn.Module:
    """K component networks for a model: :class:`ReferenceNetworks` or :class:`ComponentNetworks`.

    Both draw their encoding and weights the same way, so for the same arguments they are
    the same function. Arguments as :class:`innmf.paper.inr.ReferenceNetworks`.
    """
    if check_backend(backend) == "reference":
        return ReferenceNetworks(n_components, hidden, n_layers, activation, init, n_freqs, encoding, encoding_scale,
                                 trainable_encoding, shared_encoding, seed, device, dtype)
    enc = FourierEncoding(n_freqs, encoding, encoding_scale, trainable_encoding, seed,
                          n_sets=1 if shared_encoding else n_components, dtype=dtype)
    return ComponentNetworks(n_components, hidden, n_layers, activation, init, encoding=enc, seed=seed,
                             device=device, dtype=dtype)


def to_reference(net: ComponentNetworks) -> ReferenceNetworks:
    """The same K functions as :class:`ReferenceNetworks` (one ``nn.Sequential`` per component)."""
    enc = net.encoding
    p = net.weights[0]
    ref = ReferenceNetworks(
        net.n_components, net.hidden, net.n_layers, net.activation, n_freqs=enc.n_freqs, encoding=enc.kind,
        trainable_encoding=enc.trainable, shared_encoding=enc.n_sets == 1, device=p.device, dtype=p.dtype,
    )
    return load_stacked(ref, enc.frequencies, enc.phases, list(net.weights), list(net.biases))


def to_fast(ref: ReferenceNetworks, backend: str = "auto") -> ComponentNetworks:
    """The same K functions as :class:`ComponentNetworks` (grouped products; ``backend`` its own)."""
    params = stacked_parameters(ref)
    first = ref.encodings()[0]
    p = ref.linears(0)[0].weight
    encoding = FourierEncoding(first.n_freqs, first.kind, trainable=first.trainable,
                               n_sets=params["frequencies"].shape[0], dtype=p.dtype)
    fast = ComponentNetworks(ref.n_components, ref.hidden, ref.n_layers, ref.activation, encoding=encoding,
                             backend=backend, device=p.device, dtype=p.dtype)
    with torch.no_grad():
        fast.encoding.frequencies.copy_(params["frequencies"])
        fast.encoding.phases.copy_(params["phases"])
        for dst, src in zip([*fast.weights, *fast.biases], [*params["weights"], *params["biases"]]):
            dst.copy_(src)
    return fast


def export_stacked(net: torch.nn.Module) -> dict[str, object]:
    """Either kind of networks' parameters in the stacked layout (CPU copies), for saving."""
    if isinstance(net, ReferenceNetworks):
        params = stacked_parameters(net)
    else:
        params = {"frequencies": net.encoding.frequencies, "phases": net.encoding.phases,
                  "weights": list(net.weights), "biases": list(net.biases)}
    return {k: [t.detach().cpu().clone() for t in v] if isinstance(v, list) else v.detach().cpu().clone()
            for k, v in params.items()}


def import_stacked(net: torch.nn.Module, params: dict[str, object]) -> torch.nn.Module:
    """Load parameters saved by :func:`export_stacked` into either kind of networks (in place)."""
    if isinstance(net, ReferenceNetworks):
        return load_stacked(net, params["frequencies"], params["phases"], params["weights"], params["biases"])
    with torch.no_grad():
        net.encoding.frequencies.copy_(params["frequencies"])
        net.encoding.phases.copy_(params["phases"])
        if len(params["weights"]) != len(net.weights):
            raise ValueError("The saved networks have a different number of layers.")
        for dst, src in zip([*net.weights, *net.biases], [*params["weights"], *params["biases"]]):
            dst.copy_(src)
    return net
