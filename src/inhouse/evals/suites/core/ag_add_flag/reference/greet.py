def greet(name, excited=False):
    return f"Hello, {name}{'!' if excited else '.'}"
