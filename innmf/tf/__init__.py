"""Time-frequency representations as matrices and as point clouds (t, f, m)."""
