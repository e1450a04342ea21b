"""Fixtures for the plan tests: a captured sample program, and the CLI with `plan` registered."""

from __future__ import annotations

import pytest

from _plan_programs import CONFIG, SECRET_KEYS, sample_program
from flashdrive.plan import capture


@pytest.fixture(scope="module")
def plan():
    return capture(sample_program, config=CONFIG, secret_config_keys=SECRET_KEYS)
