OPEN = 'open'
SHIPPED = 'shipped'
ARCHIVED = 'archived'
ALL = (OPEN, SHIPPED, ARCHIVED)
