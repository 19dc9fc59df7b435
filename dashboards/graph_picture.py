"""Drawing a DOT picture: laid out by Graphviz's `dot` on the server when it is installed, else in the browser.

Streamlit's st.graphviz_chart lays the graph out in the browser with a WebAssembly Graphviz that every
new tab downloads and compiles again, which made opening an incident by its URL seconds slower than
the rest of the page. The Debian `graphviz` package's `dot` does the same layout in milliseconds, and
the page then only shows the SVG (inline, so its text stays searchable and selectable).
"""

from __future__ import annotations

import re
import shutil
import subprocess

import streamlit as st

DOT_TIMEOUT_S = 5.0
CONTAINER_CLASS = "rca-graph"  # the browser tests find the picture by it


def svg_of(dot: str, binary: str) -> str:
    """The SVG `dot` lays out for ``dot``, sized to its container's width (its own size kept as the upper bound)."""
    done = subprocess.run([binary, "-Tsvg"], input=dot.encode(), capture_output=True, timeout=DOT_TIMEOUT_S, check=True)
    svg = done.stdout.decode()
    svg = svg[svg.index("<svg") :]  # no XML prolog, doctype or comments before the element
    # nor the comment `dot` writes before each node and edge: the browser parses the SVG as markdown's HTML,
    # and every node of it is work there
    svg = re.sub(r"<!--.*?-->", "", svg, flags=re.DOTALL)
    return re.sub(
        r'<svg width="([\d.]+)pt" height="[\d.]+pt"',
        r'<svg style="width: 100%; max-width: \1pt; height: auto"',
        svg,
        count=1,
    )


def graph_chart(dot: str) -> None:
    """Draw ``dot`` full width: with the server's `dot` when installed, else with st.graphviz_chart."""
    binary = shutil.which("dot")
    if binary:
        try:
            # markdown, not st.html: st.html's sanitizer keeps HTML only and drops the SVG. Nothing from the
            # graph reaches the page unescaped: names are quoted in the DOT and `dot` escapes the SVG's text.
            # One line, so no blank line inside ends the HTML block for the markdown parser.
            svg = svg_of(dot, binary).replace("\n", " ")
            st.markdown(f'<div class="{CONTAINER_CLASS}">{svg}</div>', unsafe_allow_html=True)
            return
        except (OSError, subprocess.SubprocessError, ValueError):
            pass  # a broken or hung `dot` still leaves the browser's Graphviz
    st.graphviz_chart(dot, width="stretch")
