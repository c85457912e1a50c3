"""userpulse: real-time per-user engagement features (Kafka -> PyFlink -> Redis -> lookup).

The core package is pure Python (no PyFlink import): settings, the event model, feature
definitions, tile/window arithmetic and the reference implementation. Adapters live in
``userpulse.jobs`` (PyFlink), ``userpulse.sinks`` (seeding the store), ``userpulse.producers``
(Kafka) and ``userpulse.lookup`` (readers); contracts in ``userpulse.schemas`` and
``userpulse.layout``.
"""

from pathlib import Path as _Path

__version__ = "0.1.0"

# In a source checkout, jobs/, lookup/, producers/, schemas/ and sinks/ sit beside this folder
# (pyproject.toml maps them to userpulse.jobs, ...; installed, they are subfolders of it). An
# editable install maps them with an import hook that a .pth file installs; an interpreter that
# gets the checkout only through PYTHONPATH (PyFlink's embedded workers) has no hook, so the
# checkout also joins this package's search path. Installed, the parent is site-packages
# (no pyproject.toml): nothing changes.
_CHECKOUT = _Path(__file__).resolve().parent.parent
if (_CHECKOUT / "pyproject.toml").is_file() and (_CHECKOUT / "jobs" / "__init__.py").is_file():
    __path__.append(str(_CHECKOUT))
