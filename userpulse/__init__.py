"""userpulse: real-time per-user engagement features (Kafka -> PyFlink -> Redis -> lookup).

The core package is pure Python (no PyFlink import): settings, the event model, feature
definitions, tile/window arithmetic and the reference implementation. Adapters live in
``jobs`` (PyFlink), ``sinks`` (Redis writer), ``producers`` (Kafka) and ``lookup`` (readers).
"""

__version__ = "0.1.0"
