"""Time-frequency representations as matrices and as point clouds (t, f, m).

- :mod:`innmf.tf.stft`: the paper's STFT and its exact inverse (any N, any hop).
- :mod:`innmf.tf.pointcloud`: :class:`~innmf.tf.pointcloud.PointCloud`, joining
  representations in time or on one time axis, network coordinates.
- :mod:`innmf.tf.cqt`: constant-Q transform with a window and hop per bin.
- :mod:`innmf.tf.sinusoidal`: sinusoidal (peak) model with partial tracking.
- :mod:`innmf.tf.peak_regions`: the peaks' STFT regions, so that masked peaks invert to audio.
- :mod:`innmf.tf.signals`: FM (Figure 1) and other synthetic test signals.
- :mod:`innmf.tf.hybrid`: the committed piano recording and the paper's hybrid cloud.
- :mod:`innmf.report.clouds`: plots that show each part's sampling.
- :mod:`innmf.data.piano_render`: re-renders ``data/piano`` (needs fluidsynth).
"""
