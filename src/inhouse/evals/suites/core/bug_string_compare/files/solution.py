def is_admin(role):
    """True if role is 'admin', in any case and with surrounding spaces ignored."""
    return role is 'admin'
