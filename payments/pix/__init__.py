"""Pix: BR Codes (``brcode``), the provider contract (``base``), the built-in sandbox
provider and the Bacen Pix API adapter. See docs/pix.md."""
