import re


def slugify(title):
    return re.sub(r"[^a-z0-9]+", "-", title.lower()).strip("-")


def post_url(title):
    return "/posts/" + slugify(title)
