"""The HEAR side of hearbot: task directories, model-API conformance and embeddings.

Everything in this package also runs inside a submission's own virtual environment
(``python -m bot.hear.worker``), so it imports only the standard library, numpy, soundfile,
torch, tqdm (optional), ``bot.common.fileio`` and ``bot.common.strict_json``. Importing
``bot.hear`` itself imports nothing heavy.
"""
