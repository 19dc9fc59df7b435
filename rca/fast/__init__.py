"""Compiled copies of hot loops, kept only where they hold a latency target; each has a reference."""
