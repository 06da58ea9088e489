"""What the experiments call: validation, seeding, loops, and a ``backend=`` choosing
the plain math of :mod:`innmf.paper` (``"reference"``) or :mod:`innmf.accel` (``"auto"``, ``"fast"``).

* :mod:`~innmf.models.nmf`: classic NMF by multiplicative updates (:func:`~innmf.models.nmf.nmf`);
* :mod:`~innmf.models.implicit`: iN-NMF model 1 (ImplicitWNMF), re-exporting models 2 and 3;
* :mod:`~innmf.models.implicit_wh`: model 2 (ImplicitWH, W(f) and H(t) implicit on a point cloud);
* :mod:`~innmf.models.activations`: model 3 (fit_activations, supervised separation);
* :mod:`~innmf.models.common`: what the three share (input checks, the scikit-learn face, saved-file format, RNG forking);
* :mod:`~innmf.models.distinct`: model 2's evaluation of each network once per distinct coordinate;
* :mod:`~innmf.models.inr`: the K component networks as grouped products (the fast networks);
* :mod:`~innmf.models.backends`: the backend names and the converters between both kinds of networks;
* :mod:`~innmf.models.training`: the training loop and the fit of H under a fixed dictionary.
"""
