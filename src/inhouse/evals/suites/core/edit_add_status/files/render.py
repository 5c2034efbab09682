import status

LABELS = {status.OPEN: "Open", status.SHIPPED: "Shipped"}


def label(value):
    if value not in status.ALL:
        raise ValueError(f"unknown status {value!r}")
    return LABELS[value]
