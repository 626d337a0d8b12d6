"""Datasets: readers, validators, importers, synthetic generator."""
