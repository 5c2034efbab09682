import textutils


def words(text):
    return textutils.strp(text).split()
