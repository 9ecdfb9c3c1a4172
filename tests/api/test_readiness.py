"""`/readyz`: ready while the live routing view can serve, 503 naming what is not."""

from tests.api.conftest import assert_problem


def execute(app, statement, version=0):
    view = app.state.ledger.view
    with view.datastore.transaction(commit=True) as curs:
        curs.execute(view.sql(statement, version))


def live_version(app):
    with app.state.ledger.view.snapshot() as tx:
        return tx.version


def test_fresh_service_is_ready(client):
    response = client.get("/readyz")

    assert response.status_code == 200
    assert response.json() == {"status": "ready"}


def test_missing_live_table_makes_the_service_unready_naming_it(client):
    version = live_version(client.app)
    execute(client.app, "DROP TABLE {notes}", version)

    body = assert_problem(client.get("/readyz"), 503)

    assert f"sl{version}_notes" in body["detail"]
    assert "sl1_users" not in body["detail"]


def test_missing_live_version_row_makes_the_service_unready(client):
    execute(client.app, "DELETE FROM smsledger_views")

    body = assert_problem(client.get("/readyz"), 503)

    assert "smsledger_views" in body["detail"]


def test_service_is_ready_while_a_rebuild_is_in_progress(client):
    ledger = client.app.state.ledger
    ledger.open_account("Acme")
    answers = []

    def probe(done, total):
        views = len(ledger.projection_status())
        answers.append((views, client.get("/readyz").status_code))

    ledger.rebuild_views(progress=probe)

    # Ready while the new version is still building, and after the switch.
    assert answers[0][0] == 2
    assert answers[-1][0] == 1
    assert {status for _, status in answers} == {200}


def test_unreachable_database_makes_the_service_unready(client, monkeypatch):
    def refuse():
        raise ConnectionRefusedError("connection refused")

    monkeypatch.setattr(client.app.state.ledger.view, "transaction", refuse)

    body = assert_problem(client.get("/readyz"), 503)

    assert "database" in body["detail"]
