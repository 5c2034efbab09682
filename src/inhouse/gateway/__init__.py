"""The gateway: ``inhouse serve`` (issue 11)."""
