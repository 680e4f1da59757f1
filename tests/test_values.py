"""What values can be stored, and what happens with those that cannot."""

from __future__ import annotations

import datetime
import decimal
import typing as t
import uuid

import pytest
import sqlalchemy as sa
from flask import Flask
from flask import g
from flask import request
from markupsafe import Markup

from flask_namedsessions import serialize
from flask_namedsessions import session_add_var
from flask_namedsessions import session_start
from flask_namedsessions import SessionValueError
from flask_namedsessions.extension import get_state

VALUES: dict[str, t.Any] = {
    "tuple": (1, "two", (3.5, None)),
    "bytes": b"\x00\xffbinary",
    "naive": datetime.datetime(2026, 11, 22, 15, 30, 1, 123456),
    "aware": datetime.datetime(
        2026, 11, 22, 15, 30, 1, 5, tzinfo=datetime.timezone(datetime.timedelta(hours=2))
    ),
    "uuid": uuid.UUID("12345678-1234-5678-1234-567812345678"),
    "markup": Markup("<b>bold</b>"),
    "nested": {"list": [1, 2, {"k": b"v"}], "flag": True, "none": None},
    "text": "caf\u00e9 \U0001f680 \x00",
    "big": 2**62,
    "float": 0.1,
}


def stored_rows(app: Flask) -> list[t.Any]:
    with app.app_context():
        store = get_state(app).store
        with store.engine.connect() as conn:
            return list(conn.execute(sa.select(store.tables.variables)).all())


def test_rich_values_round_trip(app: Flask) -> None:
    @app.route("/set")
    def set_() -> str:
        s = session_start("data")
        for key, value in VALUES.items():
            s[key] = value
        return ""

    @app.route("/get")
    def get_() -> str:
        session_start("data")
        for key, value in VALUES.items():
            loaded = getattr(g, key)
            assert loaded == value, key
            assert type(loaded) is type(value), key
        return "ok"

    client = app.test_client()
    client.get("/set")
    assert client.get("/get").text == "ok"


def test_missing_g_attribute_saves_none(app: Flask) -> None:
    @app.route("/set")
    def set_() -> str:
        session_start("data")
        session_add_var("data", "never_set")
        return ""

    @app.route("/get")
    def get_() -> str:
        s = session_start("data")
        return f"{'never_set' in s} {g.never_set}"

    client = app.test_client()
    client.get("/set")
    assert client.get("/get").text == "True None"


@pytest.mark.parametrize(
    ("value", "type_name"),
    [
        (decimal.Decimal("1.5"), "Decimal"),
        (object(), "object"),
        ({1, 2}, "set"),
        ({"price": decimal.Decimal("1.5")}, "Decimal"),
        ([1, ("a", {1, 2})], "set"),
    ],
)
def test_unstorable_value_raises_and_writes_nothing(
    app: Flask, value: t.Any, type_name: str
) -> None:
    @app.route("/good")
    def good() -> str:
        s = session_start("cart")
        s["fine"] = 1
        return ""

    @app.route("/bad")
    def bad() -> str:
        s = session_start("cart")
        other = session_start("other")
        other["fine"] = "also not written"
        s["fine"] = 2
        s["broken"] = value
        return ""

    client = app.test_client()
    client.get("/good")
    before = stored_rows(app)
    with pytest.raises(SessionValueError) as info:
        client.get("/bad")
    assert str(info.value).startswith(
        f"cannot store variable 'broken' of session 'cart': {type_name} values"
    )
    assert info.value.session == "cart" and info.value.var == "broken"
    assert stored_rows(app) == before


@pytest.mark.parametrize(
    ("value", "reason"),
    [
        ({1: "one"}, "dict keys must be strings, not int"),
        ({"a": [{"b": {True: 1}}]}, "dict keys must be strings, not bool"),
        ({None: 1}, "dict keys must be strings, not NoneType"),
        ({("a", 1): 1}, "dict keys must be strings, not tuple"),
    ],
)
def test_dict_with_other_keys_raises_instead_of_changing_them(
    app: Flask, value: t.Any, reason: str
) -> None:
    @app.route("/bad")
    def bad() -> str:
        session_start("cart")["counts"] = value
        return ""

    with pytest.raises(SessionValueError) as info:
        app.test_client().get("/bad")
    assert str(info.value) == (f"cannot store variable 'counts' of session 'cart': {reason}")
    assert stored_rows(app) == []


def _nested(depth: int) -> list[t.Any]:
    value: list[t.Any] = []
    for _ in range(depth):
        value = [value]
    return value


def test_too_deep_or_circular_value_raises_saying_so(app: Flask) -> None:
    circular: list[t.Any] = []
    circular.append(circular)
    values = {"deep": _nested(5000), "circular": circular}

    @app.route("/<kind>")
    def bad(kind: str) -> str:
        session_start("cart")["value"] = values[kind]
        return ""

    client = app.test_client()
    for kind in values:
        with pytest.raises(SessionValueError) as info:
            client.get(f"/{kind}")
        assert str(info.value).endswith("'cart': it is nested too deeply or contains itself")
    assert stored_rows(app) == []


def test_unstorable_value_is_a_500_without_propagation(app: Flask) -> None:
    app.config["PROPAGATE_EXCEPTIONS"] = False

    @app.route("/bad")
    def bad() -> str:
        session_start("cart")["broken"] = object()
        return "should not be sent"

    response = app.test_client().get("/bad")
    assert response.status_code == 500
    assert "Set-Cookie" not in response.headers
    assert stored_rows(app) == []


@pytest.mark.parametrize(
    "var",
    ["1abc", "with space", "_namedsessions", "a" * 129, "", "get", "pop", "__dict__", "__x__"],
)
def test_bad_variable_name_raises_naming_session(app: Flask, var: str) -> None:
    with app.test_request_context():
        session_start("cart")
        with pytest.raises(SessionValueError, match=r"cannot track variable .* in session 'cart'"):
            session_add_var("cart", var)


def test_unstorable_value_reaches_the_apps_error_handler(app: Flask) -> None:
    @app.errorhandler(SessionValueError)
    def refused(exc: SessionValueError) -> tuple[str, int]:
        return f"refused {exc.session}.{exc.var}", 400

    @app.route("/bad")
    def bad() -> str:
        session_start("cart")["broken"] = object()
        return "should not be sent"

    response = app.test_client().get("/bad")
    assert (response.status_code, response.text) == (400, "refused cart.broken")
    assert "Set-Cookie" not in response.headers
    assert stored_rows(app) == []


def test_failed_save_sends_no_new_id_even_when_saving_on_error(
    make_app: t.Callable[..., Flask],
) -> None:
    app = make_app(NAMEDSESSIONS_SAVE_ON_ERROR=True)
    app.config["PROPAGATE_EXCEPTIONS"] = False

    @app.route("/")
    def index() -> str:
        s = session_start("cart", rotate=request.args.get("rotate") == "1")
        s.setdefault("user", "alice")
        if request.args.get("broken"):
            s["broken"] = object()
        return f"{s.result} {g.user}"

    client = app.test_client()
    assert client.get("/").text == "new alice"
    failed = client.get("/?rotate=1&broken=1")
    assert failed.status_code == 500
    assert "Set-Cookie" not in failed.headers
    assert client.get("/").text == "load alice"


SURROGATE_REASON = (
    "it holds text that is not valid Unicode (a lone surrogate, {}),"
    " which no database can store as UTF-8"
)


@pytest.mark.parametrize(
    ("value", "shown"),
    [
        ("\ud800", "\\ud800"),
        ("caf\u00e9 \udfff", "\\udfff"),
        ({"note": "\ud800"}, "\\ud800"),
        ({"\udbff": 1}, "\\udbff"),  # a key
        (["ok", ("x", {"deep": ["\udc00"]})], "\\udc00"),
        (Markup("<b>\ud83d</b>"), "\\ud83d"),
    ],
)
def test_lone_surrogate_raises_before_anything_is_written(
    app: Flask, value: t.Any, shown: str
) -> None:
    @app.route("/good")
    def good() -> str:
        session_start("cart")["fine"] = 1
        return ""

    @app.route("/bad")
    def bad() -> str:
        other = session_start("other")
        other["fine"] = "also not written"
        s = session_start("cart")
        s["fine"] = 2
        s["note"] = value
        return ""

    client = app.test_client()
    client.get("/good")
    before = stored_rows(app)
    with pytest.raises(SessionValueError) as info:
        client.get("/bad")
    assert str(info.value) == (
        "cannot store variable 'note' of session 'cart': " + SURROGATE_REASON.format(shown)
    )
    assert (info.value.session, info.value.var) == ("cart", "note")
    assert stored_rows(app) == before


def test_lone_surrogate_from_json_input_reaches_the_apps_error_handler(app: Flask) -> None:
    @app.errorhandler(SessionValueError)
    def refused(exc: SessionValueError) -> tuple[str, int]:
        return f"refused {exc.session}.{exc.var}", 400

    @app.route("/notes", methods=["POST"])
    def notes() -> str:
        session_start("form")["note"] = request.get_json()["note"]
        return "saved"

    # JSON may escape a lone surrogate; Python's decoder accepts it.
    response = app.test_client().post(
        "/notes", data='{"note": "\\ud800"}', content_type="application/json"
    )
    assert (response.status_code, response.text) == (400, "refused form.note")
    assert "Set-Cookie" not in response.headers
    assert stored_rows(app) == []


def test_names_differing_only_in_case_or_accents_are_distinct(app: Flask) -> None:
    names = {"Total": 1, "total": 2, "café": 3, "cafe": 4, "CAFÉ": 5}

    @app.route("/set")
    def set_() -> str:
        session_start("cart").update(names)
        return ""

    @app.route("/get")
    def get_() -> str:
        s = session_start("cart")
        return repr({n: s[n] for n in sorted(s)})

    client = app.test_client()
    client.get("/set")
    assert client.get("/get").text == repr(dict(sorted(names.items())))
    assert len(stored_rows(app)) == 5


UTC_TIME = datetime.datetime(2026, 1, 2, 3, 4, 5, 6, tzinfo=datetime.timezone.utc)
OTHER_ZONE = datetime.timezone(datetime.timedelta(hours=1))
UUIDS = (uuid.UUID(int=1), uuid.UUID(int=2))


def _set(value: t.Any, index: t.Any, new: t.Any) -> None:
    value[index] = new


def _reorder(value: dict[str, t.Any]) -> None:
    value["a"] = value.pop("a")


#: A stored value, what the next request does to it (in place, or by
#: returning a replacement), and what the request after that finds: each an
#: equal value that encodes differently, or a change deep inside.
CHANGES: dict[str, tuple[t.Any, t.Callable[[t.Any], t.Any], t.Any]] = {
    "int to float": ([1, 2], lambda v: _set(v, 0, 1.0), [1.0, 2]),
    "int to bool": ({"a": 1}, lambda v: _set(v, "a", True), {"a": True}),
    "bool to int": ([True], lambda v: _set(v, 0, 1), [1]),
    "zero to minus zero": ([0.0], lambda v: _set(v, 0, -0.0), [-0.0]),
    "list to tuple inside": ({"a": [1]}, lambda v: _set(v, "a", (1,)), {"a": (1,)}),
    "list in a tuple": ((1, [2]), lambda v: v[1].append(3), (1, [2, 3])),
    "tuple replaced by a list": ((1, 2), lambda v: [1, 2], [1, 2]),
    "list replaced by a tuple": ([1, 2], lambda v: (1, 2), (1, 2)),
    "key order": ({"a": 1, "b": 2}, _reorder, {"b": 2, "a": 1}),
    "str to Markup": (["<b>"], lambda v: _set(v, 0, Markup("<b>")), [Markup("<b>")]),
    "Markup to str": ([Markup("<b>")], lambda v: _set(v, 0, "<b>"), ["<b>"]),
    "deep append": ({"a": {"b": [1]}}, lambda v: v["a"]["b"].append(2), {"a": {"b": [1, 2]}}),
    "bytes": ({"b": b"x"}, lambda v: _set(v, "b", b"y"), {"b": b"y"}),
    "same instant, other zone": (
        [UTC_TIME],
        lambda v: _set(v, 0, UTC_TIME.astimezone(OTHER_ZONE)),
        [UTC_TIME.astimezone(OTHER_ZONE)],
    ),
    "uuid": ([UUIDS[0]], lambda v: _set(v, 0, UUIDS[1]), [UUIDS[1]]),
    "None to empty string": ([None], lambda v: _set(v, 0, ""), [""]),
    "nested dict to list": ([{"a": 1}], lambda v: _set(v, 0, ["a"]), [["a"]]),
}


@pytest.mark.parametrize("case", list(CHANGES))
def test_changed_containers_are_saved_exactly(app: Flask, case: str) -> None:
    before, change, after = CHANGES[case]

    @app.route("/set")
    def set_() -> str:
        session_start("data")["v"] = before
        return ""

    @app.route("/change")
    def change_() -> str:
        session_start("data")
        replaced = change(g.v)
        if replaced is not None:
            g.v = replaced
        return ""

    @app.route("/get")
    def get_() -> str:
        session_start("data")
        return repr(g.v)

    client = app.test_client()
    client.get("/set")
    client.get("/change")
    # repr tells 1, 1.0 and True, -0.0, tuples, Markup, zones and key order apart
    assert client.get("/get").text == repr(after)


def test_unchanged_containers_write_nothing(
    app: Flask, sql_count: t.Callable[[Flask], t.Any]
) -> None:
    values = {
        "mixed": [1, 1.0, True, None, "s", -0.0, float("nan"), float("inf")],
        "nested": {"a": {"b": [b"x", Markup("<i>"), (1, [2])]}, "c": UTC_TIME},
        "pair": (UUIDS[0], [OTHER_ZONE.utcoffset(None).seconds]),  # type: ignore[union-attr]
    }

    @app.route("/set")
    def set_() -> str:
        session_start("data").update(values)
        return ""

    @app.route("/read")
    def read() -> str:
        s = session_start("data")
        return repr([s[name] for name in values])

    @app.route("/equal")
    def equal() -> str:
        session_start("data")
        g.mixed = list(g.mixed)
        g.nested = {"a": {"b": [b"x", Markup("<i>"), (1, [2])]}, "c": UTC_TIME}
        return ""

    client = app.test_client()
    client.get("/set")
    log = sql_count(app)
    first = client.get("/read").text
    client.get("/equal")
    assert log.writes == []
    assert client.get("/read").text == first


def test_key_added_in_place_that_cannot_be_stored_raises(app: Flask) -> None:
    @app.route("/set")
    def set_() -> str:
        session_start("data")["v"] = {"a": [1]}
        return ""

    @app.route("/change")
    def change_() -> str:
        session_start("data")
        g.v["a"].append({1: "int key"})
        return ""

    client = app.test_client()
    client.get("/set")
    with pytest.raises(SessionValueError) as info:
        client.get("/change")
    assert str(info.value) == (
        "cannot store variable 'v' of session 'data': dict keys must be strings, not int"
    )


@pytest.mark.parametrize(
    "value",
    [*VALUES.values(), 0, 7, -7, 2**70, True, False, None, 1.5, -0.0, "", [], {}, {" t": [1]}],
)
def test_stored_text_decodes_as_json_would(value: t.Any) -> None:
    text = serialize.dumps(value, session="s", var="v", max_bytes=1 << 20)
    assert repr(serialize.loads(text)) == repr(serialize._decoder.decode(text))


@pytest.mark.parametrize("text", ["", "01", "1 2", "[1", "tru", "-", "1x"])
def test_malformed_stored_text_raises(text: str) -> None:
    with pytest.raises(ValueError):
        serialize.loads(text)
