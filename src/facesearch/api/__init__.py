"""The HTTP API: ``create_app(settings)`` builds a FastAPI app over one facesearch engine."""

from facesearch.api.app import create_app

__all__ = ["create_app"]
