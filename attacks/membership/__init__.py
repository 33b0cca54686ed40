"""``membership``: was this person in the released model's training set? Loss-threshold and LiRA attacks
with shadow models, audited against the run's DP accounting."""
