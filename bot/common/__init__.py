"""What every stage shares: atomic file writes, strict JSON, the schemas and the log type.

Imports nothing heavy: the sandboxed worker's copy of the code includes ``fileio`` and
``strict_json`` from here (bot/verify/model.py `WORKER_FILES`).
"""
