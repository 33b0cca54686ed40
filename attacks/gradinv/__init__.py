"""``gradinv``: gradient inversion of federated client updates, simulated or captured, and its scoring."""
