"""Post-merge work: what happens after a verified submission is merged into the leaderboard.

Empty for now. A job that runs on the default branch after a merge (publishing the
leaderboard, archiving a verified result, notifying) gets a module here; it may import from
every earlier stage (submission, runner, hear, evaluation, verify, report) and nothing
imports it but the command line and the GitHub edge.
"""
