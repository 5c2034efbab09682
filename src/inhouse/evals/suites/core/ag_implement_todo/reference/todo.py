def add(items, title):
    return items + [{'title': title, 'done': False}]


def done_count(items):
    return sum(i['done'] for i in items)


def complete(items, title):
    if not any(i['title'] == title for i in items):
        raise KeyError(title)
    return [dict(i, done=True) if i['title'] == title else i for i in items]
