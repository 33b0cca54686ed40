"""What several attacks use: the AU release and the attack models that read it, attack metrics and plots."""
