"""The pages, once: the router, the navigation, the playlists, the 404 check and the tests
read them from here.

A page is a module of ``dashboard.pages`` with ``layout(context, view)`` (the page's frame; its
panels fill themselves on the refresh tick) and ``register_callbacks(app, context)``. This
module imports none of them (``dashboard.urlstate`` reads the names and paths, and the pages
import it), so ``page_module`` loads a page by the name written here.
"""

from __future__ import annotations

import importlib
from dataclasses import dataclass
from typing import TYPE_CHECKING, Protocol, cast

if TYPE_CHECKING:
    from dash import Dash
    from dash.development.base_component import Component

    from dashboard.context import DashboardContext
    from dashboard.urlstate import ViewState


@dataclass(frozen=True)
class Page:
    name: str  # its name in a playlist (?playlist=ops,exec) and in a view's state
    path: str  # where it is served
    title: str  # its label in the navigation
    module: str  # the module of dashboard.pages that builds it


# In the navigation's order.
PAGES: tuple[Page, ...] = (
    Page("ops", "/ops", "Operations", "ops"),
    Page("exec", "/exec", "KPI review", "executive"),
    Page("inventory", "/", "Inventory", "inventory"),
    Page("cluster", "/cluster", "Cluster", "cluster"),
    Page("sre", "/sre", "SRE", "sre"),
)
BY_NAME = {page.name: page for page in PAGES}
BY_PATH = {page.path: page for page in PAGES}
# Where an unknown path lands (and what a bare URL shows).
HOME = BY_NAME["inventory"]


class PageModule(Protocol):
    def layout(self, context: DashboardContext, view: ViewState) -> Component: ...

    def register_callbacks(self, app: Dash, context: DashboardContext) -> None: ...


def page_module(page: Page) -> PageModule:
    return cast("PageModule", importlib.import_module(f"dashboard.pages.{page.module}"))
