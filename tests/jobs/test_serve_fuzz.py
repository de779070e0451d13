"""schemathesis fuzzes every operation of the API from its OpenAPI schema: no 5xx, ever.

Each operation gets 200 generated requests (valid and invalid parameters, random uploads),
sent through the ASGI app; any 5xx fails the test with the request that caused it.
"""

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from schemathesis import GenerationMode
from schemathesis.checks import not_a_server_error

from medialake.jobs.serve import create_app
from serve_db import hand_built

pytestmark = pytest.mark.slow
EXAMPLES = 200


@pytest.fixture(scope="module")
def lake(tmp_path_factory):
    return hand_built(tmp_path_factory.mktemp("fuzz"))


@pytest.fixture(scope="module")
def api_schema(lake):
    return schemathesis.openapi.from_asgi("/openapi.json", create_app(lake.db))


OPERATIONS = ["GET /api/search", "POST /api/search", "GET /api/assets/{asset_id}",
              "GET /api/assets/{asset_id}/thumbnail/{segment}", "GET /api/assets/{asset_id}/media",
              "GET /api/library"]


def test_the_schema_lists_every_operation(api_schema):
    found = {f"{op.ok().method.upper()} {op.ok().path}" for op in api_schema.get_all_operations()}
    assert found == set(OPERATIONS)


@pytest.mark.parametrize("operation", OPERATIONS)
def test_no_operation_answers_5xx(lake, api_schema, operation):
    method, path = operation.split(" ", 1)
    op = api_schema[path][method]
    strategies = [op.as_strategy(), op.as_strategy(GenerationMode.NEGATIVE)]
    if "{asset_id}" in path:  # also real assets (and the ones that must never be served)
        ids = sorted(lake.ids.values()) + sorted(lake.forbidden.values())
        strategies.append(st.sampled_from(ids).flatmap(lambda aid: op.as_strategy(path_parameters={"asset_id": aid})))
    statuses = []

    @given(case=st.one_of(strategies))
    @settings(max_examples=EXAMPLES, deadline=None, database=None, derandomize=True,
              suppress_health_check=list(HealthCheck))
    def fuzz(case):
        response = case.call_and_validate(checks=[not_a_server_error])
        statuses.append(response.status_code)
        assert response.status_code < 500, (case.as_curl_command(), response.status_code, response.text[:500])

    fuzz()
    assert len(statuses) >= EXAMPLES * 0.9  # hypothesis really ran (close to) EXAMPLES requests
    print(operation, "statuses:", {s: statuses.count(s) for s in sorted(set(statuses))})
