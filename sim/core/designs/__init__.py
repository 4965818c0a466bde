"""Network designs: who teaches whom, in which topic (docs/ODD.md 7.3).

Every module of this package is imported here, so a design's module registers it (and its
parameters) without being listed anywhere: a new design is one module plus its
`configs/network/<name>.yaml` (README, "Adding a design"). What designs share is in
sim.core.designs.base.
"""

import importlib
import pkgutil

for _module in pkgutil.iter_modules(__path__):
    importlib.import_module(f"{__name__}.{_module.name}")
