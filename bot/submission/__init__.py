"""The first stage: what a pull request submits, validated without running anything.

``validate`` (the pure core: a `Submission` in, the result document out), ``manifest`` (the
model manifest and its install lines), ``findings`` (every finding code), ``gitrepo`` (a
submission read from a local git checkout) and ``leaderboard/`` (the CSV's text, cells,
names and row diff).
"""
