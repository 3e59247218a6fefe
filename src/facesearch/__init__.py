"""facesearch: a face search engine with accountability built in.

Nothing happens at import: build a :class:`facesearch.service.FaceSearch` from
:class:`facesearch.settings.Settings` to do work.
"""

__version__ = "0.1.0"
