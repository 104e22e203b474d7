"""jinja2 templates for text that is not hardware: synthesis wrappers and reports."""

from __future__ import annotations

from importlib import resources

import jinja2

__all__ = ["render"]

_ENV = jinja2.Environment(loader=jinja2.FunctionLoader(
    lambda name: resources.files(__name__).joinpath(name).read_text()),
    undefined=jinja2.StrictUndefined, keep_trailing_newline=True, autoescape=False)


def render(name: str, **values) -> str:
    """Render template ``name`` (StrictUndefined: a missing value is an error)."""
    return _ENV.get_template(name).render(**values)
