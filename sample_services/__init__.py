"""The demo fleet: playback, encoding, CDN and DRM services, chaos and a traffic generator."""
