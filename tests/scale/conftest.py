"""The KSDPL process, its users and their API tokens (the JSON API tests' fixtures)."""

from tests.api.conftest import orch, tokens  # noqa: F401
