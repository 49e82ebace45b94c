"""Broken: fails to import (a dependency the environment lacks)."""

import hear_dependency_that_does_not_exist  # noqa: F401
