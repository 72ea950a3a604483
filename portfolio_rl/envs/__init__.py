"""Market simulation: price paths, the gymnasium environment and the batched simulator."""
