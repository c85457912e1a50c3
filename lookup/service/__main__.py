"""``python -m userpulse.lookup.service [--openapi | new-key | hash-key]``: serve (settings from the
environment), print the OpenAPI document (``python -m userpulse.lookup.service --openapi >
docs/openapi.json``), make a team's API key and the hash to put in the teams file, or hash a key
read from stdin (:mod:`userpulse.lookup.service.teams`)."""

from __future__ import annotations

import sys

from userpulse.lookup.service.server import openapi_json, serve
from userpulse.lookup.service.teams import hash_key, new_key
from userpulse.settings import Settings

args = sys.argv[1:]
if "--openapi" in args:
    sys.stdout.write(openapi_json())
elif args[:1] == ["new-key"]:
    key, digest = new_key()
    print(f"key (give it to the team, store it nowhere else): {key}")
    print(f"api_key_sha256 (put it in the teams file):        {digest}")
elif args[:1] == ["hash-key"]:
    print(hash_key(sys.stdin.readline().rstrip("\n")))
else:
    serve(Settings())
