"""Request and response bodies of the HTTP API, with the examples the OpenAPI document shows,
one module a concern: :mod:`~.catalog` (galleries, subjects, images, enrollment),
:mod:`~.faces` (a stored face, a box, a quality), :mod:`~.search` (search and verify),
:mod:`~.accounts` (users and keys), :mod:`~.audit`, :mod:`~.system`, :mod:`~.retention`,
:mod:`~.grants` (gallery grants and groups), :mod:`~.privacy` (erasure and suppression) and
:mod:`~.reviews` (two-person review of leads). A body that shows a record is derived from it
(:func:`~.base.record_schema`).
"""
