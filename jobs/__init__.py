"""The PyFlink feature job: a thin adapter over the pure core in ``userpulse``."""
