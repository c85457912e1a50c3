"""``python -m lookup.service [--openapi]``: serve (settings from the environment), or print the
OpenAPI document (``python -m lookup.service --openapi > docs/openapi.json``)."""

from __future__ import annotations

import sys

from lookup.service.server import openapi_json, serve
from userpulse.settings import Settings

if "--openapi" in sys.argv[1:]:
    sys.stdout.write(openapi_json())
else:
    serve(Settings())
