"""Sphinx configuration for flask-namedsessions."""

from __future__ import annotations

project = "flask-namedsessions"
copyright = "2026, the flask-namedsessions authors"
author = "the flask-namedsessions authors"
release = "0.1.0.dev0"

extensions = [
    "sphinx.ext.autodoc",
    "pallets_sphinx_themes",
]
autodoc_typehints = "description"
autodoc_member_order = "bysource"
default_role = "code"
html_theme = "flask"
html_theme_options = {"index_sidebar_logo": False}
html_title = f"flask-namedsessions Documentation ({release})"
html_show_sourcelink = False
exclude_patterns = ["_build"]

#: Classes that users receive but never construct: their constructor's
#: parameters are internal, so the page lists none.
_NOT_CONSTRUCTED = {"flask_namedsessions.NamedSession"}


def _drop_constructor_fields(app, domain, objtype, contentnode):  # type: ignore[no-untyped-def]
    from docutils import nodes

    signature = contentnode.parent[0]
    fullname = f"{signature.get('module')}.{signature.get('fullname')}"
    if domain != "py" or objtype != "class" or fullname not in _NOT_CONSTRUCTED:
        return
    for fields in [c for c in contentnode.children if isinstance(c, nodes.field_list)]:
        contentnode.remove(fields)


def setup(app):  # type: ignore[no-untyped-def]
    # After autodoc has added the type hints (priority 500).
    app.connect("object-description-transform", _drop_constructor_fields, priority=600)
