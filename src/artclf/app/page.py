"""The Streamlit page of ``python -m artclf.app``: three tabs over the project's MLflow store.
Streamlit runs this script once per browser session and again on every interaction. The title
and a spinner go out before anything heavy is imported: the tabs (``artclf.app.tabs``) bring
PyTorch and MLflow, seconds on the first visit, during which the page would be blank."""

from __future__ import annotations

import streamlit as st

st.set_page_config(page_title="artclf", layout="wide")
st.title("artclf")
with st.spinner("Loading PyTorch and the model store (on the first visit only) …"):
    from artclf.app import tabs

tabs.main()
