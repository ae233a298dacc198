"""Cluster ids for formatting KRaft storage never look like a command-line option."""

from __future__ import annotations

import base64

from pipelines.kafka.broker import _new_cluster_id


def test_cluster_ids_never_start_with_dash():
    ids = [_new_cluster_id() for _ in range(2000)]
    assert not any(cluster_id.startswith("-") for cluster_id in ids)
    for cluster_id in ids[:50]:
        assert len(base64.urlsafe_b64decode(cluster_id + "==")) == 16
