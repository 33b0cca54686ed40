"""Federated averaging: the client step, the aggregation, and the engines that run them."""
