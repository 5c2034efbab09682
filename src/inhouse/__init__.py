"""inhouse: run coding LLMs on your own machine and measure what that buys you.

The library never prints and never exits; the command line lives in ``inhouse.cli``.
"""

__version__ = "0.1.0"
