import string


def strip_punctuation(text):
    return ''.join(c for c in text if c not in string.punctuation)
