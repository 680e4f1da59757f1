"""Link rewriting throughput: ours against html.parser and lxml.

Run from the repository root::

    python benchmarks/bench_rewrite.py

Each figure is the median of several rounds, in MB/s of input. The html.parser
rewrite re-emits ``get_starttag_text()`` with the same URL logic as ours, so
the difference is the scanning; lxml parses, edits and serialises a tree (and
does not keep the bytes it did not change).
"""

from __future__ import annotations

import os
import platform
import random
import statistics
import time
import typing as t
from html.parser import HTMLParser

import lxml.html  # type: ignore[import-untyped]

from flask_namedsessions.rewrite import HTMLRewriter
from flask_namedsessions.rewrite import rewrite_html
from flask_namedsessions.urls import add_params
from flask_namedsessions.urls import clean_url
from flask_namedsessions.urls import LinkJudge
from flask_namedsessions.urls import Origin
from flask_namedsessions.urls import param_pairs

ORIGIN = Origin("https", "shop.example.com")
PARAMS = {"_session:cart": "kQ7vX2mZ9pL4rT8wY1nB5cD3fG6hJ0sA-_.~"}
HIDDEN = '<input type="hidden" name="_session:cart" value="{}">'.format(PARAMS["_session:cart"])
WORDS = [
    *("lorem", "ipsum", "dolor", "sit", "amet", "consectetur", "adipiscing", "elit", "sed"),
    *("do", "eiusmod", "tempor", "incididunt", "ut", "labore", "et", "dolore", "magna"),
    *("aliqua", "&amp;", "more", "&copy;", "2024"),
]


def realistic_page(size: int, seed: int = 1) -> str:
    """A shop page of about ``size`` characters, built like real ones: a head
    with stylesheets, JSON-LD and inline scripts; a navigation menu; product
    cards (image and title links, an add-to-cart form, inline SVG icons);
    articles with inline links, some to other sites; template comments; a
    search form, an embed and a footer. About 4 links per KB, most of them
    unique, a quarter of them not ours (other hosts, mailto:, #fragments)."""
    rng = random.Random(seed)
    words = WORDS
    slugs = [w for w in WORDS if w.isalpha()]
    icon = '<svg class="icon" aria-hidden="true"><use href="#i-cart"></use></svg>'
    sprite = "".join(
        f'<symbol id="i-{i}" viewBox="0 0 24 24"><path d="'
        + " ".join(
            f"M{rng.randint(0, 24)}.{rng.randint(0, 9)} {rng.randint(0, 24)}" for _ in range(40)
        )
        + '"/></symbol>'
        for i in range(20)
    )
    head = [
        '<!DOCTYPE html>\n<html lang="en">\n<head>\n<meta charset="utf-8">\n',
        '<meta name="viewport" content="width=device-width, initial-scale=1">\n',
        "<title>Shop &mdash; Spring sale | Example</title>\n",
        '<link rel="stylesheet" href="/static/site.css?v=3">\n',
        '<link rel="preconnect" href="https://cdn.example.net">\n',
        "<style>\n"
        + "".join(
            f".card-{i}>.price{{font-weight:bold;color:#{i:03x}}}"
            f" a[href^='/p/{i}']::after{{content:'<a href=x>'}}\n"
            for i in range(300)
        )
        + "</style>\n",
        '<script type="application/ld+json">{"@context":"https://schema.org","@type":"Store",'
        + ",".join(f'"k{i}":"<a href=\\"/x{i}\\">"' for i in range(150))
        + "}</script>\n",
        "<script>\n<!--\nwindow.dataLayer=window.dataLayer||[];\n"
        + "".join(
            f"if(a<{i}&&b>{i}){{document.write('<a href=\"/in-script/{i}\">x</a>');}}\n"
            for i in range(400)
        )
        + "//-->\n</script>\n</head>\n",
        '<body class="shop">\n<svg style="display:none">',
        sprite,
        '</svg>\n<!-- header -->\n<header class="site-header"><a href="/" class="logo">',
        icon,
        '</a>\n<nav class="menu" aria-label="Main"><ul>\n',
    ]
    for i in range(120):
        head.append(
            f'<li class="menu-item"><a href="/c/{rng.choice(slugs)}-{i}/" '
            f'data-track="nav-{i}">{rng.choice(words).title()}</a></li>\n'
        )
    head.append(
        '</ul></nav>\n<form class="search" action="/search" method="get" role="search">'
        '<input type="search" name="q" placeholder="Search&hellip;" aria-label="Search">'
        "<button>Go</button></form>\n</header>\n<main>\n"
    )
    out = head
    # the state a client-side framework hydrates from, at the end of the body
    state = "".join(
        f'{{"id":{i},"name":"{rng.choice(words)}","url":"/p/{i}","html":"<a href=\\"/p/{i}\\">"}},'
        for i in range(size // 600)
    )
    length = sum(map(len, out)) + len(state)
    product = 1000
    while length < size:
        roll = rng.random()
        if roll < 0.55:
            product += rng.randint(1, 7)
            slug = "-".join(rng.choice(slugs) for _ in range(3))
            block = (
                f'<div class="card card-{product % 300}" data-id="{product}" '
                f'data-json=\'{{"id":{product},"tags":["sale","new"]}}\'>\n'
                f'  <a class="thumb" href="/p/{product}/{slug}"><img src="/img/{product}.jpg" '
                f'srcset="/img/{product}@2x.jpg 2x" alt="{slug}" width="200" height="200" '
                f'loading="lazy"></a>\n'
                f'  <h3><a href="https://shop.example.com/p/{product}/{slug}?ref=grid">{slug}</a></h3>\n'
                f'  <span class="price">&euro;{product % 97}.99</span> '
                f'<a class="rating" href="/p/{product}/{slug}#reviews">'
                f"{rng.randint(1, 500)} reviews</a>\n"
                f'  <form method="post" action="/cart/add?item={product}&amp;qty=1">'
                f'<input type="hidden" name="item" value="{product}">'
                f'<button type="submit">{icon}Add to cart</button></form>\n'
                "</div>\n"
            )
        elif roll < 0.85:
            parts = ['<article class="post">\n<h2>', rng.choice(words).title(), "</h2>\n<p>"]
            for _ in range(rng.randint(40, 90)):
                word = rng.choice(words)
                pick = rng.random()
                if pick < 0.04:
                    slug = rng.choice(slugs)
                    parts.append(f'<a href="/blog/{slug}-{rng.randint(1, 9999)}">{word}</a> ')
                elif pick < 0.06:
                    site = rng.choice(["https://en.wikipedia.org/wiki/", "https://example.org/"])
                    url = site + rng.choice(slugs)
                    parts.append(f'<a href="{url}" rel="nofollow noopener">{word}</a> ')
                elif pick < 0.07:
                    parts.append(f'<a href="#sec-{rng.randint(1, 9)}">{word}</a> ')
                elif pick < 0.10:
                    parts.append(f"<em>{word}</em> ")
                else:
                    parts.append(word + " ")
            parts.append("</p>\n</article>\n")
            block = "".join(parts)
        elif roll < 0.95:
            block = (
                f'<!-- slot {rng.randint(1, 99)}: <a href="/promo">promo</a> -->\n'
                f'<section class="promo"><a href="/promo/{rng.randint(1, 99)}">'
                f'<img src="/img/promo.png" alt=""></a></section>\n'
            )
        else:
            block = (
                '<iframe src="https://www.youtube.com/embed/xyz" width="560" height="315" '
                'title="Video" allowfullscreen></iframe>\n'
                '<textarea name="note" rows="3">Write <a href=/not-a-link></textarea>\n'
            )
        out.append(block)
        length += len(block)
    out.append(f'</main>\n<script id="state" type="application/json">[{state}{{}}]</script>\n')
    out.append("<footer>")
    for i in range(60):
        out.append(f'<a href="/help/{i}">Help {i}</a> ')
    out.append(
        '<a href="mailto:hi@example.com">Mail</a> <a href="https://twitter.com/shop">Twitter</a>'
        '\n<form action="https://newsletter.example.net/subscribe" method="post">'
        '<input type="email" name="email"><button>Subscribe</button></form>\n'
        "</footer>\n</body>\n</html>\n"
    )
    return "".join(out)


class ParserRewriter(HTMLParser):
    """The usual html.parser approach: re-emit every event, editing start tags."""

    def __init__(self, params: t.Mapping[str, str], origin: Origin) -> None:
        super().__init__(convert_charrefs=False)
        self.pairs = param_pairs(params)
        self.judge = LinkJudge(origin)
        self.out: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        text = self.get_starttag_text() or ""
        name = {"a": "href", "area": "href", "iframe": "src", "frame": "src"}.get(tag)
        values = dict(attrs)
        if name and values.get(name):
            url = values[name] or ""
            if self.judge.ours(clean_url(url)):
                at, extra = add_params(url, self.pairs, attribute=False)
                new = url[:at] + extra + url[at:]
                text = text.replace(url, new, 1)
        self.out.append(text)
        if tag == "form" and not (values.get("action") or "").startswith(("http", "//")):
            self.out.append(HIDDEN)

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.handle_starttag(tag, attrs)

    def handle_endtag(self, tag: str) -> None:
        self.out.append(f"</{tag}>")

    def handle_data(self, data: str) -> None:
        self.out.append(data)

    def handle_entityref(self, name: str) -> None:
        self.out.append(f"&{name};")

    def handle_charref(self, name: str) -> None:
        self.out.append(f"&#{name};")

    def handle_comment(self, data: str) -> None:
        self.out.append(f"<!--{data}-->")

    def handle_decl(self, decl: str) -> None:
        self.out.append(f"<!{decl}>")

    def handle_pi(self, data: str) -> None:
        self.out.append(f"<?{data}>")

    def unknown_decl(self, data: str) -> None:
        self.out.append(f"<![{data}]>")


def htmlparser_rewrite(text: str) -> str:
    parser = ParserRewriter(PARAMS, ORIGIN)
    parser.feed(text)
    parser.close()
    return "".join(parser.out)


def lxml_rewrite(text: str) -> str:
    doc = lxml.html.document_fromstring(text)
    judge = LinkJudge(ORIGIN)
    for element in doc.iter("a", "area", "iframe", "frame", "form"):
        if element.tag == "form":
            if judge.ours(clean_url(element.get("action", ""))):
                hidden = lxml.html.fragment_fromstring(HIDDEN)
                hidden.tail, element.text = element.text, None
                element.insert(0, hidden)
            continue
        attr = "src" if element.tag in ("iframe", "frame") else "href"
        url = element.get(attr)
        if url and judge.ours(clean_url(url)):
            at, extra = add_params(url, param_pairs(PARAMS), attribute=False)
            element.set(attr, url[:at] + extra + url[at:])
    return str(lxml.html.tostring(doc, encoding="unicode"))


def ours_whole(text: str) -> str:
    return rewrite_html(text, PARAMS, ORIGIN)


def ours_streamed(text: str, size: int = 8192) -> str:
    rewriter = HTMLRewriter(PARAMS, ORIGIN)
    out = [rewriter.feed(text[i : i + size]) for i in range(0, len(text), size)]
    out.append(rewriter.close())
    return "".join(out)


def measure(
    funcs: t.Mapping[str, t.Callable[[str], str]], text: str, rounds: int
) -> dict[str, float]:
    """Median CPU seconds of each function over ``rounds`` interleaved rounds,
    so that load from elsewhere falls on all of them alike."""
    times: dict[str, list[float]] = {name: [] for name in funcs}
    for _ in range(rounds):
        for name, func in funcs.items():
            start = time.process_time()
            func(text)
            times[name].append(time.process_time() - start)
    return {name: statistics.median(found) for name, found in times.items()}


def realistic(rounds: int) -> None:
    print(f"Realistic shop pages: MB/s of input, median of {rounds} interleaved rounds")
    print()
    print(
        "| page | IDs added | ours | ours, 8 KiB chunks | html.parser | lxml"
        " | ours / html.parser | ours / lxml |"
    )
    print("|---|---|---|---|---|---|---|---|")
    for size in (100_000, 1_000_000):
        page = realistic_page(size)
        if ours_whole(page) != ours_streamed(page):
            raise SystemExit("streamed output differs from whole")
        added = ours_whole(page).count(PARAMS["_session:cart"])
        funcs = {
            "ours": ours_whole,
            "streamed": ours_streamed,
            "parser": htmlparser_rewrite,
            "lxml": lxml_rewrite,
        }
        speed = {k: len(page) / v / 1e6 for k, v in measure(funcs, page, rounds).items()}
        print(
            f"| {len(page) / 1e6:.1f} MB | {added:,} "
            f"| {speed['ours']:.1f} | {speed['streamed']:.1f} | {speed['parser']:.1f} "
            f"| {speed['lxml']:.1f} | {speed['ours'] / speed['parser']:.1f}x "
            f"| {speed['ours'] / speed['lxml']:.1f}x |"
        )


def malformed(rounds: int) -> None:
    print()
    print("Malformed input: milliseconds (CPU) for n repetitions after a short valid prefix;")
    print("html.parser only while one run stays under 3 s")
    print()
    print("| input | n | chars | ours | ours, 8 KiB chunks | html.parser |")
    print("|---|---|---|---|---|---|")
    cases = {
        "<a ": "<a ",
        "<!--": "<!--",
        '<a href="': '<a href="',
        "<script": "<script",
        "<svg><g></x>": "<svg><g></x>",
        "<form id=f></form>": "<form id=f></form>",
    }
    for label, unit in cases.items():
        parser_ok = True
        for n in (1_000, 2_000, 4_000, 8_000, 250_000):
            text = '<p>start <a href="/x">x</a>' + unit * n
            funcs: dict[str, t.Callable[[str], str]] = {
                "ours": ours_whole,
                "streamed": ours_streamed,
            }
            ms = {k: v * 1000 for k, v in measure(funcs, text, rounds).items()}
            parser = "-"
            if parser_ok and n < 250_000:
                start = time.process_time()
                htmlparser_rewrite(text)
                seconds = time.process_time() - start
                parser = f"{seconds * 1000:.0f}"
                parser_ok = seconds < 3
            print(
                f"| `{label}` | {n:,} | {len(text):,} | {ms['ours']:.1f} | {ms['streamed']:.1f} "
                f"| {parser} |"
            )


def main() -> None:
    print(f"Python {platform.python_version()} on {platform.machine()}, {os.cpu_count()} cores")
    print()
    realistic(rounds=11)
    malformed(rounds=3)


if __name__ == "__main__":
    main()
