"""The one web stack of crashproc's HTTP services: Starlette applications on uvicorn.

``app.service_app`` gives every service the same heartbeats, access log, request metrics and
error handling; ``form`` reads request bodies to disk under limits; ``serve`` runs an
application in the foreground (worker processes) or in a background thread (tests).
Imports nothing of ours but ``crashproc``, so ``symbols`` and ``processor`` can both use it.
"""
