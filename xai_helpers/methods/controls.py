"""Control maps: reference 'explanations' that ignore the model, against which the checks compare real methods."""
import numpy as np
import torch
from torch import nn

from .._typecheck import checked
from .._validate import check_channels, check_device, check_input
from ..models.image import ImageModel
from .kinds import Model, Target

__all__ = ["edge_map", "random_map", "centre_map"]


def _one_input(image_model, x):
    """``x`` checked as one input 1xCxHxW of finite floats with values (and the ImageModel's channels)."""
    check_input(check_device(x, name="x"))
    return check_channels(image_model, x) if isinstance(image_model, ImageModel) else x


@checked
def edge_map(image_model: Model | None, x: torch.Tensor, target: Target | None = None) -> torch.Tensor:
    """A reference 'explanation' that ignores the model: the image's Sobel edge magnitude (taught in 4.1, 4.2).

    Adebayo et al. (2018) show that such an edge detector looks much like some saliency maps; it
    fails the randomisation test by construction (it never changes), which is what failing looks like.

    Args:
        image_model: An ``ImageModel`` (its normalisation is undone first), a plain ``nn.Module`` or None (unused).
        x: One normalised input 1xCxHxW.
        target: Ignored: the call shape of every attribution method.

    Returns:
        The edge magnitude, an HxW tensor on the CPU.

    Example:
        >>> import torch
        >>> from torch import nn
        >>> import xai_helpers as xh
        >>> x = torch.zeros(1, 3, 6, 6)
        >>> x[..., 3:] = 1.0                                   # a vertical edge between columns 2 and 3
        >>> edges = xh.methods.edge_map(nn.Identity(), x)
        >>> tuple(edges.shape), edges[3, 1:5].tolist()
        ((6, 6), [0.0, 4.0, 4.0, 0.0])
    """
    x = _one_input(image_model, x)
    pixels = image_model.denormalize(x.detach()) if isinstance(image_model, ImageModel) else x.detach()
    gray = pixels[0].mean(0, keepdim=True)[None]
    kx = torch.tensor([[-1., 0., 1.], [-2., 0., 2.], [-1., 0., 1.]], device=gray.device,
                      dtype=gray.dtype).view(1, 1, 3, 3)
    gx = nn.functional.conv2d(gray, kx, padding=1)
    gy = nn.functional.conv2d(gray, kx.transpose(2, 3), padding=1)
    return (gx ** 2 + gy ** 2).sqrt()[0, 0].cpu()


@checked
def random_map(image_model: Model | None, x: torch.Tensor, target: Target | None = None, seed: int = 0) -> torch.Tensor:
    """A reference 'explanation' with no information: uniform noise, seeded (taught in 4.1, 4.2).

    Args:
        image_model: An ``ImageModel``, a plain ``nn.Module`` or None (unused: the call shape of every method).
        x: One input 1xCxHxW; only its height and width are read.
        target: Ignored: the call shape of every attribution method.
        seed: Seed of the noise (same seed, same map).

    Returns:
        An HxW tensor of uniform noise in [0, 1) on the CPU.

    Example:
        >>> import torch
        >>> from torch import nn
        >>> import xai_helpers as xh
        >>> a = xh.methods.random_map(nn.Identity(), torch.zeros(1, 3, 4, 5), seed=1)
        >>> tuple(a.shape), torch.equal(a, xh.methods.random_map(nn.Identity(), torch.ones(1, 3, 4, 5), seed=1))
        ((4, 5), True)
    """
    _one_input(image_model, x)
    generator = torch.Generator().manual_seed(int(seed))
    return torch.rand(x.shape[-2:], generator=generator)


@checked
def centre_map(image_model: Model | None, x: torch.Tensor, target: Target | None = None,
               sigma: float = 0.25) -> torch.Tensor:
    """A reference 'explanation' that always points at the middle: the centre prior (taught in 4.5).

    Photographers centre their subjects, so a map that ignores both the model and the image and peaks at the
    centre wins many pointing-game trials (its hit rate is the share of boxes that contain the centre, up to the
    tolerance): the baseline a method's hit rate must beat, beside chance. A Gaussian bump of standard deviation
    ``sigma`` times the image's side, with its unique maximum at the centre pixel ``(H // 2, W // 2)``.

    Args:
        image_model: An ``ImageModel``, a plain ``nn.Module`` or None (unused: the call shape of every method).
        x: One input 1xCxHxW; only its height and width are read.
        target: Ignored: the call shape of every attribution method.
        sigma: The bump's width as a fraction of the image's height and width (> 0).

    Returns:
        An HxW tensor in (0, 1] on the CPU, 1 at the centre.

    Example:
        >>> import torch
        >>> from torch import nn
        >>> import xai_helpers as xh
        >>> m = xh.methods.centre_map(nn.Identity(), torch.zeros(1, 3, 5, 7))
        >>> tuple(m.shape), divmod(int(m.argmax()), 7), float(m.max())
        ((5, 7), (2, 3), 1.0)
    """
    _one_input(image_model, x)
    if isinstance(sigma, bool) or not isinstance(sigma, (int, float)) or not sigma > 0:
        raise ValueError(f"sigma must be a positive fraction of the image's side (e.g. 0.25), got {sigma!r}.")
    h, w = x.shape[-2:]
    rows = (np.arange(h) - h // 2) / (sigma * h)                   # built with numpy: a CPU map, as the others
    cols = (np.arange(w) - w // 2) / (sigma * w)
    return torch.from_numpy(np.exp(-0.5 * (rows[:, None] ** 2 + cols[None, :] ** 2)).astype(np.float32))
