"""The worker's HTTP surface: `/metrics`, `/healthz` and `/readyz`, and nothing else.

Faust's aiohttp server serves built-in views besides an app's own pages: an index at `/`, `/router/` (the
counters' changelog topic and its partitions), `/table/` (which can read a table's keys), and in debug mode
`/graph/` and `/stats/`. None of them is for anyone outside the worker, so this driver (registered as the web
driver "signpost" in pyproject.toml's entry points, and chosen by `create_app`) mounts none of them.
"""

from __future__ import annotations

from typing import ClassVar

from faust.web.base import _BPList
from faust.web.drivers.aiohttp import Web as AiohttpWeb


class Web(AiohttpWeb):
    default_blueprints: ClassVar[_BPList] = ()
    production_blueprints: ClassVar[_BPList] = ()
    debug_blueprints: ClassVar[_BPList] = ()
    optional_blueprints: ClassVar[_BPList] = ()
