"""The paper's mathematics in plain numpy / PyTorch (autograd), one equation per function.

This layer is the definition: ``backend="reference"`` of the models runs it alone,
and every fast path in :mod:`innmf.accel` is tested against it.

* :mod:`~innmf.paper.divergences`: the beta-divergences, the one KL divergence;
* :mod:`~innmf.paper.mu`: one multiplicative-update step for W and for H (classic NMF);
* :mod:`~innmf.paper.encoding`: the Fourier encoding of a coordinate;
* :mod:`~innmf.paper.inr`: one component network W_k(f) per k;
* :mod:`~innmf.paper.inmf`: m_hat = sum_k W_k(f) H_k(t) and the three models' objectives;
* :mod:`~innmf.paper.separation`: soft masks and the separated signals;
* :mod:`~innmf.paper.metrics`: reconstruction KL, SDR / SIR / SAR, STOI.
"""
