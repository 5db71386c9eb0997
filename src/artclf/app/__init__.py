"""The web app (``make demo`` / ``python -m artclf.app``): classify an artwork with a registered
model and see why (Grad-CAM), stylise an image, browse the runs. ``page.py`` is the Streamlit
script and ``tabs.py`` its tabs; the other modules hold the logic they call, so tests and
``make bench`` use it without a browser."""
