"""The WSGI entry point gunicorn serves: ``gunicorn -c service/gunicorn.conf.py service.wsgi:app``."""

from service.app import create_app

app = create_app()
