"""Device resolution; the only place that asks torch about CUDA."""

import torch


def resolve_device(requested: str) -> torch.device:
    """CUDA for "auto" when present, else the CPU; asking for CUDA on a CPU host is an error."""
    if requested == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    device = torch.device(requested)
    if device.type == "cuda" and not torch.cuda.is_available():
        raise RuntimeError(f"device {requested!r} requested but this worker has no CUDA device")
    return device
