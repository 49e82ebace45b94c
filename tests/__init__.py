"""The test suite (a package, so that `tests.*` never resolves to a stray site-packages `tests`)."""
