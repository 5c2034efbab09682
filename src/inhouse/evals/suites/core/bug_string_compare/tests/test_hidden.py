from solution import is_admin

def test():
    assert is_admin('admin') and is_admin(' Admin ')
    assert not is_admin('user')
