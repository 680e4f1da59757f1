"""A form body is read for the ID parameter only when the session's mode
takes the parameter, and only up to NAMEDSESSIONS_MAX_PARAM_BODY (SPEC
section 4); whatever is read stays readable by the view."""

from __future__ import annotations

import io
import tracemalloc
import typing as t
from urllib.parse import urlencode

import pytest
from flask import Flask
from flask import request

from flask_namedsessions import session_start

HERE = {"Sec-Fetch-Site": "same-origin"}
LIMIT = 65536


@pytest.fixture
def database_url(sqlite_url: str) -> str:
    """Reading the body happens before the store is asked: SQLite is enough."""
    return sqlite_url


def body_app(app: Flask) -> t.Any:
    """``/new`` makes a session and answers its ID; ``/post`` says whether
    the ID in the body loaded it, and what the view then reads of the body
    (``read``: all of it, the raw stream, its first bytes, the form, none). The
    client keeps no cookies, so only the parameter can carry the ID."""

    @app.route("/new")
    def new() -> str:
        s = session_start("cart", use_link=True)
        s["n"] = 1
        return s.id

    @app.route("/post", methods=["POST"])
    def post() -> str:
        link = request.args.get("mode") != "cookie"
        result = session_start("cart", use_link=link).result
        read = request.args.get("read", "data")
        if read == "none":
            return result
        if read == "head":
            return f"{result} {request.stream.read(16).decode()}"
        if read == "stream":
            return f"{result} {len(request.stream.read())}"
        if read == "form":
            return f"{result} {request.form['pad'][:3]}"
        return f"{result} {len(request.get_data())} {request.form['pad'][:3]}"

    return app.test_client(use_cookies=False)


def form_of_size(session_id: str, size: int) -> bytes:
    """A URL-encoded body of exactly ``size`` bytes, the ID first (where the
    link rewriter puts its hidden input)."""
    head = urlencode({"_session:cart": session_id, "pad": ""})
    return (head + "x" * (size - len(head))).encode()


def post(client: t.Any, path: str, body: bytes, headers: dict[str, str] = HERE) -> str:
    reply = client.post(
        path, data=body, headers=headers, content_type="application/x-www-form-urlencoded"
    )
    return str(reply.text)


def test_body_up_to_the_limit_is_read_and_stays_readable(app: Flask) -> None:
    client = body_app(app)
    sid = client.get("/new").text
    assert post(client, "/post", form_of_size(sid, LIMIT)) == f"load {LIMIT} xxx"


@pytest.mark.parametrize(("read", "shown"), [("data", f"{LIMIT + 1} xxx"), ("stream", "65537")])
def test_longer_body_is_left_to_the_view(app: Flask, read: str, shown: str) -> None:
    client = body_app(app)
    sid = client.get("/new").text
    assert post(client, f"/post?read={read}", form_of_size(sid, LIMIT + 1)) == f"new {shown}"


@pytest.mark.parametrize(("limit", "result"), [(149, "new"), (150, "load"), (0, "new")])
def test_limit_follows_config(make_app: t.Callable[..., Flask], limit: int, result: str) -> None:
    client = body_app(make_app(NAMEDSESSIONS_MAX_PARAM_BODY=limit))
    sid = client.get("/new").text
    assert post(client, "/post", form_of_size(sid, 150)) == f"{result} 150 xxx"


@pytest.mark.parametrize(
    ("path", "headers"),
    [
        ("/post?mode=cookie&read=stream", HERE),  # a cookie session never reads it
        ("/post?read=stream", {"Sec-Fetch-Site": "cross-site"}),
        ("/post?read=stream", {}),
    ],
)
def test_body_the_session_may_not_use_is_left_unread(
    app: Flask, path: str, headers: dict[str, str]
) -> None:
    client = body_app(app)
    sid = client.get("/new").text
    # the raw stream is still whole: nothing read it before the view
    assert post(client, path, form_of_size(sid, 1000), headers) == "new 1000"


def test_body_of_unknown_length_is_left_unread(app: Flask) -> None:
    client = body_app(app)
    sid = client.get("/new").text
    reply = client.post(
        "/post?read=stream",
        input_stream=io.BytesIO(form_of_size(sid, 1000)),
        headers={**HERE, "Transfer-Encoding": "chunked"},
        content_type="application/x-www-form-urlencoded",
        # as a server that decodes chunked bodies says it did
        environ_overrides={"wsgi.input_terminated": True},
    )
    assert reply.text == "new 1000"


def test_large_upload_carries_its_id_in_the_action_query(app: Flask) -> None:
    client = body_app(app)
    sid = client.get("/new").text

    def upload() -> dict[str, t.Any]:
        return {"_session:cart": sid, "pad": "abc", "file": (io.BytesIO(b"z" * 200_000), "f")}

    assert client.post("/post?read=form", data=upload(), headers=HERE).text == "new abc"
    reply = client.post(f"/post?_session:cart={sid}&read=form", data=upload(), headers=HERE)
    assert reply.text == "load abc"


class _Generated(io.RawIOBase):
    """``head`` then ``x`` up to ``size`` bytes, made as they are read: the
    body never exists in memory as a whole."""

    def __init__(self, head: bytes, size: int) -> None:
        self.head = head
        self.size = size
        self.pos = 0

    def readable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return True  # the test client measures the body by seeking to its end

    def seek(self, offset: int, whence: int = io.SEEK_SET) -> int:
        self.pos = {io.SEEK_SET: 0, io.SEEK_CUR: self.pos, io.SEEK_END: self.size}[whence] + offset
        return self.pos

    def tell(self) -> int:
        return self.pos

    def readinto(self, buffer: t.Any) -> int:
        count = min(len(buffer), self.size - self.pos, 1 << 16)
        part = self.head[self.pos : self.pos + count]
        buffer[:count] = part + b"x" * (count - len(part))
        self.pos += count
        return count


def test_huge_form_body_is_never_buffered(app: Flask) -> None:
    """A 200 MiB URL-encoded POST to a view that starts a link-tracked
    session. Before the limit, the whole body was read into memory for the
    ID (a peak of 800 MiB here, see benchmarks/README.md); now none of it
    is, and the view reads it from the start."""
    size = 200 * 1024 * 1024
    client = body_app(app)
    sid = client.get("/new").text
    head = urlencode({"_session:cart": sid}).encode() + b"&pad="
    tracemalloc.start()
    try:
        reply = client.post(
            "/post?read=head",
            input_stream=_Generated(head, size),
            headers=HERE,
            content_type="application/x-www-form-urlencoded",
        )
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert reply.text == "new _session%3Acart="
    assert peak < 4 * 1024 * 1024, f"peak {peak / 2**20:.1f} MiB"


def test_body_over_the_apps_content_limit_is_its_413(app: Flask) -> None:
    app.config["MAX_CONTENT_LENGTH"] = 1000
    client = body_app(app)
    sid = client.get("/new").text
    reply = client.post(
        "/post?read=none",
        data=form_of_size(sid, 1001),
        headers=HERE,
        content_type="application/x-www-form-urlencoded",
    )
    assert reply.status_code == 413
