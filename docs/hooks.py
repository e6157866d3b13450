"""MkDocs hooks for the documentation site (mkdocs.yml: ``hooks``)."""
import logging
import re


class _BackendExports(logging.Filter):
    """The backends build their ``__all__`` from the book's name lists (written once for
    every backend, in ``d2lrnn.book.bind`` and ``d2lrnn.base.backend``); griffe reads
    ``__all__`` without running it and warns on each list. The API pages document the
    modules those names come from, so these warnings say nothing about the site."""

    def filter(self, record):
        message = record.getMessage()
        return not ("Unsupported item in d2lrnn." in message and "__all__" in message)


def on_startup(command, dirty):
    for name in ("griffe", "mkdocs.plugins.griffe", "mkdocs.plugins.mkdocstrings"):
        logging.getLogger(name).addFilter(_BackendExports())


# The docstrings name code with Sphinx's roles (:func:`fit`, :class:`~d2lrnn.cells.Cell`),
# which the Markdown renderer leaves as text before the code: show the code alone, the
# leading ~ (Sphinx's "last part only") applied.
_ROLE = re.compile(r":(?:func|class|meth|mod|attr|data|exc|obj):<code>(~?)([^<]*)</code>")


def _code(match):
    name = match.group(2)
    return f"<code>{name.rsplit('.', 1)[-1] if match.group(1) else name}</code>"


def on_page_content(html, page, config, files):
    return _ROLE.sub(_code, html)
