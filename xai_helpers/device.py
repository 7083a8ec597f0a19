"""Which device the course computes on."""
import os

import torch

from ._typecheck import checked

__all__ = ["get_device"]

_VALID = ("cpu", "cuda", "mps")


@checked
def get_device() -> torch.device:
    """Return the torch device to use: CUDA, then Apple MPS, then CPU; env ``XAI_DEVICE`` overrides.

    ``XAI_DEVICE`` accepts ``cpu``, ``cuda``, ``cuda:N`` or ``mps``. Asking for a device this
    machine does not have is an error, not a silent fall-back. Every loader puts its model there; the
    lessons (from 4.1 on) put their inputs there with ``model.preprocess``.

    Returns:
        The chosen ``torch.device``.

    Raises:
        ValueError: ``XAI_DEVICE`` is not a device name.
        RuntimeError: ``XAI_DEVICE`` asks for CUDA or MPS and this machine has none.

    Example:
        >>> import xai_helpers as xh
        >>> device = xh.device.get_device()
        >>> type(device).__name__, device.type in ("cpu", "cuda", "mps")
        ('device', True)
    """
    wanted = os.environ.get("XAI_DEVICE", "").strip().lower()
    if wanted:
        kind = wanted.split(":")[0]
        if kind not in _VALID:
            raise ValueError(
                f"XAI_DEVICE={wanted!r} is not a device name. Use one of 'cpu', 'cuda', 'cuda:N' or "
                "'mps', or unset XAI_DEVICE to pick automatically.")
        if kind == "cuda" and not torch.cuda.is_available():
            raise RuntimeError(
                f"XAI_DEVICE={wanted!r} asks for CUDA, but torch sees no CUDA GPU here. "
                "Unset XAI_DEVICE (or set it to 'cpu') to run on the CPU.")
        if kind == "mps" and not _mps_available():
            raise RuntimeError(
                f"XAI_DEVICE={wanted!r} asks for Apple MPS, which is not available here. "
                "Unset XAI_DEVICE (or set it to 'cpu').")
        return torch.device(wanted)
    if torch.cuda.is_available():
        return torch.device("cuda")
    if _mps_available():
        return torch.device("mps")
    return torch.device("cpu")


def _mps_available():
    backend = getattr(torch.backends, "mps", None)
    return bool(backend is not None and backend.is_available())
