"""WSGI entry: ``gunicorn wsgi:app`` (and ``flask --app wsgi``)."""

from pingyi import create_app

app = create_app()
