import textutils


def words(text):
    return textutils.strip_punctuation(text).split()
