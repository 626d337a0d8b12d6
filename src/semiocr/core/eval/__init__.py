"""Evaluation: recognition and detection metrics, reports and pictures."""
