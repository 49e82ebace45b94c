"""The GitHub edge: a thin PyGithub adapter that reads a pull request as data and reports on it.

Modules, one behaviour each:

- ``env``       the environment the Actions runner gives (API URL, repository, token, event path)
- ``events``    what may be taken from an untrusted ``workflow_run`` payload (only the head SHA)
- ``client``    PyGithub with retries; every API failure becomes an ``InfrastructureError``
- ``pr_data``   a pull request's files at pinned SHAs, as a ``bot.validation.Submission``
- ``sticky``    choosing the one bot comment to edit (marker AND bot authorship)
- ``checks``    the check-run payload: title, summary, annotations in batches of 50
- ``labels``    which labels to add and remove
- ``flow``      ``report-validation``: re-resolve, re-validate, re-check the SHA, post
- ``posting``   the shared writes: one sticky-comment section, a named check run, labels
- ``commands``  the maintainer commands a comment may hold, parsed strictly
- ``permissions`` who may command: write, maintain or admin, asked of the API; never bots
- ``decision``  what the command job decided, as checked job outputs
- ``accept``    ``accept-command``: event -> decision bound to the PR's head SHA
- ``acknowledge`` the command log in the sticky comment, /override, /verify-cancel
- ``fetch``     ``fetch-submission``: the PR's files at the accepted SHA, or stale.json; the columns
  its row claims
- ``artifact``  the verify job's artifact, read as untrusted data
- ``verify_check`` the check run ``hear-leaderboard / verify``
- ``verification`` ``report-verification``: pass/fail/error/stale on the PR
- ``shards``, ``shard_artifacts``, ``shard_merge`` the fan-out: plan GPU shards, read and merge
  their results
- ``cli``       every ``hearbot github ...`` subcommand, with one error and exit path
"""

from collections.abc import Callable

# Where a command says what it did, one line at a time (``print`` in the workflows' logs).
Say = Callable[[str], None]
