"""scripts/postgres_server.py: the emulator's PostgreSQL servers serve TLS, as Aurora does."""
from __future__ import annotations

import psycopg


def test_shared_server_serves_tls_with_the_emulator_certificate(pg_admin_url, emulator):
    with psycopg.connect(pg_admin_url, sslmode="require") as conn:
        assert conn.pgconn.ssl_in_use and conn.execute("SHOW ssl").fetchone() == ("on",)
    # The certificate names 127.0.0.1: verify-full succeeds with it as the root.
    with psycopg.connect(pg_admin_url, sslmode="verify-full", sslrootcert=emulator["pg_ca_file"]) as conn:
        assert conn.pgconn.ssl_in_use


def test_cluster_servers_serve_tls(aurora, login, emulator):
    cluster = aurora()
    with login(cluster, "FirstPassword123", sslmode="verify-full", sslrootcert=emulator["pg_ca_file"]) as conn:
        assert conn.execute("SELECT ssl FROM pg_stat_ssl WHERE pid = pg_backend_pid()").fetchone() == (True,)
