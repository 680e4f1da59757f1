"""Link tracking on real Flask responses: bodies, redirects, headers, templates."""

from __future__ import annotations

import gzip
import io
import typing as t

import pytest
from flask import Flask
from flask import redirect
from flask import render_template_string
from flask import request
from flask import Response
from flask import stream_with_context
from markupsafe import escape

from flask_namedsessions import session_start

PAGE = (
    '<a href="/next">next</a> <a href="https://elsewhere.org/x">away</a>'
    '<form method="post"><input name="q"></form>'
)


@pytest.fixture
def database_url(sqlite_url: str) -> str:
    """Links are the same whatever the database: SQLite is enough."""
    return sqlite_url


@pytest.fixture
def make_app(make_app: t.Callable[..., Flask]) -> t.Callable[..., Flask]:
    """Links of sessions that may hold nothing yet: those are stored too
    (NAMEDSESSIONS_SAVE_EMPTY), so every test here has an ID to send."""

    def make(**config: t.Any) -> Flask:
        return make_app(**{"NAMEDSESSIONS_SAVE_EMPTY": True, **config})

    return make


def link_app(app: Flask, **start: t.Any) -> Flask:
    start.setdefault("use_link", True)

    @app.route("/")
    def index() -> str:
        session_start("cart", **start)
        return PAGE

    return app


def test_html_links_and_forms_carry_the_id(app: Flask) -> None:
    response = link_app(app).test_client().get("/")
    sid = _id_from(response.text)
    assert response.text == (
        f'<a href="/next?_session:cart={sid}">next</a> <a href="https://elsewhere.org/x">away</a>'
        f'<form method="post"><input type="hidden" name="_session:cart" value="{sid}">'
        '<input name="q"></form>'
    )
    assert response.headers["Content-Length"] == str(len(response.data))
    assert response.headers["Cache-Control"] == "private, no-store"
    assert response.headers["Referrer-Policy"] == "same-origin"
    assert "Set-Cookie" not in response.headers


def _id_from(text: str) -> str:
    return text.split("_session:cart=", 1)[1].split('"', 1)[0]


def test_next_request_with_parameter_loads_the_session(app: Flask) -> None:
    @app.route("/next")
    def next_() -> str:
        return session_start("cart", use_link=True).result

    client = link_app(app).test_client()
    sid = _id_from(client.get("/").text)
    here = {"Sec-Fetch-Site": "same-origin"}
    assert app.test_client().get(f"/next?_session:cart={sid}", headers=here).text == "load"


def test_existing_referrer_policy_is_kept(app: Flask) -> None:
    @app.route("/")
    def index() -> Response:
        session_start("cart", use_link=True)
        return Response(PAGE, headers={"Referrer-Policy": "no-referrer"})

    response = app.test_client().get("/")
    assert response.headers["Referrer-Policy"] == "no-referrer"
    assert response.headers["Cache-Control"] == "private, no-store"


def test_non_html_responses_are_not_rewritten(app: Flask) -> None:
    @app.route("/json")
    def json() -> dict[str, str]:
        session_start("cart", use_link=True)
        return {"html": PAGE}

    @app.route("/text")
    def text() -> Response:
        session_start("cart", use_link=True)
        return Response(PAGE, mimetype="text/plain")

    client = app.test_client()
    assert client.get("/json").json == {"html": PAGE}
    response = client.get("/text")
    assert response.text == PAGE
    assert "Cache-Control" not in response.headers


def test_cookie_tracked_session_leaves_html_alone(app: Flask) -> None:
    response = link_app(app, use_link=None).test_client().get("/")
    assert response.text == PAGE
    # the new ID is in Set-Cookie alone: no shared cache, but no Referer to guard
    assert response.headers["Cache-Control"] == "private, no-store"
    assert "Referrer-Policy" not in response.headers


def test_same_origin_redirect_carries_the_id(app: Flask) -> None:
    @app.route("/go")
    def go() -> Response:
        session_start("cart", use_link=True)
        return redirect("/target#top")

    @app.route("/away")
    def away() -> Response:
        session_start("cart", use_link=True)
        return redirect("https://elsewhere.org/")

    client = app.test_client()
    response = client.get("/go")
    location = response.headers["Location"]
    assert location.startswith("/target?_session:cart=") and location.endswith("#top")
    assert response.headers["Cache-Control"] == "private, no-store"
    foreign = client.get("/away")
    assert foreign.headers["Location"] == "https://elsewhere.org/"
    assert "Cache-Control" not in foreign.headers


def test_link_hosts_config_counts_as_same_site(make_app: t.Callable[..., Flask]) -> None:
    app = make_app(NAMEDSESSIONS_LINK_HOSTS=["static.example.com"])

    @app.route("/")
    def index() -> str:
        session_start("cart", use_link=True)
        return '<a href="//static.example.com/a">s</a><a href="//other.example.com/a">o</a>'

    text = app.test_client().get("/").text
    assert text.count("_session:cart=") == 1
    assert '<a href="//other.example.com/a">o</a>' in text


def test_streamed_html_is_rewritten_without_content_length(app: Flask) -> None:
    chunks = ["<a hr", 'ef="/a">a</a><for', "m>", "</form>", '<a href="/b">b</a>']

    @app.route("/stream")
    def stream() -> Response:
        session_start("cart", use_link=True)

        def generate() -> t.Iterator[str]:
            yield from chunks

        return Response(stream_with_context(generate()), mimetype="text/html")

    response = app.test_client().get("/stream")
    sid = _id_from(response.text)
    assert "Content-Length" not in response.headers
    assert response.text == (
        f'<a href="/a?_session:cart={sid}">a</a><form>'
        f'<input type="hidden" name="_session:cart" value="{sid}"></form>'
        f'<a href="/b?_session:cart={sid}">b</a>'
    )


def test_template_helpers(app: Flask) -> None:
    @app.route("/")
    def index() -> str:
        session_start("cart")
        session_start("prefs", use_link=True)
        return render_template_string(
            "{{ session_id('cart') }}|{{ session_hidden_input('cart') }}|"
            "{{ session_url('/x', 'cart') }}|{{ session_url('/y?a=1#f') }}"
        )

    client = app.test_client()
    text = client.get("/").text
    cart, hidden, url_cart, url_links = text.split("|")
    assert hidden == f'<input type="hidden" name="_session:cart" value="{cart}">'
    assert url_cart == f"/x?_session:cart={cart}"
    assert url_links.startswith("/y?a=1&amp;_session:prefs=") and url_links.endswith("#f")


def test_ids_written_by_template_helpers_keep_the_page_private(app: Flask) -> None:
    templates = {
        "hidden": "<form>{{ session_hidden_input('cart') }}<input name=q></form>",
        "url": "<a href=\"{{ session_url('/x', 'cart') }}\">x</a>",
        "id": "<p>{{ session_id('cart') }}</p>",
        "nothing": "<p>no ID here</p>",
    }

    @app.route("/<kind>")
    def page(kind: str) -> str:
        session_start("cart", id="app-id", use_none=True)
        return render_template_string(templates[kind])

    client = app.test_client()
    for kind in ("hidden", "url", "id"):
        response = client.get(f"/{kind}")
        assert "app-id" in response.text
        assert response.headers["Cache-Control"] == "private, no-store"
        assert response.headers["Referrer-Policy"] == "same-origin"
    response = client.get("/nothing")
    assert "Cache-Control" not in response.headers


def test_bodies_that_must_not_change_are_left_alone(app: Flask) -> None:
    gzipped = gzip.compress(PAGE.encode(), mtime=0)

    @app.route("/<kind>")
    def page(kind: str) -> Response:
        session_start("cart", use_link=True)
        if kind == "gzip":
            return Response(gzipped, mimetype="text/html", headers={"Content-Encoding": "gzip"})
        if kind == "xhtml":
            return Response(PAGE, mimetype="application/xhtml+xml")
        response = Response(PAGE, mimetype="text/html")
        return response.make_conditional(request, accept_ranges=True, complete_length=len(PAGE))

    client = app.test_client()
    assert client.get("/gzip").data == gzipped
    assert client.get("/xhtml").text == PAGE
    partial = client.get("/range", headers={"Range": "bytes=0-20"})
    assert partial.status_code == 206
    assert partial.data == PAGE.encode()[:21]
    assert partial.headers["Content-Range"] == f"bytes 0-20/{len(PAGE)}"


def test_location_rewritten_only_on_redirects(app: Flask) -> None:
    @app.route("/created", methods=["POST"])
    def created() -> Response:
        session_start("cart", use_link=True)
        return Response("", status=201, headers={"Location": "/items/1"})

    response = app.test_client().post("/created")
    assert response.headers["Location"] == "/items/1"


def test_streamed_page_is_closed_even_when_never_read(app: Flask) -> None:
    closed: list[str] = []

    class Body:
        def __iter__(self) -> t.Iterator[bytes]:
            yield b'<a href="/a">a</a>'

        def close(self) -> None:
            closed.append("closed")

    @app.route("/stream", methods=["GET", "HEAD"])
    def stream() -> Response:
        session_start("cart", use_link=True)
        return Response(Body(), mimetype="text/html")

    client = app.test_client()
    head = client.head("/stream")
    head.close()  # as a WSGI server does, without reading the body
    assert closed == ["closed"]
    page = client.get("/stream")
    assert "_session:cart=" in page.text
    page.close()
    assert closed == ["closed", "closed"]


def test_untrusted_host_is_a_400_not_a_500(app: Flask) -> None:
    app.config["TRUSTED_HOSTS"] = ["localhost"]
    app.config["PROPAGATE_EXCEPTIONS"] = False

    @app.before_request
    def start() -> None:
        session_start("cart", use_link=True)

    @app.route("/")
    def index() -> str:
        return PAGE

    client = app.test_client()
    assert client.get("/", headers={"Host": "evil.example"}).status_code == 400
    assert "_session:cart=" in client.get("/").text


def test_form_body_read_for_the_id_stays_readable(app: Flask) -> None:
    @app.route("/hook", methods=["POST"])
    def hook() -> str:
        result = session_start("cart", use_link=True).result
        return f"{result} {request.get_data(as_text=True)} {request.form['a']}"

    client = app.test_client()
    here = {"Sec-Fetch-Site": "same-origin"}
    assert client.post("/hook", data={"a": "1", "b": "2"}, headers=here).text == "new a=1&b=2 1"


def test_form_body_over_the_apps_limit_is_its_413(app: Flask) -> None:
    app.config["MAX_FORM_MEMORY_SIZE"] = 1000

    @app.route("/upload", methods=["POST"])
    def upload() -> str:
        session_start("cart", use_link=True)
        return "read"

    response = app.test_client().post(
        "/upload",
        data={"field": "x" * 5000, "f": (io.BytesIO(b"1"), "f")},
        headers={"Sec-Fetch-Site": "same-origin"},
    )
    assert response.status_code == 413


@pytest.mark.parametrize(
    "url",
    [
        "https://evil.example/x",
        "//evil.example/x",
        "http:\\\\evil.example/x",
        " https://evil.example",
        "http://localhost.evil.example/",
        "http://user@evil.example/",
        "http://localhost:8080/x",
        "javascript:alert(1)",
        "mailto:a@example.org",
        "data:text/html,<a href=/x>",
    ],
)
def test_session_url_leaves_other_sites_urls_alone(app: Flask, url: str) -> None:
    @app.route("/")
    def index() -> str:
        session_start("cart", use_link=True)
        session_start("prefs")
        return render_template_string(
            "{{ session_url(url) }}|{{ session_url(url, 'prefs') }}", url=url
        )

    response = app.test_client().get("/")
    assert response.text.split("|") == [str(escape(url))] * 2
    assert "Referrer-Policy" not in response.headers


def test_session_url_adds_ids_to_this_sites_urls(make_app: t.Callable[..., Flask]) -> None:
    app = make_app(NAMEDSESSIONS_LINK_HOSTS=["shop.example.com"])

    @app.route("/")
    def index() -> str:
        session_start("cart", use_link=True)
        return render_template_string(
            "{% for u in urls %}{{ session_url(u) }} {% endfor %}",
            urls=["/x", "x?a=1", "http://localhost/x", "//localhost/x", "http://shop.example.com/"],
        )

    response = app.test_client().get("/")
    sid = response.text.split()[0].split("=")[1]
    assert response.text.split() == [
        f"/x?_session:cart={sid}",
        f"x?a=1&amp;_session:cart={sid}",
        f"http://localhost/x?_session:cart={sid}",
        f"//localhost/x?_session:cart={sid}",
        f"http://shop.example.com/?_session:cart={sid}",
    ]


@pytest.mark.parametrize(
    "query",
    [
        "_session:cart=" + "A" * 43,
        "_session%3Acart=unknown",
        "a=1&_session:prefs=x",
        "_session:cart=",
    ],
)
def test_page_whose_url_carries_an_id_is_private_without_a_session(app: Flask, query: str) -> None:
    @app.route("/plain")
    def plain() -> Response:
        return Response(PAGE, headers={"Cache-Control": "public, max-age=600"})

    response = app.test_client().get(f"/plain?{query}")
    assert response.text == PAGE
    assert response.headers["Cache-Control"] == "private, no-store"
    assert response.headers["Referrer-Policy"] == "same-origin"


def test_page_without_an_id_in_its_url_keeps_its_headers(app: Flask) -> None:
    @app.route("/plain")
    def plain() -> Response:
        return Response(PAGE, headers={"Cache-Control": "public, max-age=600"})

    for query in ("", "?a=1", "?session_cart=x", "?_session:bad%20name=x", "?_sessions=x"):
        response = app.test_client().get(f"/plain{query}")
        assert response.headers["Cache-Control"] == "public, max-age=600", query
        assert "Referrer-Policy" not in response.headers


def test_new_id_in_set_cookie_replaces_a_public_cache_control(app: Flask) -> None:
    @app.route("/")
    def index() -> Response:
        s = session_start("cart")
        s["n"] = (s.get("n") or 0) + 1
        return Response(s.result, headers={"Cache-Control": "public, max-age=600"})

    client = app.test_client()
    first = client.get("/")
    assert "Set-Cookie" in first.headers
    assert first.headers["Cache-Control"] == "private, no-store"
    assert "Referrer-Policy" not in first.headers  # the URL carries no ID
    again = client.get("/")  # no new ID: the app's choice stands
    assert "Set-Cookie" not in again.headers
    assert again.headers["Cache-Control"] == "public, max-age=600"


@pytest.mark.parametrize(
    ("chosen", "sent"),
    [
        ("unsafe-url", "same-origin"),
        ("no-referrer-when-downgrade", "same-origin"),
        ("origin-when-cross-origin", "same-origin"),
        ("strict-origin-when-cross-origin", "same-origin"),
        ("origin", "same-origin"),
        ("no-referrer, unsafe-url", "same-origin"),  # the last known policy wins
        ("UNSAFE-URL", "same-origin"),
        ("bogus", "same-origin"),
        ("no-referrer", "no-referrer"),
        ("same-origin", "same-origin"),
        ("strict-origin", "strict-origin"),
        ("unsafe-url, no-referrer", "unsafe-url, no-referrer"),
        ("No-Referrer", "No-Referrer"),
        ("no-referrer, bogus", "no-referrer, bogus"),
    ],
)
def test_weaker_referrer_policy_is_replaced_on_pages_with_an_id(
    app: Flask, chosen: str, sent: str
) -> None:
    @app.route("/")
    def index() -> Response:
        session_start("cart", use_link=True)
        return Response(PAGE, headers={"Referrer-Policy": chosen})

    @app.route("/plain")
    def plain() -> Response:
        return Response(PAGE, headers={"Referrer-Policy": chosen})

    client = app.test_client()
    assert client.get("/").headers["Referrer-Policy"] == sent
    assert client.get("/plain?_session:cart=x").headers["Referrer-Policy"] == sent
    assert client.get("/plain").headers["Referrer-Policy"] == chosen
