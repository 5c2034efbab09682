import status

LABELS = {status.OPEN: 'Open', status.SHIPPED: 'Shipped', status.ARCHIVED: 'Archived'}


def label(value):
    if value not in status.ALL:
        raise ValueError(value)
    return LABELS[value]
