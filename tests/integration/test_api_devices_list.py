"""The account list the API answers with follows the API's own changes at once (it rereads the
accounts file at most once a second otherwise). Real Redis, the app in-process."""

from __future__ import annotations

from tests.security.test_api_boundary import LOGIN, basic, make_api  # noqa: F401 (a fixture)

OPERATOR = basic(*LOGIN)


def listed(api) -> list[str]:
    answer = api.get("/devices", headers=OPERATOR)
    assert answer.status_code == 200, answer.text
    return [device["id"] for device in answer.json()["results"]]


def test_an_account_added_or_removed_through_the_api_is_listed_so_at_once(make_api):  # noqa: F811
    api = make_api(WAGW_ACCOUNTS="sales,support")
    assert listed(api) == ["sales", "support"]
    added = api.post("/devices", json={"device_id": "shop"}, headers=OPERATOR)
    assert added.status_code == 200, added.text
    assert listed(api) == ["sales", "support", "shop"]
    assert api.delete("/devices/shop", headers=OPERATOR).status_code == 200
    assert listed(api) == ["sales", "support"]
