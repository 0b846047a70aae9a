# The labelling app (and, with another command, its trainer): `docker compose up` runs both with PostgreSQL.
#   docker build -t labelling .
#   docker run -p 8501:8501 -v labelling-data:/data -e LABELLING_ADMIN_PASSWORD=... labelling
#       (alone: SQLite in the /data volume, the app starts its own trainer; -e DATABASE_URL=... for PostgreSQL)
#   Without LABELLING_ADMIN_PASSWORD it refuses to start (local mode on 0.0.0.0: whoever reaches it would be
#   admin) unless LABELLING_ALLOW_PUBLIC_LOCAL_MODE=1. server.py serves streamlit_app.py, uploads for admins only.
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    OMP_NUM_THREADS=1 \
    DATABASE_URL=sqlite:////data/labelling.db \
    LABELLING_MODEL_DIR=/data/models

# An unprivileged user owns nothing but /data: the models, and the SQLite database unless DATABASE_URL says otherwise.
RUN useradd --create-home --uid 10001 --shell /usr/sbin/nologin labelling \
    && mkdir -p /data/models \
    && chown -R labelling:labelling /data

WORKDIR /app
COPY requirements.txt ./
RUN pip install -r requirements.txt
COPY . .

USER labelling
EXPOSE 8501
# Streamlit answers "ok" here once it serves pages; the slim image has no curl, so Python asks.
HEALTHCHECK --interval=30s --timeout=5s --start-period=40s --retries=3 \
    CMD ["python", "-c", "import sys, urllib.request; sys.exit(urllib.request.urlopen('http://127.0.0.1:8501/_stcore/health', timeout=4).read() != b'ok')"]
CMD ["streamlit", "run", "server.py", "--server.port=8501", "--server.address=0.0.0.0"]
