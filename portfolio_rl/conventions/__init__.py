"""Conventions shared by every layer: the market and cost model, features, measures, rewards."""
