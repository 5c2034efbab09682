from solution import count_vowels

def test():
    assert count_vowels('Hello World') == 3
    assert count_vowels('xyz') == 0
    assert count_vowels('AEIOUaeiou') == 10
