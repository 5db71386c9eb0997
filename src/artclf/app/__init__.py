"""The web app (``make demo`` / ``python -m artclf.app``): classify an artwork with a registered
model and see why (Grad-CAM), stylise an image, browse the runs. ``page.py`` is the Streamlit
script; the other modules hold the logic it calls, so tests and ``make bench`` use it without a
browser."""
