# Copyright (c) 2026 gridsec.ops contributors
# Apache License 2.0 (see LICENSE)
"""Which PostgreSQL the lab uses (gridsec_lab.pg.admin_dsn), the private throwaway cluster with the system's or
the embedded (pgserver wheel) binaries, and the lab PanDA's own tables."""

import psycopg
import pytest

from gridsec_lab import pg, ports
from gridsec_lab.panda import schema
from gridsec_lab.panda.store import JOB_ATTRIBUTES


def closed_port():
    # held bound (not listening) for the session: no other process, e.g. the other xdist worker, can take it
    return ports.closed_port()


def tables(dsn):
    with psycopg.connect(dsn) as conn:
        return sorted("%s.%s" % row for row in conn.execute(
            "SELECT table_schema, table_name FROM information_schema.tables WHERE table_schema LIKE 'doma_%'"))


@pytest.mark.parametrize("binaries", ["system", "embedded"])
def test_throwaway_cluster_with_the_lab_tables(binaries):
    bin_dir = pg.embedded_bin_dir() if binaries == "embedded" else pg.postgres_bin_dir()
    if bin_dir is None:
        pytest.skip("no %s PostgreSQL binaries here" % binaries)
    cluster = pg.ThrowawayCluster(bin_dir=bin_dir).start()
    try:
        assert pg.reachable(cluster.dsn)
        name, dsn = pg.create_database(cluster.dsn, prefix="labtables")
        created = schema.create_tables(dsn)
        assert tables(dsn) == sorted(created) == [
            "doma_deft.prodsys_comm", "doma_panda.jedi_tasks", "doma_panda.jobparamstable", "doma_panda.jobsactive4",
            "doma_panda.jobsarchived4", "doma_panda.jobsdefined4", "doma_pandameta.users"]
        with psycopg.connect(dsn) as conn:
            columns = [r[0] for r in conn.execute(
                "SELECT column_name FROM information_schema.columns WHERE table_schema = 'doma_panda' AND "
                "table_name = 'jobsactive4' ORDER BY ordinal_position")]
            # duplicates of a user name are possible, as in the real schema (no unique constraint on name)
            for _ in range(2):
                conn.execute("INSERT INTO doma_pandameta.users (id, name) VALUES "
                             "(nextval('doma_pandameta.users_id_seq'), 'Twin')")
        assert columns == [a.lower() for a in JOB_ATTRIBUTES]
        pg.drop_database(cluster.dsn, name)
    finally:
        directory = cluster.directory
        cluster.stop()
    assert not pg.reachable(cluster.dsn, timeout=1)
    import os
    assert not os.path.exists(directory)


def test_admin_dsn_prefers_a_named_server_and_never_silently_swaps_it_for_the_local_one(monkeypatch):
    monkeypatch.setenv("GRIDSEC_PG_ADMIN_DSN", pg.LOCAL_DSN)
    if not pg.reachable(pg.LOCAL_DSN):
        pytest.skip("no local PostgreSQL on 127.0.0.1:5432")
    assert pg.admin_dsn() == pg.LOCAL_DSN
    # a named server that does not answer: a throwaway cluster, not the local server
    monkeypatch.setenv("GRIDSEC_PG_ADMIN_DSN", "host=127.0.0.1 port=%d dbname=postgres user=postgres" % closed_port())
    monkeypatch.setattr(pg, "_THROWAWAY", {})
    dsn = pg.admin_dsn(verbose=False)
    try:
        assert dsn != pg.LOCAL_DSN and pg.reachable(dsn)
    finally:
        pg._THROWAWAY["cluster"].stop()
