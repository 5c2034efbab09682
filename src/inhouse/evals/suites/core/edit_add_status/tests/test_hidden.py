import pytest
import render
import status

def test_archived():
    assert status.ARCHIVED == "archived" and "archived" in status.ALL
    assert render.label("archived") == "Archived"

def test_others_unchanged():
    assert render.label("open") == "Open" and render.label("shipped") == "Shipped"
    with pytest.raises(ValueError):
        render.label("lost")
