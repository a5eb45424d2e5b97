"""Reference calculators by name: the one registry the melt-quench and labelling use.

Adding a code means adding one entry here, not touching the rules.
"""

from __future__ import annotations

import importlib
from typing import Any, Callable


def _chgnet(**kwargs):
    from chgnet.model import CHGNet
    from chgnet.model.dynamics import CHGNetCalculator

    model = CHGNet.load(verbose=False)
    kwargs.setdefault("use_device", "cpu")
    return CHGNetCalculator(model=model, **kwargs)


REGISTRY: dict[str, Callable[..., Any]] = {"chgnet": _chgnet}


def make_calculator(name: str, kwargs: dict | None = None):
    """An ASE calculator from a registered name or an import path 'package.module:Class'."""
    kwargs = dict(kwargs or {})
    if name in REGISTRY:
        return REGISTRY[name](**kwargs)
    if ":" in name:
        module_name, _, attr = name.partition(":")
        try:
            factory = getattr(importlib.import_module(module_name), attr)
        except (ImportError, AttributeError) as err:
            raise ValueError(f"reference.calculator {name!r}: cannot import ({err})") from None
        return factory(**kwargs)
    raise ValueError(f"reference.calculator {name!r}: unknown; use one of "
                     f"{', '.join(sorted(REGISTRY))} or an import path 'package.module:Class'")
