"""Plumbing: atomic files and run folders, typed configuration from mappings and safe YAML."""
