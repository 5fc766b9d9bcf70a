# The same steps as scripts/setup, kept in lockstep with it: Debian 12, the apt
# packages it lists, a venv at /opt/dialer/.venv, and the PJSIP engine built
# from Debian's `ring` source package by scripts/build-pjsip.
# (No Docker engine runs on our build machines; scripts/setup is what CI tests.)
FROM python:3.11-slim-bookworm

ENV DEBIAN_FRONTEND=noninteractive \
    DIALER_CACHE=/opt/dialer-cache
WORKDIR /opt/dialer
COPY pyproject.toml README.md LICENSE ./
COPY scripts/ scripts/
COPY dialer/ dialer/
COPY media/ media/
COPY config/ config/
# scripts/setup installs the Debian packages, creates .venv, pip-installs the
# project and builds (once) the high-capacity pjsua2 module.
RUN scripts/setup && rm -rf /var/lib/apt/lists/*

RUN useradd --system --home /opt/dialer dialer
USER dialer
EXPOSE 5080/udp
ENTRYPOINT ["/opt/dialer/.venv/bin/dialer"]
CMD ["run", "--config", "/opt/dialer/config/dialer.toml"]
