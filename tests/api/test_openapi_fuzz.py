"""Schemathesis drives every operation of the OpenAPI with generated requests: no 5xx.

The same run as ``bench/api_fuzz.py`` with a handful of examples per
operation, against a real ``navet serve`` process.
"""

from __future__ import annotations

import shutil

import pytest

from bench.api_fuzz import run


@pytest.mark.slow
def test_generated_requests_to_every_operation_cause_no_server_error() -> None:
    if shutil.which("schemathesis") is None:
        pytest.skip("pip install schemathesis (in the test extras)")
    result = run(examples=5, timeout=600)
    assert result["operations_tested"] and result["operations_tested"] >= 30, \
        result["output_tail"]
    assert result["exit_code"] == 0 and result["unique_failures"] == 0, result["output_tail"]
