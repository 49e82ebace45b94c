"""The GitHub edge: a thin PyGithub adapter that reads a pull request as data and reports on it.

Modules, one behaviour each:

- ``env``       the environment the Actions runner gives (API URL, repository, token, event path)
- ``events``    what may be taken from an untrusted ``workflow_run`` payload (only the head SHA)
- ``client``    PyGithub with retries; every API failure becomes an ``InfrastructureError``
- ``pr_data``   a pull request's files at pinned SHAs, as a ``bot.submission.validate.Submission``
- ``sticky``    choosing the one bot comment to edit (marker AND bot authorship)
- ``checks``    the check-run payload: title, summary, annotations in batches of 50
- ``labels``    which labels to add and remove
- ``flow``      ``report-validation``: re-resolve, re-validate, re-check the SHA, post
- ``posting``   the shared writes: one sticky-comment section, a named check run, labels; and
  ``reread_head``, the fresh look at the PR's head right before posting
- ``commands``  the one command table (word -> ``Action``, who, usage, parser, handler) and the
  strict parser of a comment; ``Action`` is what verify.yml's ``if:`` conditions compare with
- ``command_handlers`` what each accepted command does in the acknowledge job, and its log line
- ``permissions`` who may command (``Who``): write, maintain or admin, asked of the API; never
  bots
- ``decision``  what the command job decided, as checked job outputs
- ``accept``    ``accept-command``: event -> decision bound to the PR's head SHA
- ``acknowledge`` the command log in the sticky comment: a command's handler, or a refusal
- ``fetch``     ``fetch-submission``: the PR's files at the accepted SHA, or stale.json; the columns
  its row claims
- ``artifact``  the verify job's artifact, read as untrusted data
- ``outcomes``  pass/fail/error/stale (``ReportOutcome``) and what each means on the PR: check
  conclusion, title, labels
- ``verify_check`` the check run ``hear-leaderboard / verify``
- ``verification`` ``report-verification``: pass/fail/error/stale on the PR
- ``shards``, ``shard_artifacts``, ``shard_merge`` the fan-out: plan GPU shards, read and merge
  their results
- ``cli``       every ``hearbot github ...`` subcommand, with one error and exit path

The result document's types are ``bot.common.result``; where a command says what it did is a
``bot.common.log.Log`` (``print`` in the workflows' logs).
"""
