"""Policies on the simplex and their trainers: GRPO (the method), PPO and REINFORCE (baselines)."""
