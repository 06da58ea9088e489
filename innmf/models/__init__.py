"""What the experiments call: validation, seeding, loops, and a ``backend=`` choosing
the plain math of :mod:`innmf.paper` (``"reference"``) or :mod:`innmf.accel` (``"auto"``, ``"fast"``).

* :mod:`~innmf.models.nmf`: classic NMF by multiplicative updates (:func:`~innmf.models.nmf.nmf`);
* :mod:`~innmf.models.implicit`: the three iN-NMF models (ImplicitWNMF, ImplicitWH, fit_activations);
* :mod:`~innmf.models.inr`: the K component networks as grouped products (the fast networks);
* :mod:`~innmf.models.backends`: the backend names and the converters between both kinds of networks;
* :mod:`~innmf.models.training`: the training loop and the fit of H under a fixed dictionary.
"""
