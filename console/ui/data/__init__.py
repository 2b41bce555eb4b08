"""What the console pages compute from API answers, without Streamlit (so it is unit-testable)."""
