"""Batch arithmetic shared by the spec checks and the loop."""


def steps_per_epoch(n_samples: int, batch_size: int | None, drop_last: bool) -> int:
    """Optimizer steps in one epoch: 50,000 samples at batch 256 -> 196 (195 with drop_last)."""
    if batch_size is None:
        return 1
    return n_samples // batch_size if drop_last else -(-n_samples // batch_size)
