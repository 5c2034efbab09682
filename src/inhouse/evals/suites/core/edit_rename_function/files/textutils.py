import string


def strp(text):
    return "".join(c for c in text if c not in string.punctuation)
