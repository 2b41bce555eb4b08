"""The product surface: the HTTP API, the console UI and the `watchfloor` CLI."""
