"""The helpers run on an accelerator without device errors: checked on a fake device (tests/fake_device.py).

A hand-built CNN is copied onto the fake device; each helper must run there (no CPU constant mixed with a
device tensor, no float64 on the device, no .numpy() of a device tensor) and give exactly the CPU's
result. The real GPU run (`XAI_DEVICE=cuda`) stays the final word; this catches the mistakes without one.
"""
import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402
import torch  # noqa: E402

import xai_helpers as xh  # noqa: E402
from fake_device import FAKE, FactoriesOnDevice, OnDevice, to_fake_device  # noqa: E402

TARGET = 3


def _net():
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(0)
        net = torch.nn.Sequential(
            torch.nn.Conv2d(3, 8, 3, padding=1), torch.nn.BatchNorm2d(8), torch.nn.ReLU(),
            torch.nn.Conv2d(8, 16, 3, padding=1), torch.nn.ReLU(), torch.nn.AdaptiveAvgPool2d(1),
            torch.nn.Flatten(), torch.nn.Linear(16, 10)).eval()
    return xh.models.freeze(net)


@pytest.fixture(scope="module")
def models():
    """(CPU ImageModel, its input), (fake-device ImageModel, its input): same weights, same photo."""
    net = _net()
    kw = dict(name="tiny", labels=[f"class {i}" for i in range(10)], target_layer_name="4", mean=(0.5,) * 3,
              std=(0.25,) * 3, resize=72, crop=64)
    cpu = xh.models.ImageModel(model=net, target_layer=net[4], device=torch.device("cpu"), **kw)
    fake_net = to_fake_device(net)
    fake = xh.models.ImageModel(model=fake_net, target_layer=fake_net[4], device=FAKE, **kw)
    x = cpu.preprocess("cat")
    return (cpu, x), (fake, OnDevice(x.clone()))


def _plain(t):
    return t.elem if isinstance(t, OnDevice) else t


# ------------------------------------------------------------------------------- the fake device works
def test_the_fake_device_refuses_what_a_gpu_refuses():
    x = OnDevice(torch.ones(2, 3))
    with pytest.raises(RuntimeError, match="same device"):
        x * torch.ones(2, 3)                                   # a CPU tensor with dimensions
    with pytest.raises(TypeError, match="cpu"):
        x.numpy()
    with pytest.raises(RuntimeError, match="float64"):
        x.double()
    assert isinstance(x * torch.tensor(2.0), OnDevice)         # 0-d CPU scalars are fine, as on CUDA
    assert type(x.cpu()) is torch.Tensor and x.cpu().numpy().sum() == 6
    with FactoriesOnDevice():
        assert isinstance(torch.zeros(3, device=x.device), OnDevice)
        assert isinstance(torch.ones(3).to(x.device), OnDevice)


# ---------------------------------------------------------------------------------- the helpers on it
HELPERS = {
    "vanilla_gradients": lambda m, x: xh.vanilla_gradients(m, x, TARGET),
    "gradient_x_input": lambda m, x: xh.gradient_x_input(m, x, TARGET),
    "smoothgrad": lambda m, x: xh.smoothgrad(m, x, TARGET, n_samples=4, batch_size=3, seed=0),
    "max_abs_over_channels": lambda m, x: xh.max_abs_over_channels(xh.vanilla_gradients(m, x, TARGET)),
    "sum_over_channels": lambda m, x: xh.sum_over_channels(xh.gradient_x_input(m, x, TARGET)),
    "grad_cam": lambda m, x: xh.grad_cam(m, x, TARGET),
    "grad_cam_plus_plus": lambda m, x: xh.grad_cam_plus_plus(m, x, TARGET),
    "integrated_gradients black": lambda m, x: xh.integrated_gradients(m, x, TARGET, "black", n_steps=6)[0],
    "integrated_gradients blur": lambda m, x: xh.integrated_gradients(m, x, TARGET, "blur", n_steps=6)[0],
    "integrated_gradients noise": lambda m, x: xh.integrated_gradients(m, x, TARGET, "noise", n_steps=6)[0],
    "output_difference": lambda m, x: torch.tensor(xh.methods.output_difference(m, x, TARGET, "black")),
    "make_baseline": lambda m, x: xh.methods.make_baseline(m, x, "black"),
    "smoothgrad_sq": lambda m, x: xh.methods.smoothgrad_sq(m, x, TARGET, n_samples=4, batch_size=3, seed=0),
    "vargrad": lambda m, x: xh.methods.vargrad(m, x, TARGET, n_samples=4, batch_size=3, seed=0),
    "guided_backprop": lambda m, x: xh.methods.guided_backprop(m, x, TARGET),
    "hires_cam": lambda m, x: xh.methods.hires_cam(m, x, TARGET),
    "layer_cam": lambda m, x: xh.methods.layer_cam(m, x, TARGET, layer="2"),
    "ablation_cam": lambda m, x: xh.methods.ablation_cam(m, x, TARGET, batch_size=5),
    "expected_gradients": lambda m, x: xh.methods.expected_gradients(
        m, x, TARGET, baselines=torch.cat([x * 0.5, x.flip(-1), -x]), n_samples=5, batch_size=2, seed=1)[0],
    "denormalize": lambda m, x: m.denormalize(x),
    "to_image": lambda m, x: torch.as_tensor(m.to_image(x)),
}


@pytest.mark.parametrize("name", sorted(HELPERS))
def test_helper_runs_on_a_device_and_gives_the_cpus_result(models, name):
    (cpu, x_cpu), (fake, x_fake) = models
    expected = HELPERS[name](cpu, x_cpu)
    with FactoriesOnDevice():
        got = HELPERS[name](fake, x_fake)
    torch.testing.assert_close(_plain(got).float(), _plain(expected).float(), rtol=1e-5, atol=1e-6)


def _numbers(obj):
    """Every number in a nested result (dicts, records, lists, tensors, arrays), in a fixed order."""
    if hasattr(obj, "keys") and hasattr(obj, "__getitem__") and not isinstance(obj, dict):   # an evaluation record
        obj = {k: obj[k] for k in obj.keys()}
    if isinstance(obj, dict):
        return [v for k in sorted(obj, key=str) for v in _numbers(obj[k])]
    if isinstance(obj, (list, tuple)):
        return [v for o in obj for v in _numbers(o)]
    if isinstance(obj, (torch.Tensor, np.ndarray)):
        return list(np.asarray(xh.to_numpy(obj), dtype=float).ravel())
    return [float(obj)] if isinstance(obj, (int, float)) else []


@pytest.mark.parametrize("name", ["deletion_insertion_curves", "randomised_copy", "road"])
def test_evaluation_runs_on_a_device_and_gives_the_cpus_result(models, name):
    from xai_helpers import evaluation as ev
    calls = {
        "deletion_insertion_curves": lambda m, x: ev.deletion_insertion_curves(
            m, x, TARGET, xh.max_abs_over_channels(xh.vanilla_gradients(m, x, TARGET)), fractions=4),
        "randomised_copy": lambda m, x: ev.randomised_copy(m, 1).model(x),
        "road": lambda m, x: ev.road(m, x, TARGET, xh.grad_cam(m, x, TARGET), percentiles=(30, 70), seed=2),
    }
    (cpu, x_cpu), (fake, x_fake) = models
    expected = _numbers(calls[name](cpu, x_cpu))
    with FactoriesOnDevice():
        got = _numbers(calls[name](fake, x_fake))
    assert expected and np.allclose(got, expected, rtol=1e-4, atol=1e-6)


def test_predictions_and_plots_take_device_tensors(models):
    (cpu, x_cpu), (fake, x_fake) = models
    with FactoriesOnDevice():
        assert xh.predict(fake, x_fake, k=3) == xh.predict(cpu, x_cpu, k=3)
        saliency = xh.max_abs_over_channels(xh.vanilla_gradients(fake, x_fake, TARGET))
        assert np.allclose(xh.to_numpy(saliency), xh.to_numpy(xh.max_abs_over_channels(
            xh.vanilla_gradients(cpu, x_cpu, TARGET))))
        fig, ax = plt.subplots()
        xh.overlay_heatmap(fake.to_image(x_fake), saliency, ax=ax, title="on a device")
        xh.show_map(xh.sum_over_channels(xh.gradient_x_input(fake, x_fake, TARGET)), title="signed")
    plt.close("all")
