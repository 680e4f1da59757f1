"""A shop whose ``cart`` travels by link, and an attacker's page, for
Chromium to show who may hand in a session ID (SPEC section 4).

The same server answers for the shop and the attacker: Chromium tells them
apart by host name (``localhost`` and ``127.0.0.1``, or two names mapped to
127.0.0.1), which is all that makes them two sites, or two subdomains of one.
"""

from __future__ import annotations

import os

from flask import Flask
from flask import redirect
from flask import render_template_string
from flask import request
from flask import url_for
from werkzeug import Response

from flask_namedsessions import NamedSessions
from flask_namedsessions import session_start

SHOP = """<!doctype html>
<title>shop</title>
<p>result <span id="result">{{ s.result }}</span>, items <span id="count">{{ s.n }}</span>,
cookie <span id="cookie">{{ cookie }}</span>,
site <span id="site">{{ request.headers.get("Sec-Fetch-Site", "-") }}</span></p>
<a id="again" href="{{ url_for('shop') }}">again</a>
<a id="go" href="{{ url_for('go') }}">via a redirect</a>
<form id="add" method="post" action="{{ url_for('add') }}"><button>add</button></form>
"""

ATTACKER = """<!doctype html>
<title>attacker</title>
<a id="planted" href="{{ url }}">free gift</a>
<a id="planted-noreferrer" rel="noreferrer" href="{{ url }}">free gift</a>
<form id="planted-form" method="post" action="{{ action }}">
  <input type="hidden" name="{{ param }}" value="{{ sid }}"><button>claim</button></form>
"""


def create_app() -> Flask:
    app = Flask(__name__)
    app.config["NAMEDSESSIONS_DATABASE_URI"] = os.environ["NAMEDSESSIONS_DATABASE_URI"]
    app.config["NAMEDSESSIONS_DEFAULT_TRACKING"] = os.environ.get("TEST_TRACKING", "link")
    NamedSessions(app)

    def cart() -> tuple[object, str]:
        s = session_start("cart")
        s.setdefault("n", 0)
        return s, request.cookies.get("session_cart", "-")

    @app.route("/ready")
    def ready() -> str:
        return "ok"

    @app.route("/shop")
    def shop() -> str:
        s, cookie = cart()
        return render_template_string(SHOP, s=s, cookie=cookie)

    @app.post("/shop/add")
    def add() -> Response:
        s = session_start("cart")
        s["n"] = (s.get("n") or 0) + 1
        return redirect(url_for("shop"))

    @app.route("/go")
    def go() -> Response:
        session_start("cart")
        return redirect(url_for("shop"))

    @app.route("/attacker")
    def attacker() -> str:
        """Another site's page: a link and a form that carry ``sid`` to the
        shop at ``target``."""
        target = request.args["target"]
        sid = request.args["sid"]
        param = "_session:cart"
        return render_template_string(
            ATTACKER,
            url=f"{target}/shop?{param}={sid}",
            action=f"{target}/shop/add",
            param=param,
            sid=sid,
        )

    @app.route("/toss")
    def toss() -> Response:
        """A sibling subdomain's page: it sets ``session_cart`` for the whole
        parent domain, with a longer path, so that browsers send it first."""
        response = Response("tossed")
        response.set_cookie(
            "session_cart", request.args["sid"], domain=request.args["domain"], path="/shop"
        )
        return response

    return app
