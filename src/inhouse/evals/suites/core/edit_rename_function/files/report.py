from textutils import strp


def headline(title):
    return strp(title).upper()
