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
