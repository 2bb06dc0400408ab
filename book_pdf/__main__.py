"""``python -m book_pdf`` (``make pdf``): the whole book as one PDF; see book_pdf/__init__.py."""
from book_pdf import main

main()
