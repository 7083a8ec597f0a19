"""Control maps: reference 'explanations' that ignore the model, against which the checks compare real methods."""
import torch
from torch import nn

from ..models.image import ImageModel

__all__ = ["edge_map", "random_map"]


def edge_map(image_model, x, target=None):
    """A reference 'explanation' that ignores the model: the image's Sobel edge magnitude (HxW).

    Adebayo et al. (2018) show that such an edge detector looks much like some saliency maps; it
    fails the randomisation test by construction (it never changes), which is what failing looks like.
    """
    pixels = image_model.denormalize(x.detach()) if isinstance(image_model, ImageModel) else x.detach()
    gray = pixels[0].mean(0, keepdim=True)[None]
    kx = torch.tensor([[-1., 0., 1.], [-2., 0., 2.], [-1., 0., 1.]], device=gray.device).view(1, 1, 3, 3)
    gx = nn.functional.conv2d(gray, kx, padding=1)
    gy = nn.functional.conv2d(gray, kx.transpose(2, 3), padding=1)
    return (gx ** 2 + gy ** 2).sqrt()[0, 0].cpu()


def random_map(image_model, x, target=None, seed=0):
    """A reference 'explanation' with no information: uniform noise (HxW), seeded."""
    generator = torch.Generator().manual_seed(int(seed))
    return torch.rand(x.shape[-2:], generator=generator)
