"""Counts what served each request, for the footer and the ``X-Queries`` response header."""

from __future__ import annotations

from collections.abc import Callable

from django.http import HttpRequest, HttpResponse

from .stats import counting


class QueryStatsMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        with counting() as stats:
            response = self.get_response(request)
        # The footer was rendered before the response left; the header has the final count.
        response["X-Queries"] = f"sql={stats.sql}; mongodb={stats.mongo}; ms={stats.elapsed_ms:.1f}"
        return response
