"""The handler registry the web CLI tests load through KSDPL_HANDLERS."""

from tests.web.conftest import make_registry

registry = make_registry()
