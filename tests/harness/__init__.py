"""Test harnesses: fixtures and helpers that start real components; not product code."""
