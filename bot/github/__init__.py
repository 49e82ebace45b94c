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
- ``cli``       the ``hearbot github ...`` subcommands
"""
