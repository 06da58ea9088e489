"""``python -m innmf.tools.bench.batched_fit``: S speakers' iN-NMF fits as one grouped model against S lone fits.

What ``innmf reproduce --batched`` changes (:mod:`innmf.models.grouped_fit`): the same
S fits (K networks each, the paper's design, V of ``--seconds`` of noise at N = 2000),
timed side by side in one process, interleaved (:func:`innmf.tools.bench.timing.interleaved_medians`):

* ``sequential``: ``ImplicitWNMF.fit`` once per speaker, as a trial does;
* ``batched``: one :func:`~innmf.models.grouped_fit.fit_grouped` of all S (on a CPU
  each model's W H by its own ops unless ``--batched-products``).

Each timed call is ``--epochs`` epochs of all S fits, recording the first loss only as the
experiments do. Prints one JSON object: ms per epoch of all S speakers for each, and
``speedup`` = sequential / batched. Records nothing by itself.
"""

from __future__ import annotations

import argparse
import json
import sys

import numpy as np


def main(argv: list[str] | None = None) -> int:
    """Run the benchmark; return the exit status.

    Args:
        argv: command-line arguments (default: ``sys.argv[1:]``).

    Returns:
        0.
    """
    p = argparse.ArgumentParser(prog="python -m innmf.tools.bench.batched_fit", description=__doc__.split("\n")[0])
    p.add_argument("--speakers", type=int, default=4, help="S, speakers fitted (default 4: two trials)")
    p.add_argument("--epochs", type=int, default=5, help="epochs per timed call (default 5)")
    p.add_argument("--seconds", type=float, default=20.0, help="training audio per speaker (default 20, the paper's)")
    p.add_argument("--rounds", type=int, default=3, help="timed rounds (default 3)")
    p.add_argument("--threads", type=int, default=1, help="torch/BLAS threads (default 1, the profiles')")
    p.add_argument("--device", default="cpu", help="cpu, cuda or cuda:N")
    p.add_argument("--batched-products", action="store_true",
                   help="one batched W H and KL for all speakers on a CPU too (the accelerators' path)")
    args = p.parse_args(argv)

    from innmf.accel.runtime import use_threads

    use_threads(args.threads)
    import torch

    from innmf.models.grouped_fit import fit_grouped
    from innmf.models.implicit import ImplicitWNMF
    from innmf.tf.stft import frequency_coordinate, magnitude
    from innmf.tools.bench.timing import interleaved_medians

    rng = np.random.default_rng(0)
    n_fft, S, E = 2000, int(args.speakers), int(args.epochs)
    Vs = [magnitude(rng.standard_normal(int(args.seconds * 16000)), n_fft, power=0.5) for _ in range(S)]
    f = frequency_coordinate(n_fft)
    lone = [ImplicitWNMF(20, seed=s, device=args.device) for s in range(S)]
    grouped = [ImplicitWNMF(20, seed=s, device=args.device) for s in range(S)]
    per_model = False if args.batched_products else None

    def sequential() -> None:
        for model, V in zip(lone, Vs):
            model.fit(V, f, epochs=E, loss_every=E)

    def batched() -> None:
        fit_grouped(grouped, Vs, f, epochs=E, loss_every=E, per_model=per_model)

    ms = interleaved_medians({"sequential": (sequential, 1), "batched": (batched, 1)}, int(args.rounds), 1,
                             torch.device(args.device))
    record = {
        "command": "python -m innmf.tools.bench.batched_fit " + " ".join(sys.argv[1:] if argv is None else argv),
        "speakers": S, "epochs": E, "F_x_T": list(Vs[0].shape), "threads": args.threads, "device": args.device,
        "per_model_products": per_model is None and args.device == "cpu",
        "ms_per_epoch": {k: v / E for k, v in ms.items()},
        "speedup": ms["sequential"] / ms["batched"],
    }
    print(json.dumps(record, indent=1))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
