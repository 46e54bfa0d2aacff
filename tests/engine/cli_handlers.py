"""The handler registry the CLI tests load through KSDPL_HANDLERS."""

from tests.engine.conftest import Calls, make_registry

registry = make_registry(Calls())
