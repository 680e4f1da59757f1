"""The link rewriter's output as Chromium parses it: the session ID reaches no
other origin, and ordinary links to this site carry it once."""

from __future__ import annotations

import dataclasses
import random
import re
import typing as t
from pathlib import Path
from urllib.parse import urlsplit

import pytest

from flask_namedsessions.rewrite import rewrite_html
from flask_namedsessions.urls import clean_url
from flask_namedsessions.urls import Origin
from tests.browser.conftest import launch
from tests.test_rewrite import BASES
from tests.test_rewrite import CASES
from tests.test_rewrite import FORMS
from tests.test_rewrite import HTTPS_CASES
from tests.test_rewrite import MARKUP
from tests.test_rewrite_foreign import ELEMENTS
from tests.test_rewrite_foreign import FOREIGN

pytestmark = pytest.mark.browser

NAME = "_session:cart"
#: lower case, so that a host the browser lowercases cannot hide it
ID = "zq7sessid4k"
PARAMS = {NAME: ID}
PAGES = {"http": "http://example.com/dir/page", "https": "https://example.com/dir/page"}
ORIGINS = {"http": Origin("http", "example.com"), "https": Origin("https", "example.com")}
#: where the ID may travel from each page: its own origin and, from an http
#: page, the same host over TLS (the rewriter's deliberate upgrade)
ALLOWED = {"http": {"http://example.com", "https://example.com"}, "https": {"https://example.com"}}

SNAPSHOT_JS = """
([id, name]) => {
  const LINKS = {a: 'href', area: 'href', frame: 'src', iframe: 'src'};
  const formAction = Object.getOwnPropertyDescriptor(HTMLFormElement.prototype, 'action').get;
  const formElements = Object.getOwnPropertyDescriptor(HTMLFormElement.prototype, 'elements').get;
  const parse = (s) => { try { return new URL(s); } catch { return null; } };
  const describe = (url) => {
    const u = parse(url);
    return {url, origin: u ? u.origin : null, path: u ? u.pathname : null,
            hash: u ? u.hash : null, carried: u ? u.searchParams.getAll(name) : []};
  };
  // the document and the contents of its templates, which are not in it
  const roots = [document];
  for (let i = 0; i < roots.length; i++) {
    for (const t of roots[i].querySelectorAll('template')) if (t.content) roots.push(t.content);
  }
  const links = [];
  for (const root of roots) {
    for (const el of root.querySelectorAll('a, area, frame, iframe')) {
      const attr = LINKS[el.localName];
      if (!el.hasAttribute(attr)) continue;
      const raw = el.getAttribute(attr);
      let url = root === document ? el[attr] : null;
      if (typeof url !== 'string') {
        const u = parse(new URL(raw, document.baseURI));
        url = u ? u.href : raw;
      }
      links.push({key: el.id, tag: el.localName, raw, ...describe(url)});
    }
  }
  const forms = [...document.forms].map((f) => ({
    key: f.id, raw: f.getAttribute('action'), ...describe(formAction.call(f)),
    owned: [...formElements.call(f)].filter((e) => e.name === name).map((e) => e.value),
    direct: [...f.children].filter((e) => e.localName === 'input' && e.name === name).length,
    // where its controls with a formaction send it, wherever they stand
    targets: [...formElements.call(f)]
      .filter((e) => e.hasAttribute('formaction')).map((e) => describe(e.formAction)),
  }));
  const count = (s) => s.toLowerCase().split(id).length - 1;
  const places = [];
  for (const root of roots) {
    const walker = document.createTreeWalker(root, NodeFilter.SHOW_ALL);
    for (let node = walker.nextNode(); node; node = walker.nextNode()) {
      if (node.nodeType === Node.ELEMENT_NODE) {
        for (const a of node.attributes) {
          for (let i = count(a.value); i > 0; i--) {
            places.push({where: `${node.localName}[${a.name}]`, name: node.getAttribute('name'),
                         type: node.getAttribute('type'), text: a.value});
          }
        }
      } else if (node.nodeType === Node.TEXT_NODE || node.nodeType === Node.COMMENT_NODE) {
        const parent = node.parentNode && node.parentNode.localName;
        for (let i = count(node.data); i > 0; i--) {
          places.push({where: `${parent || '#document'} ${node.nodeName}`, text: node.data});
        }
      }
    }
  }
  const outside = [...document.childNodes].filter((n) => n.nodeType === Node.COMMENT_NODE);
  const serialized = count(document.documentElement.outerHTML)
    + outside.reduce((sum, n) => sum + count(n.data), 0);
  return {links, forms, places, serialized};
}
"""


@dataclasses.dataclass
class Snapshot:
    """What Chromium made of one document, and the requests it made."""

    links: list[dict[str, t.Any]]
    forms: list[dict[str, t.Any]]
    places: list[dict[str, t.Any]]
    serialized: int
    requests: list[tuple[str, str]] = dataclasses.field(default_factory=list)

    def by_key(self) -> dict[str, dict[str, t.Any]]:
        return {item["key"]: item for item in [*self.links, *self.forms] if item["key"]}


def _encode(html: str) -> bytes:
    """UTF-8, lone surrogates included: the browser reads those bytes as U+FFFD."""
    return html.encode("utf-8", "surrogatepass")


class Browser:
    """One page whose requests are answered from ``served``, so no server runs;
    others are recorded and answered with nothing."""

    def __init__(self, page: t.Any) -> None:
        self.page = page
        self.served: dict[str, str] = {}
        #: (URL, body) of every request made for something not served
        self.requests: list[tuple[str, str]] = []
        page.route("**/*", self._handle)

    def _handle(self, route: t.Any) -> None:
        request = route.request
        body = self.served.get(request.url)
        if body is None:
            self.requests.append((request.url, request.post_data or ""))
            route.fulfill(status=204)  # a navigation there leaves the page as it is
        else:
            route.fulfill(status=200, content_type="text/html; charset=utf-8", body=_encode(body))

    def load(self, scheme: str, html: str) -> Snapshot:
        """Serve ``html`` at the page URL of ``scheme``, let it load what it
        loads, and read its links."""
        self.served[PAGES[scheme]] = html
        self.requests = []
        self.page.goto(PAGES[scheme], wait_until="load")
        snapshot = Snapshot(**self.page.evaluate(SNAPSHOT_JS, [ID, NAME]))
        snapshot.requests = self.requests
        return snapshot


@pytest.fixture(scope="module")
def browser(playwright: t.Any, tmp_path_factory: pytest.TempPathFactory) -> t.Iterator[Browser]:
    profile: Path = tmp_path_factory.mktemp("rewrite-profile")
    context = launch(playwright, profile, cookies=True)
    yield Browser(context.new_page())
    context.close()


def unsafe(snapshot: Snapshot, scheme: str) -> list[str]:
    """Every place the ID would reach another origin, or sits where the page
    did not ask for it."""
    allowed = ALLOWED[scheme]
    found = [
        f"{link['tag']} {link['raw']!r} -> {link['url']!r}"
        for link in snapshot.links
        if link["origin"] not in allowed and ID in link["url"].lower()
    ]
    found += [
        f"form action {form['raw']!r} -> {form['url']!r} submits the ID"
        for form in snapshot.forms
        if form["origin"] not in allowed and ID in form["owned"]
    ]
    found += [
        f"form {form['key']!r}: a control sends the ID to {target['url']!r}"
        for form in snapshot.forms
        for target in form["targets"]
        if target["origin"] not in allowed and ID in form["owned"]
    ]
    found += [f"ID in {p['where']}: {p['text']!r}" for p in snapshot.places if not expected(p)]
    found += [
        f"request to {url!r} with {body!r}"
        for url, body in snapshot.requests
        if ID in (url + body).lower() and _origin(url) not in allowed
    ]
    if snapshot.serialized != len(snapshot.places):
        found.append(f"{snapshot.serialized} IDs in the markup, {len(snapshot.places)} in the DOM")
    return found


def _origin(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}"


def expected(place: dict[str, t.Any]) -> bool:
    """A link attribute, or our hidden input."""
    where = place["where"]
    if where in ("a[href]", "area[href]", "frame[src]", "iframe[src]"):
        return True
    return bool(where == "input[value]" and place["name"] == NAME and place["type"] == "hidden")


def carries_once(before: dict[str, t.Any], after: dict[str, t.Any]) -> bool:
    """The rewritten URL goes where the original went, with the ID once in
    its query and the same fragment."""
    return bool(
        after["carried"] == [*before["carried"], ID]
        and after["origin"] == before["origin"]
        and after["path"] == before["path"]
        and after["hash"] == before["hash"]
    )


_AUTHORITY = re.compile(r"([A-Za-z][A-Za-z0-9+.\-]*:)?([/\\]*)([^/\\?#]*)")


def deviation(raw: str, scheme: str) -> str:
    """Why the rewriter may leave a link to this site alone, as documented;
    ``""`` when no documented rule applies."""
    if raw == "":
        return "empty value (a bare href is documented)"
    url = clean_url(raw.replace("\x00", "\ufffd"))
    if url.startswith("#"):
        return "fragment-only"
    if re.search(rf"[?&](?:{re.escape(NAME)}|_session%3[aA]cart)(?:[=&#]|$)", url):
        return "param already present"
    match = _AUTHORITY.match(url)
    if match is None or not (match.group(2) or match.group(1) not in (None, f"{scheme}:")):
        return ""
    host = match.group(3).rpartition("@")[2].rsplit(":", 1)[0]
    if "%" in host or not host.isascii() or host.endswith(".") or "xn--" in host.lower():
        return "host needs normalising"
    return ""


def _pairs(before: Snapshot, after: Snapshot) -> list[tuple[dict[str, t.Any], dict[str, t.Any]]]:
    """Elements of the two documents matched by id, else by position."""
    if before.by_key():
        new = after.by_key()
        return [(old, new[key]) for key, old in before.by_key().items() if key in new]
    pairs = list(zip(before.links, after.links, strict=False))
    return pairs + list(zip(before.forms, after.forms, strict=False))


def missed(before: Snapshot, after: Snapshot, scheme: str) -> list[tuple[str, str]]:
    """Links and forms the browser sends to this page's origin that got no ID,
    with the documented reason, if any."""
    origin = PAGES[scheme].rsplit("/", 2)[0]
    found = []
    for old, new in _pairs(before, after):
        if old["origin"] != origin:
            continue
        if "owned" in old:
            if ID not in new["owned"]:
                reason = deviation(old["raw"] or "/", scheme)
                found.append((reason, f"form action={old['raw']!r} -> {old['url']}"))
        elif ID in new["url"].lower() and not carries_once(old, new):
            found.append(("ID NOT INTACT", f"{old['tag']} {old['raw']!r} -> {new['url']}"))
        elif not carries_once(old, new):
            reason = deviation(old["raw"], scheme)
            found.append((reason, f"{old['tag']} {old['raw']!r} -> {new['url']}"))
    return found


def report(title: str, items: list[tuple[str, str]]) -> None:
    """Print safe-direction disagreements (shown with ``-rP``); they are not failures."""
    for reason, text in items:
        print(f"{title}: {reason or 'UNDOCUMENTED'}: {text}")


def link_page(urls: dict[str, str]) -> str:
    """One document with a link per URL, each findable by its key."""
    body = "".join(f'<a id="{key}" href="{url}">{key}</a>\n' for key, url in urls.items())
    return f"<!DOCTYPE html><title>links</title><body>\n{body}</body>"


def compare(browser: Browser, scheme: str, html: str) -> tuple[Snapshot, Snapshot]:
    """The document as written and as rewritten, both read by Chromium."""
    before = browser.load(scheme, html)
    after = browser.load(scheme, rewrite_html(html, PARAMS, ORIGINS[scheme]))
    problems = unsafe(after, scheme)
    assert not problems, "\n".join(problems)
    return before, after


ORDINARY = {
    "http": [
        "",
        "x",
        "x/y.html",
        "/",
        "/x",
        "./x",
        "../x",
        "../../x/y",
        ".",
        "?a=1",
        "?a=1&amp;b=2",
        "x?a=1#f",
        "/x#f",
        "/x?#f",
        "../x?a=1&amp;b=2#f",
        "http://example.com",
        "http://example.com/x?a=1#f",
        "//example.com/x",
        "//example.com/x#f",
        "HTTP://EXAMPLE.COM/x",
        "Http://Example.Com/",
        "http://example.com:80/x",
        "http://EXAMPLE.com:80/x?a=1#f",
        "/x%20y",
        "/caf\u00e9?q=\u00e9#\u00e9",
    ],
    "https": [
        "x",
        "/x?a=1#f",
        "../x",
        "//example.com/x#f",
        "https://example.com/x",
        "HTTPS://EXAMPLE.COM:443/x#f",
    ],
}


@pytest.mark.parametrize("scheme", ["http", "https"])
def test_ordinary_links_carry_id_once_when_read_by_chromium(browser: Browser, scheme: str) -> None:
    urls = {f"o{i}": url for i, url in enumerate(ORDINARY[scheme])}
    before, after = compare(browser, scheme, link_page(urls))
    old, new = before.by_key(), after.by_key()
    assert set(old) == set(new) == set(urls)
    for key, url in urls.items():
        assert old[key]["origin"] == PAGES[scheme].rsplit("/", 2)[0], url
        assert carries_once(old[key], new[key]), (url, new[key]["url"])


def _table_urls(table: dict[str, tuple[str, str]]) -> dict[str, str]:
    return {f"case-{name}": url for name, (url, _) in table.items()}


@pytest.mark.parametrize(
    ("scheme", "table"),
    [("http", CASES), ("https", CASES), ("https", HTTPS_CASES), ("http", HTTPS_CASES)],
    ids=["cases-http", "cases-https", "https_cases-https", "https_cases-http"],
)
def test_url_tables_safe_when_read_by_chromium(
    browser: Browser, scheme: str, table: dict[str, tuple[str, str]]
) -> None:
    before, after = compare(browser, scheme, link_page(_table_urls(table)))
    report(f"table/{scheme}", missed(before, after, scheme))


DOCUMENTS = {
    **{f"markup-{k}": html for k, (html, _) in MARKUP.items()},
    **{f"foreign-{k}": html for k, (html, _) in FOREIGN.items()},
    **{f"elements-{k}": html for k, (html, _) in ELEMENTS.items()},
    **{f"forms-{k}": html for k, (html, _) in FORMS.items()},
    **{f"bases-{k}": html for k, (html, _) in BASES.items()},
    "frameset": (
        '<frameset><frame src="/x#f"><frame src="//evil.com/">'
        "<frame src=\"http://example.com@evil.com/\"><frame src='java&#9;script:1'></frameset>"
    ),
    "form_in_table": (
        '<table><form action="//evil.com/"><tr><td><input></td></tr></form></table>'
        "<table><form><tr><td><input></td></tr></form></table>"
    ),
    "svg_and_math": (
        '<svg><a href="//evil.com/"></a><a href="/x"></a></svg>'
        '<math><a href="//evil.com/"></a><mi href="/y"></mi></math>'
    ),
}
#: The leaks found by review: each made Chromium send the ID to evil.example,
#: by loading a resource or through a link.
ISSUE_LEAKS = [
    "svg_style_is_markup",
    "svg_title_is_an_integration_point",
    "math_style_is_markup_and_img_breaks_out",
    "noscript_is_text",
    "frameset_ignores_style",
]


@pytest.mark.parametrize("case", ISSUE_LEAKS)
def test_id_stays_on_site_when_markup_hides_a_url(browser: Browser, case: str) -> None:
    html = FOREIGN[case][0]
    assert "evil.example" in html
    after = browser.load("http", rewrite_html(html, PARAMS, ORIGINS["http"]))
    assert any("evil.example" in url for url, _ in after.requests) == ("title" not in case)
    assert not unsafe(after, "http")


PAY = "https://pay.evil.example/collect"
#: Pages whose #go control submits a same-origin form to another origin.
FORMACTION_PAGES = {
    "button_inside": (
        f"<form method=post action=/cart><input name=q value=1>"
        f"<button id=go formaction={PAY}>Pay</button></form>"
    ),
    "image_input_inside": (
        f"<form method=post action=/cart><input name=q value=1>"
        f"<input id=go type=image alt=Pay formaction={PAY}></form>"
    ),
    "get_form": f"<form action=/s><input name=q value=1><button id=go formaction={PAY}>Go</button>",
    "button_after_the_form": (
        "<form id=checkout method=post action=/cart><input name=q value=1></form><p>Total</p>"
        f"<button id=go form=checkout formaction={PAY}>Pay</button>"
    ),
    "button_before_the_form": (
        f"<button id=go form=checkout formaction={PAY}>Pay</button>"
        "<form id=checkout method=post action=/cart><input name=q value=1></form>"
    ),
}


def _submitted(browser: Browser, html: str, where: str) -> str:
    """Load ``html`` rewritten, click #go, and return what reached ``where``."""
    browser.load("http", rewrite_html(html, PARAMS, ORIGINS["http"]))
    with browser.page.expect_request(lambda r: r.url.startswith(where)) as info:
        browser.page.click("#go")
    request = info.value
    return f"{request.url} {request.post_data or ''}"


@pytest.mark.parametrize("case", FORMACTION_PAGES)
def test_id_not_submitted_elsewhere_when_clicking_a_formaction(browser: Browser, case: str) -> None:
    sent = _submitted(browser, FORMACTION_PAGES[case], PAY)
    assert "q=1" in sent  # the form went there
    assert ID not in sent.lower()


@pytest.mark.parametrize("quote", ['"', "'"])
def test_id_not_submitted_elsewhere_when_the_action_touches_an_attribute(
    browser: Browser, quote: str
) -> None:
    # no space between a quoted value and "action": Chromium reads it all the same
    html = (
        f"<form method=post title={quote}t{quote}action={quote}{PAY}{quote}>"
        "<input name=q value=1><button id=go>Pay</button></form>"
    )
    sent = _submitted(browser, html, PAY)
    assert "q=1" in sent
    assert ID not in sent.lower()


def test_id_submitted_when_clicking_a_formaction_on_this_site(browser: Browser) -> None:
    html = FORMACTION_PAGES["button_inside"].replace(PAY, "/pay")
    sent = _submitted(browser, html, "http://example.com/pay")
    assert "q=1" in sent
    assert f"_session%3Acart={ID}" in sent


#: unsafe by a known limit of the rewriter (docs/tracking.rst, "Known limits")
LATE_BASE = pytest.mark.xfail(
    strict=True,
    reason="a late foreign <base> applies to earlier links in a browser; the rewriter "
    "judges them against the page (documented known limit)",
)
KNOWN_UNSAFE = {"bases-links_before_the_base": LATE_BASE}


@pytest.mark.parametrize(
    "html",
    [pytest.param(html, id=k, marks=KNOWN_UNSAFE.get(k, ())) for k, html in DOCUMENTS.items()],
)
def test_markup_tables_safe_when_read_by_chromium(browser: Browser, html: str) -> None:
    before, after = compare(browser, "http", html)
    report("markup", missed(before, after, "http"))


LEADS = ["", " ", "\t", "\n", "\x01", "\x0c", "&#9;", "&#10;", "&Tab;", "&NewLine;", "&#32;"]
SCHEMES = [
    *["", "", "", "http:", "http:", "HTTP:", "https:", "hTtPs:"],
    *["javascript:", "java&#9;script:", "data:", "mailto:", "ht\ttp:", "http&#58;", "ftp:"],
]
SLASHES = [
    *["", "/", "//", "//", "//", "///", "\\\\", "/\\", "\\/", "\\", "&#47;&#47;"],
    *["/&#9;/", "/\n/", "&sol;/"],
]
USERINFO = ["", "", "", "", "user@", "example.com@", "u:p@", "a\\@", "%40@", "a&#64;"]
HOSTS = [
    *["example.com", "example.com", "EXAMPLE.COM", "Example.com", "evil.com", "www.example.com"],
    *["example.com.evil.org", "evilexample.com", "example.co", "example.com.", "exa\tmple.com"],
    *["exa&#9;mple.com", "exa&NewLine;mple.com", "%65xample.com", "\u212aexample.com"],
    *["127.0.0.1", "", "example.com&#46;evil.org", "[::1]"],
]
PORTS = ["", "", "", ":80", ":443", ":8080", ":", ":0080", ":65616", ":8&#48;"]
PATHS = ["", "/", "/x", "x", "./x", "../x", "/a/../b", "/%2e%2e/x", "/x y", "\\x", "/&#46;&#46;/x"]
QUERIES = ["", "", "?", "?a=1", "?a=1&b=2", "?a=1&amp;b=2", "?a=1&amp;", "?a&copy=2", "&#63;a=1"]
FRAGMENTS = ["", "", "#", "#f", "#a?b", "&#35;f", "#x#y", "#f&amp;g"]
TRAILS = ["", "", " ", "\t", "&#10;", "\x00", "&#32;", "\x7f", "&#x0C;"]
CONTROLS = ["\t", "\n", "\r", "&#9;", "&#10;", "&Tab;", "&NewLine;", "\x0b", "\x1f", " "]


def random_url(rng: random.Random) -> str:
    """A URL built from the pieces that have fooled URL judges before."""
    has_host = rng.random() < 0.7
    parts = [rng.choice(LEADS), rng.choice(SCHEMES)]
    if has_host:
        parts += [rng.choice(SLASHES), rng.choice(USERINFO), rng.choice(HOSTS), rng.choice(PORTS)]
    parts += [rng.choice(PATHS), rng.choice(QUERIES), rng.choice(FRAGMENTS), rng.choice(TRAILS)]
    url = "".join(parts)
    if rng.random() < 0.2:
        at = rng.randrange(len(url) + 1)
        url = url[:at] + rng.choice(CONTROLS) + url[at:]
    return url


def random_element(rng: random.Random, key: str, url: str) -> str:
    """A link, image-map area, frame or form pointing at ``url``."""
    quote = rng.choice(['"', '"', "'", ""]) if not re.search(r"[\s>]", url) else '"'
    kind = rng.random()
    if kind < 0.12:
        return f"<form id={key} action={quote}{url}{quote}><input name=q></form>"
    if kind < 0.15:
        return f"<iframe id={key} src={quote}{url}{quote}></iframe>"
    tag = "area" if kind < 0.25 else "a"
    return f"<{tag} id={key} href={quote}{url}{quote}>{key}</{tag}>"


def random_page(rng: random.Random, page: int, size: int) -> str:
    elements = "\n".join(random_element(rng, f"r{page}-{i}", random_url(rng)) for i in range(size))
    return f"<!DOCTYPE html><title>random</title><body>\n{elements}\n</body>"


@pytest.mark.parametrize("page", range(6))
def test_random_links_safe_when_read_by_chromium(browser: Browser, page: int) -> None:
    rng = random.Random(20240601 + page)
    scheme = "http" if page % 2 == 0 else "https"
    html = random_page(rng, page, 600)
    before, after = compare(browser, scheme, html)
    assert set(before.by_key()) == set(after.by_key())
    report(f"random/{scheme}", missed(before, after, scheme))


#: Pieces of markup that change how what follows reads, and URLs that could
#: hide a link in them, for documents built at random.
PIECES = [
    *["<svg>", "</svg>", "<svg/>", "<math>", "</math>", "<foreignObject>", "</foreignObject>"],
    *["<desc>", "<title>", "</title>", "<mi>", "</mi>", "<mglyph>", "<g>", "</g>", "<path/>"],
    *["<annotation-xml encoding=text/html>", "<annotation-xml>", "</annotation-xml>"],
    *["<b>", "</b>", "<p>", "</p>", "<div>", "</div>", "<font color=red>", "<font>", "<span>"],
    *["<table>", "<td>", "</td>", "<select>", "<template>", "</template>", "<frameset>"],
    *["<style>", "</style>", "<textarea>", "</textarea>", "<script>", "</script>", "<xmp>"],
    *["<noscript>", "</noscript>", "<iframe>", "</iframe>", "<noembed>", "</noembed>"],
    *["<![CDATA[", "]]>", "<!--", "-->", "<form>", "</form>", "<form id=f>", "x", " ", ">"],
    *["'", '"', "<a title='", '<a title="', "<a href='http://evil.example/a?", "</a>"],
    *['<a href="/in">', "<a href=rel>", "<img src='http://evil.example/i?", '<frame src="/fr">'],
    *["<image href='http://evil.example/s?", '<iframe src="/f">', "<base href=/b/>"],
    *["<input type=image src='http://evil.example/m?", "<button formaction=//evil.example>"],
]


@pytest.mark.parametrize("batch", range(4))
def test_random_markup_safe_when_read_by_chromium(browser: Browser, batch: int) -> None:
    rng = random.Random(20250101 + batch)
    for _ in range(60):
        html = "".join(rng.choice(PIECES) for _ in range(rng.randint(3, 25)))
        after = browser.load("http", rewrite_html(html, PARAMS, ORIGINS["http"]))
        problems = unsafe(after, "http")
        assert not problems, (html, problems)
