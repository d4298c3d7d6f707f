"""Veeam Backup Enterprise Manager REST API simulator (test, demo and benchmark server)."""

__version__ = "1.0.0"
