"""HTTP API: management API, OCR service (FastAPI)."""
