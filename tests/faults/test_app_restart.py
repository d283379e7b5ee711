"""The app killed mid-task and restarted: the unfinished task runs again once, nothing is lost.

The scenario itself lives in the integration suite (it is also part of the engine's chain
tests); it is collected here too so the fault suite shows every scenario of issue 13.
Unit-level cases (attempts used up -> failed "the engine stopped while the task ran", queued
tasks re-queued exactly once, inputs kept) are in ``tests/unit/test_recovery_fake.py``.
"""

from __future__ import annotations

import pytest

from tests.integration.conftest import docker_client  # noqa: F401 - session fixture
from tests.integration.engine_fixtures import engine_settings  # noqa: F401
from tests.integration.test_engine_chain import (
    test_engine_process_killed_mid_task_loses_nothing as engine_killed,
)

pytestmark = [pytest.mark.docker, pytest.mark.faults]

test_engine_process_killed_mid_task_loses_nothing = engine_killed
