OPEN = "open"
SHIPPED = "shipped"
ALL = (OPEN, SHIPPED)
