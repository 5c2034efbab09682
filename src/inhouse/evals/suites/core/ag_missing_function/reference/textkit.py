def title_case(text):
    return ' '.join(w.capitalize() for w in text.split())


def truncate(text, width):
    return text if len(text) <= width else text[:width - 3] + '...'
