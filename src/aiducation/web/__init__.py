"""The local web app (``aiducation serve``): FastAPI + Jinja2 templates + vanilla JS, offline."""
