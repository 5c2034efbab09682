from solution import slugify

def test():
    assert slugify('Hello, World!  2024') == 'hello-world-2024'
    assert slugify('  --Already-slugged--  ') == 'already-slugged'
