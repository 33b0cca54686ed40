"""``reid``: re-identification of people from their released AU segments (the linkage threat model)."""
