from textutils import strip_punctuation


def headline(title):
    return strip_punctuation(title).upper()
