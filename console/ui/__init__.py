"""The Streamlit console; reads everything through the server's HTTP API."""
