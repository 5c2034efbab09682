import re
def slugify(t):
    return re.sub('[^a-z0-9]+', '-', t.lower()).strip('-')
