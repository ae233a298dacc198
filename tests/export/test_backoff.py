"""Backoff between retries: exponential ceiling, capped, with full jitter below it."""

from __future__ import annotations

import random

from detections.export.config import RetryPolicy
from detections.export.engine import Pacing


def test_backoff_stays_under_exponential_cap():
    policy = RetryPolicy(max_attempts=10, initial_backoff_seconds=0.5, max_backoff_seconds=4.0)
    pacing = Pacing(sleep=lambda _: None, rng=random.Random(3))

    for retry_number, ceiling in [(1, 0.5), (2, 1.0), (3, 2.0), (4, 4.0), (5, 4.0), (9, 4.0)]:
        delays = [pacing.backoff(policy, retry_number) for _ in range(200)]
        assert min(delays) >= 0
        assert max(delays) <= ceiling
        # Full jitter spreads the delays over the range instead of one fixed value.
        assert max(delays) > ceiling * 0.8
        assert min(delays) < ceiling * 0.2
