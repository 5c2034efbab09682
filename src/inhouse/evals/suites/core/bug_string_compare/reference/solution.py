def is_admin(role):
    return role.strip().lower() == 'admin'
