"""The dashboard: server-rendered pages (Jinja2 templates, inline SVG), no build step.

Each module holds the routes of one area and exposes `router`; `aios.server.app` mounts
them. A small script (`static/app.js`) updates pages from the event stream.
"""

__all__: list[str] = []
