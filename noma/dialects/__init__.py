"""Dialects defined by NOMA."""
