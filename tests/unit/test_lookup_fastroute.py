"""The single-user fast route (``userpulse.lookup.service.fastroute``): which requests it takes,
and that a query it reads means what it means to FastAPI (Starlette's query parsing, pydantic's
int with the route's bounds)."""

from __future__ import annotations

import asyncio
from typing import Annotated, Any

import pytest
from hypothesis import given
from hypothesis import strategies as st
from pydantic import Field, TypeAdapter, ValidationError
from starlette.datastructures import QueryParams
from starlette.responses import Response

from userpulse.lookup.service.fastroute import SingleUserRoute, is_single_user_path, simple_query
from userpulse.lookup.service.models import MAX_AS_OF_MS

_AS_OF = TypeAdapter(Annotated[int, Field(ge=0, le=MAX_AS_OF_MS)])


def _fastapi_reading(qs: bytes) -> tuple[str | None, int | None] | str:
    """What the FastAPI route gets from the query (its last value per name), or "invalid"."""
    params = QueryParams(qs)
    raw = params.get("as_of_ms")
    try:
        as_of = None if raw is None else _AS_OF.validate_python(raw, strict=False)
    except ValidationError:
        return "invalid"
    return params.get("features"), as_of


@pytest.mark.parametrize(
    ("qs", "expected"),
    [
        (b"", (None, None)),
        (b"features=count_click_1m,last_seen", ("count_click_1m,last_seen", None)),
        (b"features=count_click_1m%2Clast_seen&as_of_ms=5", ("count_click_1m,last_seen", 5)),
        (b"as_of_ms=0", (None, 0)),
        (b"features=", ("", None)),
        (b"as_of_ms=253402300799999", (None, MAX_AS_OF_MS)),
        (b"as_of_ms=253402300800000", None),  # above the bound: FastAPI's 422
        (b"as_of_ms=-1", None),
        (b"as_of_ms=+5", None),
        (b"as_of_ms=007", None),
        (b"as_of_ms=1e3", None),
        (b"as_of_ms=%201", None),
        (b"features=a&features=b", None),  # FastAPI takes the last: left to it
        (b"x=1", None),
        (b"features=a&x=1", None),
    ],
)
def test_simple_query(qs: bytes, expected: Any) -> None:
    assert simple_query(qs) == expected


@given(
    st.lists(
        st.tuples(
            st.sampled_from(["features", "as_of_ms", "x", "features%5B%5D", ""]),
            st.text(alphabet="0123456789+-, %2Cae_=&;", max_size=12),
        ),
        max_size=3,
    )
)
def test_a_query_it_reads_means_the_same_to_fastapi(pairs: list[tuple[str, str]]) -> None:
    qs = "&".join(f"{k}={v}" for k, v in pairs).encode()
    got = simple_query(qs)
    if got is not None:
        assert _fastapi_reading(qs) == got


@pytest.mark.parametrize(
    ("raw", "single"),
    [
        (b"/v1/users/u1/features", True),
        (b"/v1/users/a%2Ffeatures/features", True),
        (b"/v1/users/a/b/features", True),  # the route's user id is greedy: "a/b"
        (b"/v1/users//features", False),  # no id: FastAPI's 404
        (b"/v1/users/u1/features/", False),
        (b"/v1/features", False),
        (None, False),
    ],
)
def test_which_paths_are_single_user_lookups(raw: Any, single: bool) -> None:
    assert is_single_user_path(raw) is single


async def _run(route: SingleUserRoute, scope: dict[str, Any]) -> list[dict[str, Any]]:
    sent: list[dict[str, Any]] = []

    async def receive() -> dict[str, Any]:
        return {"type": "http.request", "body": b"", "more_body": False}

    async def send(message: Any) -> None:
        sent.append(dict(message))

    await route(scope, receive, send)
    return sent


def test_the_route_answers_simple_lookups_and_passes_the_rest_on() -> None:
    asyncio.run(_answers_and_passes_on())


async def _answers_and_passes_on() -> None:
    calls: list[tuple[str | None, int | None]] = []
    passed: list[str] = []

    async def handler(scope: Any, features: str | None, as_of_ms: int | None) -> Response:
        calls.append((features, as_of_ms))
        return Response(b'{"ok":1}', 200, media_type="application/json")

    async def app(scope: Any, receive: Any, send: Any) -> None:
        passed.append(scope["method"] + " " + scope["raw_path"].decode())
        await Response(b"", 204)(scope, receive, send)

    route = SingleUserRoute(app, handler)

    def scope(method: str, raw: bytes, qs: bytes = b"") -> dict[str, Any]:
        return {"type": "http", "method": method, "raw_path": raw, "path": raw.decode(),
                "query_string": qs, "headers": []}  # fmt: skip

    sent = await _run(route, scope("GET", b"/v1/users/u1/features", b"as_of_ms=7"))
    assert calls == [(None, 7)] and passed == []
    assert sent[0]["status"] == 200 and sent[1]["body"] == b'{"ok":1}'
    await _run(route, scope("GET", b"/v1/users/u1/features", b"as_of_ms=-7"))
    await _run(route, scope("HEAD", b"/v1/users/u1/features"))
    await _run(route, scope("POST", b"/v1/features/batch"))
    assert calls == [(None, 7)]
    assert passed == [
        "GET /v1/users/u1/features",
        "HEAD /v1/users/u1/features",
        "POST /v1/features/batch",
    ]
