"""The adversary, installed as ``privbench.attacks``: one module per attack and the attack metrics.

An attack sees only what its threat model releases (docs/threat_models.md); ground truth reaches its
scoring, never its inference.
"""
