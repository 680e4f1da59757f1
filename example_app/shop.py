"""A shop whose cart works with cookies blocked.

The ``cart`` session runs in ``use_auto`` mode: it always sets a cookie, and
while the browser sends none back, every same-origin link and form of the page
(and the redirect after adding an item) carries the ID instead.
"""

from __future__ import annotations

from flask import abort
from flask import Blueprint
from flask import g
from flask import redirect
from flask import render_template
from flask import request
from flask import url_for
from werkzeug import Response

from flask_namedsessions import NamedSession
from flask_namedsessions import session_start

bp = Blueprint("shop", __name__, url_prefix="/shop")

PRODUCTS = {
    "towel": ("Towel", 4200),
    "guide": ("The Guide", 1999),
    "babelfish": ("Babel fish", 4250),
    "teapot": ("Teapot", 1250),
}


def _cart() -> NamedSession:
    cart = session_start("cart", use_auto=True, expires=60)
    if "cart_items" not in cart:
        cart["cart_items"] = {}
    return cart


def _render(template: str, **context: object) -> str:
    items = g.cart_items
    total = sum(PRODUCTS[p][1] * n for p, n in items.items())
    return render_template(
        template,
        products=PRODUCTS,
        items=items,
        count=sum(items.values()),
        total=total,
        cart=session_start("cart"),
        **context,
    )


@bp.route("/")
def catalogue() -> str:
    _cart()
    return _render("shop/catalogue.html")


@bp.route("/item/<product>")
def item(product: str) -> str:
    if product not in PRODUCTS:
        abort(404)
    _cart()
    return _render("shop/item.html", product=product)


@bp.route("/add", methods=["POST"])
def add() -> Response:
    _cart()
    product = request.form.get("product", "")
    if product not in PRODUCTS:
        abort(400)
    quantity = max(1, min(request.form.get("quantity", 1, type=int) or 1, 99))
    items = dict(g.cart_items)
    items[product] = items.get(product, 0) + quantity
    g.cart_items = items
    return redirect(url_for("shop.cart"))


@bp.route("/remove", methods=["POST"])
def remove() -> Response:
    _cart()
    items = dict(g.cart_items)
    items.pop(request.form.get("product", ""), None)
    g.cart_items = items
    return redirect(url_for("shop.cart"))


@bp.route("/cart")
def cart() -> str:
    _cart()
    return _render("shop/cart.html")


@bp.route("/checkout", methods=["GET", "POST"])
def checkout() -> str:
    cart = _cart()
    if request.method == "POST" and g.cart_items:
        ordered = sum(g.cart_items.values())
        total = sum(PRODUCTS[p][1] * n for p, n in g.cart_items.items())
        cart.end()
        return render_template("shop/done.html", ordered=ordered, total=total)
    return _render("shop/checkout.html")
