# Baton's one image: web (gunicorn), worker and beat (Celery) and the one-shot `migrate` all run it (compose.yaml).
# Production settings; everything else comes from the environment (docs/configuration.md).
FROM python:3.11-slim-bookworm

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    DJANGO_SETTINGS_MODULE=csm.settings.production

WORKDIR /app
RUN groupadd --system baton && useradd --system --gid baton --home-dir /app --no-create-home baton

# Dependencies first, so a code change reuses this layer.
COPY requirements.txt ./
RUN pip install -r requirements.txt

COPY . .
# Static files are collected into the image (whitenoise serves them with hashed names). The production settings
# refuse to load without their required variables, so placeholders stand in: nothing connects to them here.
RUN DJANGO_SECRET_KEY=collectstatic-only DJANGO_ALLOWED_HOSTS=localhost \
    DATABASE_URL=postgres://collectstatic@localhost/collectstatic CELERY_BROKER_URL=redis://localhost:6379/0 \
    python manage.py collectstatic --noinput \
    && mkdir -p var \
    && chown baton:baton var

# Not root: the process can write only var/ (beat's schedule file).
USER baton
EXPOSE 8000
CMD ["gunicorn", "csm.wsgi", "--bind", "0.0.0.0:8000", "--workers", "4"]
