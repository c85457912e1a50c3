"""Benchmarks of userpulse (``make bench``): separate from the tests, run on the real local stack.

``python -m bench.run`` is the orchestrator; see ``docs/bench.md`` for how to read its report.
"""
