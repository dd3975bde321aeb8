"""mask_url: every credential a URL can carry is masked, everything else is shown as written."""

from __future__ import annotations

import pytest

from wagw.redact import mask_url


@pytest.mark.parametrize(
    ("url", "shown"),
    [
        ("redis://app:hunter2@redis.example:6380/1", "redis://app:***@redis.example:6380/1"),
        ("redis://:hunter2@redis.example/0", "redis://:***@redis.example/0"),
        ("rediss://redis.example/0?password=hunter2", "rediss://redis.example/0?password=***"),
        ("redis://h/0?db=2&Password=hunter2&socket_timeout=3", "redis://h/0?db=2&Password=***&socket_timeout=3"),
        ("redis://h/0?sentinel_password=hunter2&username=app", "redis://h/0?sentinel_password=***&username=app"),
        ("redis://h/0?pass%77ord=hunter2", "redis://h/0?pass%77ord=***"),
        ("unix:///var/lib/wagw/redis.sock?password=hunter2&db=0", "unix:///var/lib/wagw/redis.sock?password=***&db=0"),
        ("redis://u:p%40ss@[::1]:6379/0?token=hunter2", "redis://u:***@[::1]:6379/0?token=***"),
        ("redis://app@redis.example/0", "redis://app@redis.example/0"),  # a user name alone is no secret
        ("unix:///var/lib/wagw/redis/redis.sock", "unix:///var/lib/wagw/redis/redis.sock"),
        ("redis://[::1:6379/0?password=hunter2", "***"),  # unsplittable: nothing of it
        ("redis://app:hunter2\t@h/0", "***"),  # urllib drops the tab: nothing of it
        ("unix:/run/redis.sock?password=hunter2", "unix:/run/redis.sock?password=***"),
    ],
)
def test_credentials_are_masked_and_the_rest_kept(url, shown):
    assert mask_url(url) == shown
