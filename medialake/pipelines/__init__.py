"""Wiring of operators and models into Ray Data, and the pydantic config models."""
