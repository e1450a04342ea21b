"""The stand-in images' own tests share tests/e2e/conftest.py's engine and image fixtures."""

import pytest


@pytest.fixture(scope="session")
def e2e_images(stand_in_images) -> dict[str, str]:
    return stand_in_images
