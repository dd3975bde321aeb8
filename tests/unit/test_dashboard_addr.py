"""Where the dashboard may listen, and when it insists on credentials."""

from __future__ import annotations

import pytest

from wagw.config import Settings
from wagw.dashboard import _RAW_INTERPOLATION, DashboardConfigError, resolve_addr


def make(**values) -> Settings:
    return Settings(_env_file=None, **values)


def test_defaults_to_loopback_without_auth():
    assert resolve_addr(make()) == ("127.0.0.1", 9181)


@pytest.mark.parametrize("addr", ["127.0.0.1:8000", "localhost:8000", "[::1]:8000", "127.0.0.2:8000"])
def test_loopback_addresses_need_no_credentials(addr):
    host, port = resolve_addr(make(dashboard_addr=addr))
    assert port == 8000 and host in addr


@pytest.mark.parametrize("addr", ["0.0.0.0:9181", "[::]:9181", "203.0.113.5:9181", "dash.example.com:9181"])
def test_any_other_address_requires_credentials(addr):
    with pytest.raises(DashboardConfigError, match="WAGW_DASHBOARD_USER"):
        resolve_addr(make(dashboard_addr=addr))
    assert resolve_addr(make(dashboard_addr=addr, dashboard_user="ops", dashboard_password="long enough pw"))[1] == 9181


def test_the_command_line_address_wins_and_is_checked_the_same_way():
    settings = make(dashboard_addr="127.0.0.1:9000")
    assert resolve_addr(settings, "127.0.0.1:9999") == ("127.0.0.1", 9999)
    with pytest.raises(DashboardConfigError):
        resolve_addr(settings, "0.0.0.0:9999")


@pytest.mark.parametrize("values", [{"dashboard_user": "ops"}, {"dashboard_password": "long enough pw"}])
def test_half_a_credential_pair_is_a_config_error(values):
    with pytest.raises(DashboardConfigError, match="set both"):
        resolve_addr(make(**values))


def test_template_interpolations_are_escaped_except_those_escaped_already():
    source = "<%= d.name %> <%=d.x%> <%= $('<div/>').text(d.exc_info).html() %> <%- d.ok %>"
    assert _RAW_INTERPOLATION.sub("<%-", source) == (
        "<%- d.name %> <%-d.x%> <%= $('<div/>').text(d.exc_info).html() %> <%- d.ok %>"
    )
