"""`hearbot verify`: the stages after validation, in order (pipeline.py), one module a job.

Imports nothing heavy: the GitHub edge imports ``bot.verify.verdict`` alone.
"""
