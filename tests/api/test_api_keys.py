"""Named API keys: created (shown once), listed, used, revoked, and reissued."""

from datetime import UTC, datetime, timedelta

import pytest

from tests.api.conftest import ADMIN, JANE, NUMBER, Tenant, assert_problem
from tests.api.test_hot_routes import BODIES, hot, hot_only, twin  # noqa: F401


def with_key(tenant: Tenant, api_key: str) -> Tenant:
    """`tenant`, its requests made with another of its keys."""
    other = twin(tenant.client, tenant)
    other.api_key = api_key
    other.headers = {"Authorization": f"Bearer {api_key}"}
    return other


def create_key(tenant: Tenant, name: str):
    response = tenant.post("/v1/api-keys", {"name": name})
    assert response.status_code == 201, response.text
    return response.json()


def test_created_key_is_shown_once_and_works(acme):
    before = datetime.now(UTC) - timedelta(seconds=5)

    created = create_key(acme, "zapier")

    assert set(created) == {"key_id", "name", "prefix", "created_at", "api_key"}
    assert created["name"] == "zapier"
    assert created["api_key"].startswith(created["prefix"])
    assert created["api_key"] != acme.api_key
    assert datetime.fromisoformat(created["created_at"]) >= before
    second = with_key(acme, created["api_key"])
    assert second.ok("get", "/v1/account")["account_id"] == acme.account_id
    listed = acme.ok("get", "/v1/api-keys")
    assert created["api_key"] not in str(listed)


def test_list_names_each_live_key_with_prefix_and_last_use(acme):
    created = create_key(acme, "unused")

    items = acme.ok("get", "/v1/api-keys")["items"]

    assert [k["name"] for k in items] == ["default", "unused"]
    default, unused = items
    assert set(default) == {"key_id", "name", "prefix", "created_at", "last_used_at"}
    assert acme.api_key.startswith(default["prefix"])
    assert unused == {
        "key_id": created["key_id"],
        "name": "unused",
        "prefix": created["prefix"],
        "created_at": created["created_at"],
        "last_used_at": None,
    }
    # The default key made this very request (and the account's creation
    # checked none): its use is recorded, to the minute.
    used = datetime.fromisoformat(default["last_used_at"])
    assert abs(used - datetime.now(UTC)) < timedelta(minutes=1)


def test_revoked_key_gets_401_at_once_and_others_keep_working(acme):
    created = create_key(acme, "leaked")
    leaked = with_key(acme, created["api_key"])
    leaked.ok("get", "/v1/account")

    response = acme.delete(f"/v1/api-keys/{created['key_id']}")

    assert response.status_code == 204
    assert_problem(leaked.get("/v1/account"), 401)
    assert_problem(leaked.get("/v1/api-keys"), 401)
    assert acme.ok("get", "/v1/account")["account_id"] == acme.account_id
    names = [k["name"] for k in acme.ok("get", "/v1/api-keys")["items"]]
    assert names == ["default"]


def test_a_key_can_revoke_itself(acme):
    items = acme.ok("get", "/v1/api-keys")["items"]

    assert acme.delete(f"/v1/api-keys/{items[0]['key_id']}").status_code == 204

    assert_problem(acme.get("/v1/account"), 401)


@pytest.mark.parametrize("path", sorted(BODIES))
def test_key_revoked_in_another_process_is_refused_by_its_hot_routes(
    acme,
    hot,  # noqa: F811
    path,
):
    """`hot` is another server process that has used Acme's key on its hot
    routes: they answer without FastAPI (which answers 418 there), so the
    revocation must reach them through their own read."""
    first = hot.post(path, BODIES[path])
    assert first.status_code == 201, first.text
    created = create_key(acme, "keeper")
    keeper = with_key(acme, created["api_key"])
    default = acme.ok("get", "/v1/api-keys")["items"][0]

    keeper.ok("delete", f"/v1/api-keys/{default['key_id']}")

    again = hot.post(path, BODIES[path])
    assert_problem(again, 401)
    assert again.headers["www-authenticate"] == "Bearer"
    assert_problem(hot.get("/v1/account"), 401)


def test_key_of_one_account_cannot_revoke_anothers(acme, globex):
    acme_key = acme.ok("get", "/v1/api-keys")["items"][0]

    response = globex.delete(f"/v1/api-keys/{acme_key['key_id']}")

    assert_problem(response, 404)
    assert acme.ok("get", "/v1/account")["account_id"] == acme.account_id
    assert [k["key_id"] for k in acme.ok("get", "/v1/api-keys")["items"]] == [
        acme_key["key_id"]
    ]
    globex_names = [k["name"] for k in globex.ok("get", "/v1/api-keys")["items"]]
    assert globex_names == ["default"]


def test_revoking_an_unknown_key_is_404(acme):
    assert_problem(acme.delete("/v1/api-keys/key_0000000000000000"), 404)


def test_admin_issues_a_key_to_an_account_that_lost_its_keys(client, acme):
    default = acme.ok("get", "/v1/api-keys")["items"][0]
    acme.ok("delete", f"/v1/api-keys/{default['key_id']}")
    assert_problem(acme.get("/v1/account"), 401)

    response = client.post(
        f"/v1/accounts/{acme.account_id}/api-keys",
        json={"name": "recovered"},
        headers=ADMIN,
    )

    assert response.status_code == 201, response.text
    recovered = with_key(acme, response.json()["api_key"])
    assert recovered.ok("get", "/v1/account")["account_id"] == acme.account_id
    assert [k["name"] for k in recovered.ok("get", "/v1/api-keys")["items"]] == [
        "recovered"
    ]


def test_only_the_admin_issues_keys_to_an_account(client, acme, globex):
    path = f"/v1/accounts/{acme.account_id}/api-keys"

    by_account = globex.post(path, {"name": "stolen"})
    by_nobody = client.post(path, json={"name": "stolen"})

    assert_problem(by_account, 401)
    assert_problem(by_nobody, 401)
    assert [k["name"] for k in acme.ok("get", "/v1/api-keys")["items"]] == ["default"]


def test_admin_issuing_a_key_to_no_account_gets_404(client):
    for account_id in ("0b6f9a4e-3c1d-4a5e-9f7b-2d8c6e1a4b3f", "not-an-id"):
        response = client.post(
            f"/v1/accounts/{account_id}/api-keys", json={"name": "x"}, headers=ADMIN
        )
        assert_problem(response, 404)


def test_a_second_live_key_with_the_same_name_is_409(acme):
    create_key(acme, "ci")

    assert_problem(acme.post("/v1/api-keys", {"name": "ci"}), 409)
    assert [k["name"] for k in acme.ok("get", "/v1/api-keys")["items"]] == [
        "default",
        "ci",
    ]


@pytest.mark.parametrize(
    "body",
    [{}, {"name": ""}, {"name": "  "}, {"name": "a\tb"}, {"name": "x" * 101}],
    ids=["missing", "empty", "blank", "control", "long"],
)
def test_a_bad_key_name_is_422_naming_it(acme, body):
    assert_problem(acme.post("/v1/api-keys", body), 422, "name")


def test_a_key_works_on_the_hot_routes_as_soon_as_it_is_created(acme):
    acme.ok("put", f"/v1/inbound-numbers/{NUMBER}", {"backup_email": "d@acme.test"})
    created = create_key(acme, "router")

    decision = with_key(acme, created["api_key"]).ok(
        "post", "/v1/inbound-sms", {"from": JANE, "to": NUMBER, "body": "Hi"}
    )

    assert decision["rule"] == "unknown_sender"
