# numlookup: one image for the HTTP API (`numlookup api`), the AMI/FastAGI worker (`numlookup worker`),
# both at once (`numlookup run`) and the data commands (`numlookup data ...`).
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    NUMLOOKUP_DATA_DIR=/data \
    NUMLOOKUP_DATA__BRANDS=/app/config/brands.toml

WORKDIR /app
COPY . /app
RUN pip install --no-cache-dir /app \
    && useradd --system --home-dir /data --shell /usr/sbin/nologin numlookup \
    && mkdir -p /data && chown numlookup /data

USER numlookup
VOLUME ["/data"]
ENTRYPOINT ["numlookup"]
CMD ["run"]
