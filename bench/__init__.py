"""Benchmarks for Autoencoder Lab: `python -m bench [--quick] [--out FILE]` (see bench/README.md)."""
