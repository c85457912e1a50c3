"""Writers to the online store (Redis) and the one module that owns its key layout."""
