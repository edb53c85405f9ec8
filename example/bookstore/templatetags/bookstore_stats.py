"""``{% request_stats %}``: the footer line saying what served the page so far."""

from __future__ import annotations

from django import template

from ..stats import current

register = template.Library()


@register.simple_tag
def request_stats() -> str:
    """Rendered last in the page, so it covers the view and everything the template touched."""
    stats = current()
    if stats is None:
        return ""
    sql = f"{stats.sql} SQL {'query' if stats.sql == 1 else 'queries'}"
    mongo = f"{stats.mongo} MongoDB {'query' if stats.mongo == 1 else 'queries'}"
    return f"{sql} · {mongo} · {stats.elapsed_ms:.1f} ms"
