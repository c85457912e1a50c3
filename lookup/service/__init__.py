"""The HTTP lookup service (extra ``service``: FastAPI + uvicorn): create_app, serve.

Run it with ``userpulse features serve`` or ``python -m userpulse.lookup.service``.
"""

from userpulse.lookup.service.app import create_app
from userpulse.lookup.service.server import openapi_document, serve

__all__ = ["create_app", "openapi_document", "serve"]
