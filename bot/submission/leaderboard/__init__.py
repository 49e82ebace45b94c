"""leaderboard.csv: decoding, the append-only diff, and the rules for one row."""
