import app
import text

def test_moved():
    assert text.slugify("Hello, World") == "hello-world"
    assert app.slugify is text.slugify

def test_url():
    assert app.post_url("My First Post!") == "/posts/my-first-post"
