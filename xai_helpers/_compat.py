"""Old module paths (``xai_helpers.cam``, ``xai_helpers.vit``, ...) kept importable while lessons move to the
layered layout: each old name is registered in ``sys.modules`` as the module that now holds its code, or, where a
module was split, as a read-only view of the parts. No code lives here."""
import importlib
import sys
import types

#: old module -> the module(s) that hold its names now (first wins on a clash)
OLD_PATHS = {
    "_checks": ["_validate"],
    "models": ["models.base", "models.image", "data"],
    "text": ["models.text", "models.base"],
    "text_classifier": ["models.sentiment"],
    "vit": ["models.vit", "digits", "methods.vit", "evaluation.localisation", "interpret.scenes",
            "viz.plotting"],
    "predict": ["models.prediction"],
    "gradients": ["methods.gradients"],
    "cam": ["methods.cam"],
    "integrated": ["methods.integrated"],
    "attention": ["methods.attention", "viz.attention", "_validate"],
    "plotting": ["viz.plotting"],
    "bertviz_offline": ["viz.bertviz_offline"],
    "groundtruth": ["evaluation.groundtruth"],
    "check_problem6": ["check.problem6"],
    "explorer": ["explore.runner", "explore"],
    "explorer_image": ["explore.image"],
    "explorer_text": ["explore.text"],
}


def _view(old, parts):
    modules = [importlib.import_module(f"{__package__}.{p}") for p in parts]
    if len(modules) == 1:
        return modules[0]
    view = types.ModuleType(f"{__package__}.{old}", f"Old path of {', '.join(m.__name__ for m in modules)}.")
    for module in reversed(modules):
        view.__dict__.update({k: v for k, v in vars(module).items() if not k.startswith("__")})
    return view


def install(package):
    """Register every old path under ``package`` (the ``xai_helpers`` module object)."""
    for old, parts in OLD_PATHS.items():
        module = _view(old, parts)
        sys.modules.setdefault(f"{package.__name__}.{old}", module)
        if not hasattr(package, old):
            setattr(package, old, module)
