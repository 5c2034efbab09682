"""``inhouse bench``: speed and memory figures a careful engineer would sign."""
