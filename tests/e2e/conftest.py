"""The local stack for end-to-end tests: started in-process on free ports, once per test module.

Module scope, not session: the stack points os.environ at its moto, so it must be gone (and the
environment restored) before other tests run in the same worker. tests/e2e is no package, so
pytest's "package" scope would last the whole session. A start takes well under a second.
"""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest

from devtools.local.stack import LocalStack, Ports
from tests.e2e.e2e_support import REPO_ROOT


def _fresh_container() -> None:
    """Drop process caches (settings, clients, secrets) that other tests or the stack left behind."""
    from tests.support.lambda_context import clear_process_caches

    clear_process_caches()


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalStack]:
    _fresh_container()
    state_dir = tmp_path_factory.mktemp("local-state")
    with LocalStack.start(REPO_ROOT / "template.yaml", Ports.ephemeral(), state_dir=state_dir) as running:
        _fresh_container()
        yield running
    _fresh_container()


@pytest.fixture(scope="module")
def api(stack: LocalStack) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=stack.api_url, timeout=10) as client:
        yield client
