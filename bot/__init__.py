"""hearbot: validates and verifies submissions to the HEAR leaderboard."""

__version__ = "0.1.0"
