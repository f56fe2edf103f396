"""The spec language and its PyTorch side: builders, the training loop, metric sinks."""
