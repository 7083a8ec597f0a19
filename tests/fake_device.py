"""A fake accelerator for the tests: tensors that compute on the CPU but behave as if they lived on a GPU.

``OnDevice`` wraps a real CPU tensor and reports ``device == FAKE`` ('meta', standing in for cuda/mps).
Every operation runs on the wrapped CPU data, so results are the CPU's, exactly; on the way it enforces
what a real accelerator enforces (and Apple MPS adds):

* an operation mixing a device tensor with a CPU tensor that has dimensions raises, as CUDA does
  (0-d CPU scalars are allowed, as on CUDA; so are CPU index tensors in indexing);
* ``.numpy()`` on a device tensor raises, as on CUDA/MPS;
* a float64 tensor on the device raises (Apple MPS has no float64);
* ``.cpu()`` / ``.to("cpu")`` return plain CPU tensors; ``.to(FAKE)``, ``.to(x.device)`` and factories with
  ``device=FAKE`` (inside ``FactoriesOnDevice()``) return device tensors.

``to_fake_device(module)`` -> a copy whose parameters and buffers are on the fake device.
"""
import copy

import torch
from torch.overrides import TorchFunctionMode
from torch.utils._pytree import tree_flatten, tree_map

aten = torch.ops.aten
FAKE = torch.device("meta")
INDEX_OPS = {aten.index.Tensor, aten.index_put.default, aten.index_put_.default, aten._index_put_impl_.default}


def _wrap(t):
    if t.dtype == torch.float64:
        raise RuntimeError("a float64 tensor on the device: Apple MPS has no float64 (use float32)")
    return OnDevice(t)


def _unwrap(t):
    return t.elem if isinstance(t, OnDevice) else t


class OnDevice(torch.Tensor):
    """A CPU tensor that behaves as if it lived on an accelerator (see the module docstring)."""

    @staticmethod
    def __new__(cls, elem):
        return torch.Tensor._make_wrapper_subclass(cls, elem.shape, strides=elem.stride(), dtype=elem.dtype,
                                                   device=FAKE, requires_grad=elem.requires_grad)

    def __init__(self, elem):
        self.elem = elem

    def __repr__(self):
        return f"OnDevice({self.elem!r})"

    def numpy(self, *args, **kwargs):
        raise TypeError("can't convert a device tensor to numpy: use Tensor.cpu() to copy it to host memory first")

    @classmethod
    def __torch_dispatch__(cls, func, types, args=(), kwargs=None):
        kwargs = kwargs or {}
        if func is aten._to_copy.default:
            return _copy(args[0], kwargs)
        tensors = [t for t in tree_flatten((args, kwargs))[0] if isinstance(t, torch.Tensor)]
        if any(t.device == FAKE and not isinstance(t, OnDevice) for t in tensors):
            raise RuntimeError(f"{func}: a real 'meta' tensor reached the fake device (made outside "
                               "FactoriesOnDevice?)")
        on_device = any(isinstance(t, OnDevice) for t in tensors)
        cpu = [t for t in tensors if not isinstance(t, OnDevice) and t.dim() > 0]
        if on_device and cpu and func not in INDEX_OPS:
            raise RuntimeError(f"Expected all tensors to be on the same device: {func} got a CPU tensor of shape "
                               f"{tuple(cpu[0].shape)} together with a device tensor")
        out = func(*tree_map(_unwrap, args), **tree_map(_unwrap, kwargs))
        if not on_device:
            return out
        return tree_map(lambda t: _wrap(t) if isinstance(t, torch.Tensor) and not isinstance(t, OnDevice) else t, out)


def _copy(src, kwargs):
    """aten._to_copy: to the CPU -> plain tensor; to the fake device (or a copy staying there) -> OnDevice."""
    device = kwargs.get("device")
    out = aten._to_copy.default(_unwrap(src), **{k: v for k, v in kwargs.items() if k != "device"})
    if device is not None and torch.device(device).type == "cpu":
        return out
    stays = device is None and isinstance(src, OnDevice)
    return _wrap(out) if stays or (device is not None and torch.device(device) == FAKE) else out


class FactoriesOnDevice(TorchFunctionMode):
    """Inside: ``torch.zeros(..., device=FAKE)`` and ``cpu_tensor.to(FAKE)`` give OnDevice tensors."""

    def __torch_function__(self, func, types, args=(), kwargs=None):
        kwargs = kwargs or {}
        if func in (torch.Tensor.to, torch.Tensor.cuda) and args and type(args[0]) is torch.Tensor:
            device, dtype = torch._C._nn._parse_to(*args[1:], **kwargs)[:2] if func is torch.Tensor.to else (FAKE, None)
            if device == FAKE:
                return _wrap(args[0].to(dtype=dtype) if dtype is not None else args[0].clone())
        device = kwargs.get("device")
        plain_args = not any(isinstance(a, torch.Tensor) for a in tree_flatten(args)[0])
        if device is not None and torch.device(device) == FAKE and plain_args:
            out = func(*args, **dict(kwargs, device="cpu"))
            return _wrap(out) if isinstance(out, torch.Tensor) else out
        return func(*args, **kwargs)


def to_fake_device(module):
    """A deep copy of ``module`` with every parameter and buffer on the fake device."""
    copied = copy.deepcopy(module)
    for m in copied.modules():
        for name, p in list(m._parameters.items()):
            if p is not None:
                m._parameters[name] = torch.nn.Parameter(OnDevice(p.detach()), requires_grad=p.requires_grad)
        for name, b in list(m._buffers.items()):
            if b is not None:
                m._buffers[name] = OnDevice(b)
    return copied
